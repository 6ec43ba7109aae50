// yunying dashboard, users side (issue 11): the filter bar of every analysis page whose spec has `filters`,
// readable filter / rule errors, and the segment builder page (/segments). app.js hands in its helpers:
// window.YYSegments({h, api, t, $, showError, renderChart, download, D}).
window.YYSegments = (Y) => {
  "use strict";
  const { h, api, t, $ } = Y;
  const OPS = ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "matches", "is set", "is not set"];
  const OP_KEYS = { "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", in: "in", "not in": "not_in",
    contains: "contains", matches: "matches", "is set": "is_set", "is not set": "is_not_set" };
  const KEYWORDS = new Set(["and", "or", "not", "in", "contains", "matches", "is", "set", "true", "false"]);
  const opLabel = (op) => t(`seg.op.${OP_KEYS[op]}`);
  let schema = null;  // /api/schema: events, event properties, user properties, segments

  async function loadSchema() {
    if (!schema) {
      try { schema = await api("/api/schema"); } catch (e) { schema = { events: [], properties: [], user_properties: [], segments: [] }; }
      const list = (id, values) => h("datalist", { id }, values.map((v) => h("option", { value: v })));
      if (!document.getElementById("dl-user-props")) {
        document.body.append(list("dl-user-props", schema.user_properties || []),
          list("dl-event-props", schema.properties || []), list("dl-seg-events", (schema.events || []).map((e) => e.event)));
      }
    }
    return schema;
  }

  // ------------------------------------------------------------ the filter language in JSON and as text
  function literal(text) {  // what a value box holds, as the filter language reads it
    const s = text.trim();
    if (/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) return { type: "number", value: Number(s) };
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return { type: "date", value: s };
    const rel = /^-(\d{1,5})([dw])$/.exec(s);
    if (rel) return { type: "relative_date", value: -Number(rel[1]) * (rel[2] === "w" ? 7 : 1) };
    if (/^(true|false)$/i.test(s)) return { type: "bool", value: s.toLowerCase() === "true" };
    const q = /^(['"])([\s\S]*)\1$/.exec(s);
    return { type: "string", value: q ? q[2] : s };
  }
  function condition(scope, name, op, text) {  // null while the row is incomplete
    if (!name || !OPS.includes(op)) return null;
    const out = { field: { scope, name }, op };
    if (op === "is set" || op === "is not set") return out;
    if (op === "in" || op === "not in") {
      const items = text.split(",").map((x) => x.trim()).filter(Boolean);
      if (!items.length) return null;
      out.value = items.map(literal);
    } else if (op === "contains" || op === "matches") {
      if (text === "") return null;
      out.value = { type: "string", value: text };
    } else {
      if (text.trim() === "") return null;
      out.value = literal(text);
    }
    return out;
  }
  const quote = (s) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}'`;
  const fieldText = (f) => (f.scope === "segment" ? "segment"
    : `${f.scope}.${/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(f.name) && !KEYWORDS.has(f.name.toLowerCase()) ? f.name : quote(f.name)}`);
  function valueText(v) {
    if (v.type === "string") return quote(v.value);
    if (v.type === "bool") return v.value ? "true" : "false";
    if (v.type === "relative_date") return `-${-v.value}d`;
    return String(v.value);
  }
  function valueBox(v) {  // a value as typed in a row's box (strings that would read as numbers keep quotes)
    if (v.type !== "string") return valueText(v);
    return literal(v.value).type === "string" && !/^['"]/.test(v.value) ? v.value : quote(v.value);
  }
  function filterText(n) {
    if (n.and) return n.and.map((x) => (x.and || x.or ? `(${filterText(x)})` : filterText(x))).join(" and ");
    if (n.or) return n.or.map((x) => (x.or ? `(${filterText(x)})` : filterText(x))).join(" or ");
    if (n.not) return `not ${n.not.and || n.not.or ? `(${filterText(n.not)})` : filterText(n.not)}`;
    const f = fieldText(n.field);
    if (n.value === undefined || n.value === null) return `${f} ${n.op}`;
    if (Array.isArray(n.value)) return `${f} ${n.op} (${n.value.map(valueText).join(", ")})`;
    return `${f} ${n.op} ${valueText(n.value)}`;
  }

  // ------------------------------------------------------------ one condition row: property, operator, value
  function conditionRow(scopes, onChange, onRemove) {
    const scope = h("select", { class: "flt-scope", "aria-label": t("seg.scope") },
      scopes.map((s) => h("option", { value: s, text: t(`seg.scope.${s}`) })));
    const name = h("input", { type: "text", class: "flt-prop", placeholder: t("seg.property"), "aria-label": t("seg.property") });
    const op = h("select", { class: "flt-op", "aria-label": t("seg.operator") }, OPS.map((o) => h("option", { value: o, text: opLabel(o) })));
    const value = h("input", { type: "text", class: "flt-value", placeholder: t("seg.value"), "aria-label": t("seg.value") });
    const list = () => { name.setAttribute("list", scope.value === "user" ? "dl-user-props" : "dl-event-props"); };
    const sync = () => { value.hidden = op.value === "is set" || op.value === "is not set"; value.placeholder = op.value.endsWith("in") ? t("seg.values_hint") : t("seg.value"); };
    scope.hidden = scopes.length < 2;
    const row = h("div", { class: "flt-row" }, scope, name, op, value,
      h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×", onclick: () => { row.remove(); onRemove(row); onChange(); } }));
    for (const el of [scope, op]) el.addEventListener("change", () => { list(); sync(); onChange(); });
    for (const el of [name, value]) el.addEventListener("change", onChange);
    list(); sync();
    return {
      el: row,
      get: () => condition(scope.value, name.value.trim(), op.value, value.value),
      set: (c) => {
        scope.value = c.field.scope; name.value = c.field.name; op.value = c.op;
        value.value = c.value === undefined || c.value === null ? "" : Array.isArray(c.value) ? c.value.map(valueBox).join(", ") : c.op === "contains" || c.op === "matches" ? c.value.value : valueBox(c.value);
        list(); sync();
      },
    };
  }
  const simpleCondition = (n, scopes) => n && n.field && scopes.includes(n.field.scope) && !n.and && !n.or && !n.not;
  const segmentCondition = (n) => n && n.field && n.field.scope === "segment" && n.op === "=" && n.value && n.value.type === "string";

  // ------------------------------------------------------------ the filter bar of an analysis page
  function filterBar(onChange) {
    let rows = [];
    const box = h("div", { class: "flt-rows" });
    const add = () => { const r = conditionRow(["event", "user"], onChange, (el) => { rows = rows.filter((x) => x.el !== el); }); rows.push(r); box.append(r.el); return r; };
    const segment = h("select", { id: "flt-segment", "aria-label": t("seg.segment") }, h("option", { value: "", text: t("seg.all_users") }));
    const raw = h("textarea", { id: "flt-raw", spellcheck: "false", rows: "2", placeholder: "event.city = '上海' and user.$first_channel in ('kol', 'search')" });
    segment.addEventListener("change", onChange);
    raw.addEventListener("change", onChange);
    const el = h("div", { id: "filter-bar", class: "filter-bar" },
      h("h3", { text: t("filters") }), box,
      h("div", { class: "flt-tools" },
        h("button", { type: "button", class: "small secondary", id: "flt-add", text: `+ ${t("seg.add_condition")}`, onclick: () => add().el.querySelector(".flt-prop").focus() }),
        h("label", { class: "flt-seg" }, h("span", { text: t("seg.segment") }), segment)),
      h("details", { class: "flt-expert" }, h("summary", { text: t("seg.expert") }), raw,
        h("p", { class: "caption", text: t("seg.expert_hint") })));
    loadSchema().then((s) => { for (const name of s.segments || []) segment.append(h("option", { value: name, text: name })); if (segment.dataset.want) segment.value = segment.dataset.want; });
    return {
      el,
      get() {
        const out = rows.map((r) => r.get()).filter(Boolean);
        if (segment.value) out.push({ field: { scope: "segment" }, op: "=", value: { type: "string", value: segment.value } });
        if (raw.value.trim()) out.push(raw.value.trim());
        return out.length ? out : undefined;
      },
      set(filters) {
        rows.forEach((r) => r.el.remove()); rows = [];
        const texts = [];
        segment.value = ""; segment.dataset.want = "";
        for (const f of filters || []) {
          if (typeof f === "string") texts.push(f);
          else if (simpleCondition(f, ["event", "user"])) add().set(f);
          else if (segmentCondition(f) && !segment.dataset.want) { segment.dataset.want = f.value.value; segment.value = f.value.value; }
          else texts.push(filterText(f));
        }
        raw.value = texts.length > 1 ? texts.map((x) => `(${x})`).join(" and ") : texts.join("");
        if (texts.length) el.querySelector(".flt-expert").open = true;
      },
    };
  }

  // ------------------------------------------------------------ a funnel step's own filters (issue 13: forms, not JSON)
  // Condition rows under one step: the step's list of JSON trees, as the filter language writes them (the same
  // trees the spec's `step_filters` holds). A filter the rows cannot show (or / not, a text) is kept as it came,
  // in its place, shown as its text with a × to remove it.
  function stepFilter(onChange) {
    let items = [];  // {el, get}: condition rows and kept filters, in order
    const box = h("div", { class: "step-flt-rows" });
    const drop = (el) => { items = items.filter((x) => x.el !== el); };
    const addRow = () => {
      const r = conditionRow(["event", "user"], onChange, drop);
      const parts = () => [r.el.querySelector(".flt-prop").value.trim(), r.el.querySelector(".flt-value").value.trim()];
      const item = { el: r.el, get: () => r.get(), set: r.set, blank: () => parts().every((x) => !x),
        need: () => (parts()[0] ? "forms.need_value" : "forms.need_property") };
      items.push(item); box.append(r.el);
      return item;
    };
    const addKept = (f) => {
      const el = h("div", { class: "step-flt-kept" }, h("code", { text: typeof f === "string" ? f : filterText(f) }),
        h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×", onclick: () => { el.remove(); drop(el); onChange(); } }));
      items.push({ el, get: () => f }); box.append(el);
    };
    const el = h("div", { class: "step-filter" }, box,
      h("button", { type: "button", class: "small secondary step-flt-add", text: `+ ${t("forms.add_step_filter")}`,
        onclick: () => addRow().el.querySelector(".flt-prop").focus() }));
    return {
      el,
      // the step's filters; a row begun but not finished is an error naming it (`where(n)`: "step 2, condition 1")
      get(where) {
        const out = [];
        items.forEach((item, i) => {
          const v = item.get();
          if (v) out.push(v);
          else if (!item.blank()) throw new Error(`${where(i + 1)}${t("forms.colon")}${t(item.need())}`);
        });
        return out;
      },
      set(filters) {
        items.forEach((x) => x.el.remove()); items = [];
        for (const f of filters || []) {
          if (f && typeof f === "object" && simpleCondition(f, ["event", "user"])) addRow().set(f);
          else addKept(f);
        }
      },
    };
  }
  // The funnel's `step_filters` field, kept in the steps list: `wrap(row)` puts a step's filter box under its row
  // (a removed step takes its filters along); `field` reads and fills them, one list per step.
  function stepFilters(onChange) {
    const of = new WeakMap();
    let rows = null;
    const blocks = () => [...rows.children].filter((b) => of.has(b));
    const stepN = (n) => t("forms.step_n").replace("{n}", n);
    const where = (s) => (c) => `${stepN(s)}${t("forms.comma")}${t("forms.condition_n").replace("{n}", c)}`;
    const field = {
      name: "step_filters", kind: "stepfilters", default: [],
      get() {
        const out = [];
        blocks().forEach((b, i) => {
          const list = of.get(b).get(where(i + 1));
          if (b.querySelector(".row > input").value.trim()) out.push(list);
          else if (list.length) throw new Error(`${stepN(i + 1)}${t("forms.colon")}${t("forms.need_step")}`);
        });
        return out.some((l) => l.length) ? out : undefined;
      },
      set(v) {  // after the steps' own set (which drew the blocks anew, each with the filters its step came with)
        if (Array.isArray(v) && v.length) blocks().forEach((b, i) => of.get(b).set(v[i] || []));
      },
      // "step 2, condition 1" for a server error on a property of a step's row (the unknown column names it)
      locate(message) {
        const m = /(event|user)\.(\S+|'[^']*') is not a column/.exec(message || "") || [];
        const name = (m[2] || "").replace(/^'(.*)'$/, "$1");
        const hits = [];
        blocks().forEach((b, i) => [...b.querySelectorAll(".step-flt-rows > *")].forEach((row, j) => {
          const hit = row.matches(".flt-row") && row.querySelector(".flt-scope").value === m[1] && row.querySelector(".flt-prop").value.trim() === name;
          row.classList.toggle("invalid", hit);
          if (hit) hits.push(where(i + 1)(j + 1));
        }));
        return hits.length ? hits.join("; ") : null;
      },
    };
    return {
      field,
      wrap(row, container, value) {
        rows = container;
        const f = stepFilter(onChange);
        if (value && typeof value === "object" && value.filters) f.set([value.filters].flat());
        const block = h("div", { class: "step-block" }, row, f.el);
        of.set(block, f);
        return block;
      },
    };
  }

  // ------------------------------------------------------------ errors of the filter parser, in the page's language
  function explain(message) {
    const syntax = /at column (\d+)\n {2}(.*)\n {2}( *)\^/.exec(message || "");
    const unknown = /(event|user)\.(\S+|'[^']*') is not a column/.exec(message || "");
    const mean = /did you mean (.+?)\?/.exec(message || "");
    if (!syntax && !unknown) return null;
    const out = h("div", { class: "flt-error" });
    if (syntax) {
      out.append(h("p", { text: t(/^(invalid \w+: )?\w*:? *(Value error, )?rule/.test(message) ? "seg.rule_error_at" : "seg.filter_error_at").replace("{column}", syntax[1]) }),
        // the caret under the column, behind an invisible copy of the text before it (wide CJK characters align)
        h("pre", { class: "flt-caret" }, syntax[2], "\n", h("span", { class: "flt-pad", text: syntax[2].slice(0, syntax[3].length) }), "^"));
    } else {
      out.append(h("p", { text: t(`seg.unknown_${unknown[1]}_property`).replace("{name}", `${unknown[1]}.${unknown[2]}`) }));
      if (mean) out.append(h("p", { text: t("seg.did_you_mean").replace("{names}", mean[1]) }));
    }
    out.append(h("details", {}, h("summary", { text: t("seg.details") }), h("pre", { text: message })));
    return out;
  }

  // ------------------------------------------------------------ the segment builder: rows of rules, and/or/not groups
  const BEHAVIOURS = ["did", "did not", "first did"];
  const COUNTS = [[">=", "at_least"], ["<=", "at_most"], ["=", "exactly"]];
  function ruleRow(kind, onChange, remove) {
    const not = h("input", { type: "checkbox", class: "rule-not" });
    const notLabel = h("label", { class: "rule-neg" }, not, ` ${t("seg.not")}`);
    const parts = [];
    let get;
    let set;
    if (kind === "property") {
      const c = conditionRow(["user"], onChange, () => {});
      c.el.querySelector("button").remove();
      parts.push(c.el);
      get = () => c.get();
      set = (n) => c.set(n);
    } else if (kind === "segment") {
      const sel = h("select", { class: "rule-segment", "aria-label": t("seg.segment") });
      loadSchema().then((s) => { for (const name of s.segments || []) sel.append(h("option", { value: name, text: name })); if (sel.dataset.want) sel.value = sel.dataset.want; });
      sel.addEventListener("change", onChange);
      parts.push(h("span", { class: "rule-word", text: t("seg.in_segment") }), sel);
      get = () => (sel.value ? { in_segment: sel.value } : null);
      set = (n) => { sel.dataset.want = n.in_segment; sel.value = n.in_segment; };
    } else {
      const verb = h("select", { class: "rule-verb" }, BEHAVIOURS.map((b) => h("option", { value: b, text: t(`seg.${b.replace(" ", "_")}`) })));
      const event = h("input", { type: "text", class: "rule-event", list: "dl-seg-events", placeholder: t("event"), "aria-label": t("event") });
      const where = conditionRow(["event"], onChange, () => {});
      where.el.querySelector("button").remove();
      where.el.classList.add("rule-where");
      const count = h("select", { class: "rule-count" }, h("option", { value: "", text: t("seg.any_times") }), COUNTS.map(([op, key]) => h("option", { value: op, text: t(`seg.${key}`) })));
      const n = h("input", { type: "number", class: "rule-n", min: "0", step: "1", value: "1", "aria-label": t("seg.times") });
      const window = h("select", { class: "rule-window" }, ["ever", "last", "between"].map((w) => h("option", { value: w, text: t(`seg.window.${w}`) })));
      const days = h("input", { type: "number", class: "rule-days", min: "1", step: "1", value: "30", "aria-label": t("seg.days") });
      const lo = dateInput("rule-from"); const hi = dateInput("rule-to");
      const sync = () => {
        count.hidden = n.hidden = verb.value !== "did";
        n.hidden = n.hidden || !count.value;
        days.hidden = window.value !== "last";
        lo.hidden = hi.hidden = window.value !== "between";
      };
      for (const el of [verb, event, count, n, window, days, lo, hi]) el.addEventListener("change", () => { sync(); onChange(); });
      parts.push(verb, event, h("span", { class: "rule-word", text: t("seg.where") }), where.el, count, n, window, days, lo, hi);
      sync();
      get = () => {
        if (!event.value.trim()) return null;
        const b = { kind: verb.value, event: event.value.trim() };
        const w = where.get();
        if (w) b.where = w;
        if (verb.value === "did" && count.value && n.value !== "") b.count = { op: count.value, n: Number(n.value) };
        if (window.value === "last" && days.value) b.window = { last: Number(days.value) };
        if (window.value === "between" && lo.value && hi.value) b.window = { between: [lo.value.trim(), hi.value.trim()] };
        return { behaviour: b };
      };
      set = (node) => {
        const b = node.behaviour;
        verb.value = b.kind; event.value = b.event;
        if (b.where) where.set(b.where);
        count.value = b.count ? b.count.op : ""; n.value = b.count ? String(b.count.n) : "1";
        window.value = b.window ? (b.window.last ? "last" : "between") : "ever";
        if (b.window && b.window.last) days.value = String(b.window.last);
        if (b.window && b.window.between) [lo.value, hi.value] = b.window.between;
        sync();
      };
    }
    not.addEventListener("change", onChange);
    const el = h("div", { class: `rule-row rule-${kind}`, "data-kind": kind }, notLabel, ...parts,
      h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×", onclick: () => { remove(); onChange(); } }));
    return {
      el,
      get: () => { const v = get(); return v && not.checked ? { not: v } : v; },
      set: (node) => { not.checked = !!node.not; set(node.not || node); },
    };
  }
  function dateInput(cls) {
    return h("input", { type: "text", class: `date ${cls}`, placeholder: t("date_placeholder"), pattern: "\\d{4}-\\d{2}-\\d{2}", inputmode: "numeric", maxlength: "10", "aria-label": t("seg.date") });
  }
  function ruleKind(node) {
    const inner = node.not || node;
    if (inner.behaviour) return "behaviour";
    if (inner.in_segment) return "segment";
    if (simpleCondition(inner, ["user"])) return "property";
    return null;
  }
  function ruleGroup(onChange, remove, depth = 0) {
    let items = [];
    const join = h("select", { class: "rule-join", "aria-label": t("seg.join") }, ["and", "or"].map((j) => h("option", { value: j, text: t(`seg.join.${j}`) })));
    const not = h("input", { type: "checkbox", class: "group-not" });
    const box = h("div", { class: "rule-items" });
    join.addEventListener("change", onChange);
    not.addEventListener("change", onChange);
    const add = (kind) => {
      let item = null;
      const kill = () => { item.el.remove(); items = items.filter((x) => x !== item); };
      item = kind === "group" ? ruleGroup(onChange, kill, depth + 1) : ruleRow(kind, onChange, kill);
      items.push(item); box.append(item.el);
      return item;
    };
    const tools = h("div", { class: "rule-tools" }, ["behaviour", "property", "segment", ...(depth < 2 ? ["group"] : [])].map((k) =>
      h("button", { type: "button", class: `small secondary add-${k}`, text: `+ ${t(`seg.add_${k}`)}`, onclick: () => { add(k); onChange(); } })));
    const el = h("div", { class: "rule-group", "data-depth": String(depth) },
      h("div", { class: "rule-head" }, h("label", { class: "rule-neg" }, not, ` ${t("seg.not")}`), h("span", { text: t("seg.match") }), join,
        remove ? h("button", { type: "button", class: "small secondary group-remove", title: t("remove"), text: "×", onclick: () => { remove(); onChange(); } }) : null), box, tools);
    return {
      el, add,
      get() {
        const parts = items.map((i) => i.get()).filter(Boolean);
        if (!parts.length) return null;
        const node = parts.length === 1 ? parts[0] : { [join.value]: parts };
        return not.checked ? { not: node } : node;
      },
      set(node) {  // false when the tree does not fit the form (the rule text box shows it then)
        items.forEach((i) => i.el.remove()); items = [];
        not.checked = false;
        let n = node;
        if (n.not && (n.not.and || n.not.or)) { not.checked = true; n = n.not; }
        const list = n.and || n.or || [n];
        join.value = n.or ? "or" : "and";
        for (const x of list) {
          const kind = ruleKind(x) || ((x.and || x.or) && depth < 2 ? "group" : null);
          if (!kind) return false;
          if (add(kind).set(x) === false) return false;
        }
        return true;
      },
    };
  }

  // ------------------------------------------------------------ the size over time of the picked segment, its export
  function sizePanel() {
    const asOf = $("#seg-as-of");
    async function sizes() {
      const name = $("#seg-pick").value;
      const chart = $("#seg-chart");
      if (!name) { chart.textContent = ""; document.body.dataset.chart = "none"; return; }
      const q = new URLSearchParams({ over: $("#seg-over").value });
      if (asOf.value.trim()) q.set("to", asOf.value.trim());
      try {
        const got = await api(`/api/segment-size/${encodeURIComponent(name)}?${q}`);
        const x = got.sizes.map((r) => r.as_of), y = got.sizes.map((r) => r.users);
        Y.renderChart(chart, { data: [{ type: "scatter", mode: "lines+markers", x, y, name: t("seg.members"), hovertemplate: "%{x}: %{y:,}<extra></extra>" }],
          layout: { title: { text: `${name} · ${t("seg.size_over_time")}` }, xaxis: { title: { text: t("seg.period_end") }, type: "date", tickformat: "%Y-%m-%d" }, yaxis: { title: { text: t("seg.members") }, rangemode: "tozero" }, showlegend: false } }, 320);
        chart.dataset.sizes = JSON.stringify(got.sizes);
        document.body.dataset.chart = name;
      } catch (e) { Y.showError(e); }
    }
    async function exportFile(format) {
      const name = $("#seg-pick").value;
      if (!name) return;
      const q = new URLSearchParams({ format, properties: $("#seg-props").value, lang: Y.D.lang });
      if (asOf.value.trim()) q.set("as_of", asOf.value.trim());
      const res = await fetch(`/api/segment-export/${encodeURIComponent(name)}?${q}`, { credentials: "same-origin" });
      if (!res.ok) { const d = await res.json().catch(() => ({})); Y.showError(Object.assign(new Error(d.error || res.statusText), { data: d })); return; }
      Y.showError(null);
      Y.download(await res.blob(), `${name}.${format}`);
    }
    $("#seg-pick").addEventListener("change", sizes);
    $("#seg-over").addEventListener("change", sizes);
    $("#seg-export-csv").addEventListener("click", () => exportFile("csv"));
    $("#seg-export-xlsx").addEventListener("click", () => exportFile("xlsx"));
    return sizes;
  }

  // ------------------------------------------------------------ the /segments page
  async function segmentsPage() {
    await loadSchema();
    const status = $("#seg-status");
    const asOf = $("#seg-as-of");
    const ruleText = $("#seg-rule");
    let timer = null;
    let seq = 0;
    const group = ruleGroup(() => { ruleText.dataset.typed = ""; changed(); }, null);
    $("#seg-builder").append(group.el);
    ruleText.addEventListener("input", () => { ruleText.dataset.typed = ruleText.value.trim() ? "1" : ""; changed(); });
    asOf.addEventListener("change", changed);
    const rule = () => (ruleText.dataset.typed ? ruleText.value.trim() : group.get());
    function changed() { clearTimeout(timer); timer = setTimeout(preview, 400); }
    async function preview() {
      const r = rule();
      const mine = ++seq;
      Y.showError(null);
      if (!r) { $("#seg-size").textContent = "–"; document.body.dataset.size = ""; return; }
      document.body.dataset.sizing = "1";
      try {
        const got = await api("/api/segments/preview", { rule: r, ...(asOf.value.trim() ? { as_of: asOf.value.trim() } : {}) });
        if (mine !== seq) return;
        $("#seg-size").textContent = Y.fmtCount(got.users);
        document.body.dataset.size = String(got.users);
        if (!ruleText.dataset.typed) ruleText.value = got.rule;
      } catch (e) { if (mine === seq) { Y.showError(e); document.body.dataset.size = "error"; } }
      if (mine === seq) document.body.dataset.sizing = "";
    }
    async function refresh() {
      const data = await api("/api/segments");
      const el = $("#seg-list");
      el.innerHTML = "";
      const pick = $("#seg-pick");
      const was = pick.value;
      pick.innerHTML = "";
      if (!data.segments.length) el.append(h("p", { class: "notice", text: t("seg.none_yet") }));
      else {
        el.append(h("table", { class: "numbers seg-table" },
          h("thead", {}, h("tr", {}, ["name", "kind", "seg.rule", "seg.members", ""].map((k) => h("th", { text: k ? t(k) : "" })))),
          h("tbody", {}, data.segments.map((s) => h("tr", { "data-name": s.name },
            h("td", { text: s.name }), h("td", { text: t(`seg.kind.${s.kind}`) }), h("td", { class: "seg-rule-cell", text: s.rule || t("seg.id_list") }),
            h("td", { class: "num", "data-col": "members", text: Y.fmtCount(s.members) }),
            h("td", {}, h("button", { type: "button", class: "small secondary seg-edit", text: t("seg.edit"), hidden: s.kind !== "dynamic", onclick: () => edit(s.name) }), " ",
              h("button", { type: "button", class: "small secondary seg-delete", text: t("delete"), onclick: () => remove(s.name) })))))));
      }
      for (const s of data.segments) pick.append(h("option", { value: s.name, text: s.name }));
      if (data.segments.some((s) => s.name === was)) pick.value = was;
      await sizes();
    }
    async function edit(name) {
      try {
        const seg = (await api(`/api/segments/${encodeURIComponent(name)}`)).segment;
        $("#seg-name").value = seg.name;
        $("#seg-description").value = seg.description || "";
        const fits = group.set(seg.tree);
        ruleText.value = seg.rule;
        ruleText.dataset.typed = fits ? "" : "1";
        if (!fits) { group.set({ and: [] }); $("#seg-expert").open = true; }
        changed();
      } catch (e) { Y.showError(e); }
    }
    async function remove(name) {
      try { await api(`/api/segments/${encodeURIComponent(name)}`, undefined, "DELETE"); Y.showError(null); await refresh(); } catch (e) { Y.showError(e); }
    }
    const sizes = sizePanel();
    $("#seg-save").addEventListener("click", async () => {
      const name = $("#seg-name").value.trim();
      const r = rule();
      if (!name || !r) { Y.showError(new Error(t(name ? "seg.need_rule" : "seg.need_name"))); return; }
      const exists = [...document.querySelectorAll("#seg-list tr[data-name]")].some((tr) => tr.dataset.name === name);
      try {
        const body = { name, rule: r, description: $("#seg-description").value.trim() || null, replace: exists };
        const saved = (await api("/api/segments", body)).segment;
        status.textContent = `${t("saved_ok")}: ${saved.name}`;
        Y.showError(null);
        schema = null;
        $("#seg-pick").value = saved.name;
        await refresh();
        $("#seg-pick").value = saved.name;
        await sizes();
      } catch (e) { Y.showError(e); }
    });
    $("#seg-new").addEventListener("click", () => { group.set({ and: [] }); group.add("behaviour"); ruleText.value = ""; ruleText.dataset.typed = ""; $("#seg-name").value = ""; changed(); });
    group.add("behaviour");
    try { await refresh(); Y.setState("done"); } catch (e) { Y.showError(e); Y.setState("error"); }
  }

  return { filterBar, stepFilters, explain, segmentsPage, dateInput, loadSchema };
};
