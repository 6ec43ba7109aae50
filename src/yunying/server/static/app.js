// yunying dashboard: forms from analysis specs, charts from results, saved analyses and dashboards.
// No framework and no network beyond this server: the page data comes in #yy-data.
(() => {
  "use strict";
  const D = JSON.parse(document.getElementById("yy-data").textContent);
  const T = D.t || {};
  const t = (key) => (Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key);
  const $ = (sel, root = document) => root.querySelector(sel);
  const LOCALE = D.lang === "en" ? "en-US" : D.lang === "zh-Hant" ? "zh-TW" : "zh-CN";

  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  function setState(state) { document.body.dataset.state = state; }

  async function api(path, body, method) {
    const res = await fetch(path, {
      method: method || (body === undefined ? "GET" : "POST"),
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data;
    try { data = await res.json(); } catch (e) { data = { ok: false, error: res.statusText, status: res.status }; }
    if (!res.ok) {
      const err = new Error(data.error || res.statusText);
      err.data = data;
      throw err;
    }
    return data;
  }

  function showError(err) {
    const box = $("#error");
    if (!box) return;
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    const english = err.data && err.data.error_en;  // the server says errors in the page's language; explain reads English
    const readable = YS && YS.explain(english || err.message || String(err));  // filter / rule parser errors, translated
    if (readable) { box.textContent = ""; box.append(readable); return; }
    box.textContent = `${t("error")}: ${err.message || err}`;
  }

  // ---------------------------------------------------------------- formatting
  function fmtNumber(v, digits = 4) {
    return v.toLocaleString(LOCALE, { maximumFractionDigits: Math.abs(v) >= 1000 ? 2 : digits });
  }
  function fmtCell(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return fmtNumber(v);
    if (typeof v === "boolean") return v ? "✓" : "✗";
    if (Array.isArray(v) && v.every((x) => x === null || typeof x === "number")) {
      return v.map((x) => (x === null ? "–" : fmtNumber(x))).join(", ");
    }
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  // ---------------------------------------------------------------- forms from JSON schema
  function resolve(schema, root) {
    if (schema && schema.$ref) return (root.$defs || {})[schema.$ref.split("/").pop()] || {};
    return schema || {};
  }
  function unwrap(prop, root) {
    const p = resolve(prop, root);
    if (!p.anyOf) return p;
    const options = p.anyOf.filter((s) => s.type !== "null").map((s) => resolve(s, root));
    const nullable = options.length < p.anyOf.length;
    if (options.length === 1) return { ...options[0], nullable, default: p.default, title: p.title };
    if (options.every((o) => o.type === "string" && !o.enum)) {  // e.g. a date or a date-time: free text
      return { type: "string", nullable, default: p.default, title: p.title, description: p.description };
    }
    return { ...p, nullable, complex: true };
  }
  function widgetOf(p, root) {
    if (p.complex) return "json";
    if (p.type === "array" && p.items && resolve(p.items, root).properties && !p.nested) return objectItems({ ...p, nested: true }, root) ? "objects" : "json";
    if (p.enum) return "select";
    if (p.type === "boolean") return "checkbox";
    if (p.type === "integer" || p.type === "number") return "number";
    if (p.type === "string" && p.format === "date") return "date";
    if (p.type === "string") return "text";
    if (p.type === "array" && !p.prefixItems && resolve(p.items, root).type === "string") return "list";
    // small structures as plain text, never JSON: numbers "0.4, 0.4", ranges "0-1, 2-7", a mapping "baidu=search"
    const isNum = (s) => ["number", "integer"].includes(resolve(s, root).type);
    if (p.type === "array" && (p.prefixItems ? p.prefixItems.every(isNum) : isNum(p.items))) return "numbers";
    const item = p.type === "array" ? resolve(p.items, root) : {};
    if (item.type === "array" && (item.prefixItems || []).length === 2 && item.prefixItems.every(isNum)) return "ranges";
    if (p.type === "object" && !p.properties && resolve(p.additionalProperties, root).type === "string") return "mapping";
    return "json";
  }
  const PLAIN = {  // parse / show of the plain-text widgets (a wrong entry names the field and what it expects)
    numbers: [(text) => text.split(/[,，;；\s]+/).filter(Boolean).map((x) => { const n = Number(x); if (!Number.isFinite(n)) throw x; return n; }),
      (v) => v.join(", "), "1, 1"],
    ranges: [(text) => text.split(/[,，;；]+/).map((x) => x.trim()).filter(Boolean).map((x) => {
      const m = /^(\d+)(?:\s*[-–~～至]\s*(\d+))?$/.exec(x); if (!m) throw x; return [Number(m[1]), Number(m[2] ?? m[1])]; }),
    (v) => v.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(", "), "1, 2-7, 8-30"],
    mapping: [(text) => Object.fromEntries(text.split(/[,，;；\n]+/).map((x) => x.trim()).filter(Boolean).map((x) => {
      const m = /^([^=]+?)\s*=\s*(.+)$/.exec(x); if (!m) throw x; return [m[1], m[2]]; })),
    (v) => Object.entries(v).map(([k, x]) => `${k}=${x}`).join(", "), "baidu=search, toutiao=feed"],
  };
  function suggestions(name) {
    if (name === "metric") return "dl-metrics";
    if (/event|step/i.test(name)) return "dl-events";
    if (/^(by|property|value|column|unit|covariate|variant|experiment_property)$/.test(name)) return "dl-props";
    return null;
  }

  function textInput(name, type, listId) {
    return h("input", { type, name, list: listId });
  }
  // yunying's own event names are shown by their label ($any reads "any event"), never as code.
  const ANY = "$any";
  const shownEvent = (v) => (v === ANY ? t("any_event") : typeof v === "string" && v.startsWith("$") && T[`value.${v}`] ? T[`value.${v}`] : v);
  // A named metric: a built-in one reads by its label (活跃用户, not active_users); the workspace's own by its name.
  const METRIC = "explain_metric_";
  const shownMetric = (v) => (typeof v === "string" && T[METRIC + v] ? T[METRIC + v] : v);
  const metricOf = (v) => {
    const own = Object.keys(T).find((k) => k.startsWith(METRIC) && T[k] === v);
    return own ? own.slice(METRIC.length) : v;
  };
  const eventOf = (v) => {
    if (v === t("any_event")) return ANY;
    const own = Object.keys(T).find((k) => k.startsWith("value.$") && T[k] === v);
    return own ? own.slice(6) : v;
  };
  function objectItems(p, root) {  // an array of flat objects (e.g. experiment metrics): a row of fields each
    if (p.type !== "array") return null;
    const item = resolve(p.items, root);
    if (!item.properties) return null;
    // the simple fields become a row of inputs; a nested structure (rare) is kept as it came
    const simple = Object.entries(item.properties).filter(([, s]) => !["json", "objects"].includes(widgetOf(unwrap(s, root), root)));
    return simple.length ? { ...item, properties: Object.fromEntries(simple) } : null;
  }

  // A field's words: its list's own label (metrics.kind), else field.NAME (a field whose plain word names
  // something else: "experiment" is the page, field.experiment the experiment's name), else NAME.
  function fieldLabel(name, p) {
    const key = [p.labelKey, `field.${name}`].find((k) => k && Object.prototype.hasOwnProperty.call(T, k)) || name;
    return t(key) === key ? (p.title || name) : t(key);
  }
  function makeField(name, p, root, onChange) {
    const kind = widgetOf(p, root);
    const label = h("span", { text: fieldLabel(name, p) });
    const wrap = h("label", { class: `field ${kind}`, "data-field": name, title: p.description || "" });
    let get, set, input, extra;
    if (kind === "select") {
      input = h("select", { name });
      if (p.nullable) input.append(h("option", { value: "", text: "—" }));
      for (const v of p.enum) input.append(h("option", { value: String(v), text: t(String(v)) }));
      get = () => (input.value === "" ? undefined : p.enum.find((v) => String(v) === input.value));
      set = (v) => { input.value = v === null || v === undefined ? "" : String(v); };
    } else if (kind === "checkbox") {
      input = h("input", { type: "checkbox", name });
      get = () => input.checked;
      set = (v) => { input.checked = !!v; };
    } else if (kind === "number") {
      input = h("input", { type: "number", name, step: p.type === "integer" ? "1" : "any" });
      get = () => (input.value === "" ? undefined : Number(input.value));
      set = (v) => { input.value = v === null || v === undefined ? "" : String(v); };
    } else if (kind === "date" || kind === "text") {
      input = kind === "date" ? (YS ? YS.dateInput("") : textInput(name, "text")) : textInput(name, "text", suggestions(name));
      input.name = name;
      const [shown, own] = name === "metric" ? [shownMetric, metricOf] : [shownEvent, eventOf];
      get = () => (input.value.trim() === "" ? undefined : own(input.value.trim()));
      set = (v) => { input.value = v === null || v === undefined ? "" : shown(String(v)); };
    } else if (kind === "list") {
      input = h("div", { class: "list-editor", "data-name": name });
      const rows = h("div", { class: "rows" });
      // a funnel's steps carry their own filter rows (segments.js), in the spec's `step_filters`
      const steps = name === "steps" && YS && (root.properties || {}).step_filters ? YS.stepFilters(onChange) : null;
      const addRow = (value) => {
        const field = textInput(`${name}[]`, "text", suggestions(name));
        field.value = shownEvent((value && value.event) || value || "");  // a step may come as {event, filters}
        field.addEventListener("change", onChange);
        const row = h("div", { class: "row" }, h("span", { class: "n" }), field,
          h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×",
            onclick: () => { (row.closest(".step-block") || row).remove(); number(); onChange(); } }));
        rows.append(steps ? steps.wrap(row, rows, value) : row);
        number();
        return field;
      };
      const number = () => rows.querySelectorAll(".row .n").forEach((n, i) => { n.textContent = `${i + 1}`; });
      input.append(rows, h("button", { type: "button", class: "small secondary add", text: `+ ${t(name === "steps" ? "add_step" : "add_item")}`,
        onclick: () => addRow("").focus() }));
      get = () => {
        const values = [...rows.querySelectorAll(".row > input")].map((i) => eventOf(i.value.trim())).filter(Boolean);
        return values.length ? values : undefined;
      };
      set = (v) => { rows.innerHTML = ""; (Array.isArray(v) ? v : []).forEach((x) => addRow(x)); if (!rows.children.length) addRow(""); };
      extra = steps && steps.field;
    } else if (kind === "objects") {
      ({ input, get, set } = objectList(name, objectItems(p, root), root, onChange));
    } else if (PLAIN[kind]) {
      const [parse, show, example] = PLAIN[kind];
      input = h("input", { type: "text", name, "data-widget": kind,
        placeholder: Array.isArray(p.default) || (p.default && typeof p.default === "object") ? show(p.default) : example });
      get = () => {
        const text = input.value.trim();
        if (!text) return undefined;
        try { return parse(text); } catch (bad) { throw new Error(`${fieldLabel(name, p)}: ${t(`form.expected_${kind}`)}${t("sep.open")}${bad}${t("sep.close")}`); }
      };
      set = (v) => { input.value = v === null || v === undefined ? "" : show(v); };
    } else {
      input = h("textarea", { name, spellcheck: "false", placeholder: "JSON" });
      get = () => {
        const text = input.value.trim();
        if (!text) return undefined;
        try { return JSON.parse(text); } catch (e) { throw new Error(`${t(name)}: ${e.message}`); }
      };
      set = (v) => { input.value = v === null || v === undefined ? "" : JSON.stringify(v); };
    }
    if (kind === "checkbox") { wrap.classList.add("checkbox"); wrap.append(input, label); } else wrap.append(label, input);
    if (kind !== "list" && kind !== "objects") input.addEventListener("change", onChange);
    return { name, el: wrap, get, set, input, default: p.default, kind, extra };
  }

  function objectList(name, item, root, onChange) {
    // One row of fields per item (name, event, kind …): a form, never a JSON box.
    const input = h("div", { class: "object-list", "data-name": name });
    const rows = h("div", { class: "rows" });
    let lines = [];
    const addRow = (value) => {
      // the name first; a field whose word depends on the list (a metric's "kind" and "type") has its own label
      const fields = Object.entries(item.properties).sort(([a], [b]) => (b === "name") - (a === "name"))
        .map(([k, raw]) => makeField(k, { ...unwrap(raw, root), nested: true, labelKey: `${name}.${k}` }, root, onChange));
      const kept = Object.fromEntries(Object.entries(value || {}).filter(([k]) => !(k in item.properties)));
      const row = h("div", { class: "object-row" }, fields.map((f) => f.el),
        h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×",
          onclick: () => { row.remove(); lines = lines.filter((l) => l.row !== row); onChange(); } }));
      fields.forEach((f) => f.set(value && Object.prototype.hasOwnProperty.call(value, f.name) ? value[f.name] : f.default));
      rows.append(row);
      lines.push({ row, fields, kept });
    };
    input.append(rows, h("button", { type: "button", class: "small secondary add", text: `+ ${t("add_metric")}`,
      onclick: () => { addRow({}); } }));
    const get = () => {
      const out = lines.map(({ fields, kept }) => {
        const o = { ...kept };
        for (const f of fields) { const v = f.get(); if (v !== undefined && v !== f.default) o[f.name] = v; }
        return o;
      }).filter((o) => Object.keys(o).length);
      return out.length ? out : undefined;
    };
    const set = (v) => { rows.innerHTML = ""; lines = []; (Array.isArray(v) ? v : []).forEach((x) => addRow(x)); };
    return { input, get, set };
  }

  class SpecForm {
    constructor(el, schema, common, onChange) {
      this.el = el;
      this.fields = [];
      const required = this.required = new Set(schema.required || []);
      const show = new Set(common);
      const advanced = h("div");
      for (const [name, raw] of Object.entries(schema.properties || {})) {
        if (name === "lang") continue;  // the page's language decides (the server sets it)
        if (name === "filters" && YS) continue;  // the filter bar (segments.js) edits it
        const steps = this.field("steps");
        if (name === "step_filters" && steps && steps.extra) { this.fields.push(steps.extra); continue; }  // rows under each step
        const field = makeField(name, unwrap(raw, schema), schema, () => onChange(name));
        this.fields.push(field);
        (required.has(name) || show.has(name) ? el : advanced).append(field.el);
      }
      if (advanced.children.length) el.append(h("details", { class: "advanced" }, h("summary", { text: t("more_options") }), advanced));
    }
    field(name) { return this.fields.find((f) => f.name === name); }
    missing() {  // required fields left empty: the page waits for them instead of showing an error
      return this.fields.filter((f) => this.required.has(f.name) && f.get() === undefined).map((f) => f.el.querySelector("span").textContent);
    }
    get() {
      const spec = {};
      for (const f of this.fields) {
        const v = f.get();
        if (v !== undefined && !(f.kind === "checkbox" && v === f.default)) spec[f.name] = v;
      }
      return spec;
    }
    set(spec) {
      for (const f of this.fields) f.set(Object.prototype.hasOwnProperty.call(spec, f.name) ? spec[f.name] : f.default);
    }
  }

  // ---------------------------------------------------------------- results
  // A table for people (reports/columns.py made it: labels, kinds, formatted texts): column chooser,
  // horizontal scrolling, CSV and Excel export. Reused by every page: renderTable(el, table, name).
  // Numbers stay raw (0.358, 74700.8: a spreadsheet computes with them); yunying's own words and yes/no read as
  // the page shows them (更好, 是 — not "better", "true"), as in the Excel export (reports/xlsx.py).
  function csvText(columns, rows, texts) {
    const cell = (v) => {
      const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const value = (r, i, c) => {
      const shown = ((texts || [])[i] || {})[c.key];
      const v = r[c.key];
      return shown !== undefined && (c.kind === "text" || typeof v === "boolean" || (v && typeof v === "object")) ? shown : v;
    };
    return [columns.map((c) => cell(c.label)).join(","),
      ...rows.map((r, i) => columns.map((c) => cell(value(r, i, c))).join(","))].join("\r\n") + "\r\n";
  }
  function download(blob, filename) {
    const a = h("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60000);
  }
  function renderTable(el, table, name) {
    el.innerHTML = "";
    const rows = (table && table.rows) || [];
    if (!rows.length) { el.append(h("p", { class: "notice", text: t("no_data") })); return; }
    const columns = table.columns;
    const base = `${name || D.page || "table"}-${new Date().toISOString().slice(0, 10)}`;
    const shownCols = () => columns.filter((c) => !c.hidden);
    const chooser = h("details", { class: "chooser" }, h("summary", { text: t("columns") }),
      h("div", {}, columns.map((c) => h("label", {}, h("input", { type: "checkbox", value: c.key, checked: !c.hidden,
        onchange: (e) => { c.hidden = !e.target.checked; wrap.querySelectorAll(`[data-col="${CSS.escape(c.key)}"]`).forEach((x) => x.classList.toggle("col-hidden", c.hidden)); } }), ` ${c.label}`))));
    const csv = h("button", { type: "button", class: "small secondary export-csv", text: t("export_csv"),
      onclick: () => download(new Blob(["\ufeff" + csvText(shownCols(), rows, table.texts)], { type: "text/csv;charset=utf-8" }), `${base}.csv`) });
    const xlsx = h("button", { type: "button", class: "small secondary export-xlsx", text: t("export_xlsx"),
      onclick: async () => {
        const res = await fetch("/api/export.xlsx", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: base, title: document.title.split(" · ")[0], columns: shownCols(), rows, texts: table.texts || null, tones: table.tones || null, kinds: table.kinds || null }) });
        if (!res.ok) { showError(new Error(res.statusText)); return; }
        download(await res.blob(), `${base}.xlsx`);
      } });
    const shown = rows.slice(0, 500);
    const texts = table.texts || [];
    const tones = table.tones || [];  // good/bad per change cell, by whether up is good for that metric
    const num = (c) => !["data", "text", "date"].includes(c.kind);
    const wrap = h("div", { class: "table-scroll" }, h("table", { class: "numbers" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { "data-col": c.key, "data-kind": c.kind, class: `${num(c) ? "num" : ""} ${c.hidden ? "col-hidden" : ""}`, text: c.label })))),
      h("tbody", {}, shown.map((r, i) => h("tr", {}, columns.map((c) => h("td", {
        class: `${num(c) ? "num" : ""} ${c.hidden ? "col-hidden" : ""} ${(tones[i] || {})[c.key] || ""}`, "data-col": c.key,
        "data-value": r[c.key] === undefined ? "" : JSON.stringify(r[c.key]),
        text: (texts[i] || {})[c.key] ?? fmtCell(r[c.key]) })))))));
    el.append(h("div", { class: "table-tools" }, chooser, csv, xlsx), wrap);
    if (rows.length > shown.length) el.append(h("p", { class: "caption", text: `${shown.length} ${t("of")} ${rows.length} ${t("rows_shown")}` }));
  }
  function renderNotes(notes) {
    const box = $("#notes");
    if (!box) return;
    box.innerHTML = "";
    box.hidden = !(notes && notes.length);
    for (const n of notes || []) box.append(h("p", { class: "note", text: n }));
  }
  // A figure without a single point (an empty Sankey makes Plotly throw) is not drawn: the page says "no data".
  const filled = (v) => (Array.isArray(v) ? v.length > 0 : !!(v && typeof v === "object" && v.bdata));
  const hasPoints = (figure) => (figure.data || []).some((tr) => (tr.type === "sankey" ? filled((tr.link || {}).value)
    : ["x", "y", "z", "values"].some((k) => filled(tr[k]))));
  function renderChart(el, figure, height) {
    if (!window.Plotly) { el.textContent = "Plotly did not load"; return; }
    if (!figure || figure.error) { el.textContent = figure ? figure.error : t("no_data"); return; }
    if (!hasPoints(figure)) { if (el.data) window.Plotly.purge(el); el.textContent = t("no_data"); return; }
    // words above the plot (subplot titles, "incomplete period"): room for them under the chart's title
    const above = ((figure.layout || {}).annotations || []).some((a) => a.yref === "paper" && a.y >= 1);
    const layout = { ...(figure.layout || {}), autosize: true, height: height || 420, margin: { t: above ? 80 : 48, r: 16, b: 48, l: 56 } };
    window.Plotly.react(el, figure.data || [], layout, { responsive: true, displaylogo: false });
  }
  const SECTIONS = [["acquisition", "acquisition"], ["activation", "activation"], ["retention", "retention_section"], ["revenue", "revenue_section"]];
  function renderKpis(el, view) {
    const rows = view.kpis || [];
    el.hidden = !rows.length;
    el.innerHTML = "";
    if (!rows.length) return;
    if (view.week) el.append(h("div", { class: "kpi-head", text: `${t("week_of")} ${view.week} – ${view.week_end || ""} · ${t("vs_previous")} ${view.previous_week || ""}` }));
    for (const [section, labelKey] of SECTIONS) {
      const items = rows.filter((r) => (r.section || "") === section);
      if (!items.length) continue;
      el.append(h("div", { class: "kpi-section", "data-section": section }, h("h3", { text: t(labelKey) }),
        h("div", { class: "kpi-grid" }, items.map((r) => {
          const arrow = r.direction === "up" ? "▲" : r.direction === "down" ? "▼" : "";
          const change = r.change.replace(/^[▲▼=]\s*/, "");
          // the colour says good or bad for this metric (lower cost per registration is good), the arrow the direction
          return h("div", { class: "kpi", "data-key": r.key, "data-current": r.current === null ? "" : String(r.current) },
            h("div", { class: "kpi-label", text: r.label }),
            h("div", { class: "kpi-value", text: r.value }),
            h("div", { class: `kpi-change ${r.tone}`, "data-tone": r.tone, text: `${arrow} ${change} ${t("vs_previous")}${t("sep.open")}${r.previous}${t("sep.close")}`.trim() }));
        }))));
    }
  }

  // ---------------------------------------------------------------- analysis pages
  async function loadSuggestions() {
    try {
      const data = await api("/api/schema");
      document.body.append(
        h("datalist", { id: "dl-events" }, data.events.map((e) => h("option", { value: e.event }))),
        h("datalist", { id: "dl-props" }, data.properties.map((p) => h("option", { value: p }))),
        h("datalist", { id: "dl-metrics" }, Object.keys(T).filter((k) => k.startsWith(METRIC)).map((k) => h("option", { value: T[k] }))));
    } catch (e) { /* suggestions are a convenience */ }
  }

  function analysisPage() {
    if (!D.available) return;
    let runs = 0;
    let timer = null;
    let current = null;
    let stashed = "";  // the event typed before "any event" was ticked: unticking brings it back
    const form = new SpecForm($("#params"), D.schema, D.common || [], (name) => {
      // Trends: an event and "any event" exclude each other, and neither choice loses what was typed.
      const active = form.field("active"), event = form.field("event");
      if (active && event && name === "active") {
        if (active.get()) { stashed = event.get() || stashed; event.set(""); } else if (!event.get() && stashed) event.set(stashed);
      }
      if (active && event && name === "event" && event.get()) active.set(false);
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    // ---- issue 11: the filter bar (segments.js), wired into the spec's `filters`
    const bar = YS && D.schema.properties && D.schema.properties.filters ? YS.filterBar(() => { clearTimeout(timer); timer = setTimeout(run, 250); }) : null;
    if (bar) $("#params").after(bar.el);
    const eventField = form.field("event");
    if (eventField && form.field("active")) {  // typing an event unticks "any event" at once, before any click
      eventField.input.addEventListener("input", () => { if (eventField.get()) { form.field("active").set(false); stashed = ""; } });
    }
    async function run(opening) {
      let spec;
      try {
        spec = form.get();
        const filters = bar && bar.get();
        if (filters) spec.filters = filters;
      } catch (e) { showError(e); setState("error"); return; }
      const missing = form.missing();
      if (missing.length) {  // an empty page opens empty, with what to fill in, never with an error
        showError(null);
        renderNotes([`${t("fill_required")} ${missing.join(", ")}`]);
        $("#numbers").innerHTML = "";
        runs += 1;
        document.body.dataset.runs = String(runs);
        setState("done");
        return;
      }
      setState("loading");
      showError(null);
      if (form.field("step_filters") && form.field("step_filters").locate) form.field("step_filters").locate("");
      try {
        const data = await api(`/api/view/${D.kind}?lang=${encodeURIComponent(D.lang)}`, spec);
        const view = data.view;
        current = spec;
        renderChart($("#chart"), view.figure);
        renderTable($("#numbers"), view.table, D.kind);
        renderNotes(view.notes);
        if ($("#kpis")) renderKpis($("#kpis"), view);
        if (D.kind === "customer_value") await renderCustomers(view, spec);
        if (D.kind === "content") await renderContent(spec);
        history.replaceState(null, "", `${location.pathname}${location.search}#spec=${encodeURIComponent(JSON.stringify(spec))}`);
        runs += 1;
        document.body.dataset.runs = String(runs);
        setState("done");
      } catch (e) {
        runs += 1;
        document.body.dataset.runs = String(runs);
        const status = (e.data && e.data.status) || 0;
        const filterError = YS && YS.explain((e.data && e.data.error_en) || e.message || "");
        if (opening === true && status >= 400 && status < 500 && ![401, 403].includes(status) && !filterError) {
          // An opening page whose data lack something (an empty workspace, no purchase or content events yet)
          // opens empty and says why in a note; an error in red answers what the reader asked for.
          showError(null);
          renderNotes([`${t("opened_empty")}${e.message}`]);
          if ($("#chart").data) window.Plotly.purge($("#chart"));
          $("#chart").textContent = t("no_data");
          $("#numbers").innerHTML = "";
          setState("done");
          return;
        }
        showError(e);
        const steps = form.field("step_filters");  // a step's row with an unknown property: which step, which row
        const at = steps && steps.locate && steps.locate((e.data && e.data.error_en) || e.message);
        if (at) $("#error").prepend(h("p", { class: "step-flt-where", text: at }));
        setState("error");
      }
    }
    $("#run").addEventListener("click", run);
    $("#save").addEventListener("click", async () => {
      const name = $("#save-name").value.trim() || `${document.title.split(" · ")[0]} ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
      try {
        const saved = await api("/api/saved/analyses", { name, kind: D.kind, spec: current || form.get() });
        $("#save-status").textContent = `${t("saved_ok")}: ${saved.analysis.name}`;
        $("#save-status").dataset.id = saved.analysis.id;
      } catch (e) { showError(e); }
    });
    const params = new URLSearchParams(location.search);
    const fromHash = location.hash.startsWith("#spec=") ? location.hash.slice(6) : null;
    (async () => {
      let spec = D.preset || {};
      if (params.get("saved")) {
        try { spec = (await api(`/api/saved/analyses/${encodeURIComponent(params.get("saved"))}`)).analysis.spec; } catch (e) { showError(e); }
      } else if (fromHash) {
        try { spec = JSON.parse(decodeURIComponent(fromHash)); } catch (e) { /* a hand-edited address */ }
      }
      form.set(spec);
      if (bar) bar.set(spec.filters);
      await run(true);
    })();
  }

  // ---------------------------------------------------------------- customer value: fit, tiers, win-back list
  async function renderCustomers(view, spec) {
    renderTable($("#fit"), view.extra.fit, "model-fit");
    renderTable($("#tiers"), view.extra.tiers, "churn-risk");
    const wb = (await api(`/api/view/winback?lang=${encodeURIComponent(D.lang)}`, { ...spec, top: 100 })).view;
    renderTable($("#winback"), wb.table, "winback");  // its Export CSV / Excel buttons, as every table
  }

  // ---------------------------------------------------------------- content: flags with evidence, publishing time
  async function renderContent(spec) {
    const shared = {};
    for (const k of ["date_from", "date_to", "baseline", "level", "window_hours"]) if (spec[k] !== undefined && spec[k] !== null) shared[k] = spec[k];
    const timing = Object.fromEntries(Object.entries(shared).filter(([k]) => k !== "baseline"));
    const q = `?lang=${encodeURIComponent(D.lang)}`;
    const [fl, tm] = await Promise.all([api(`/api/view/content_flags${q}`, shared), api(`/api/view/content_timing${q}`, timing)]);
    renderTable($("#flags"), fl.view.table, "content-flags");
    renderTable($("#timing"), tm.view.table, "content-timing");
  }

  // ---------------------------------------------------------------- saved analyses and dashboards
  function pageOf(kind) { return (D.pages || {})[kind] || `/analysis/${kind}`; }

  async function savedPage() {
    const list = $("#saved-analyses");
    const dashboards = $("#dashboards");
    const checks = $("#dashboard-items");
    async function refresh() {
      const [a, d] = await Promise.all([api("/api/saved/analyses"), api("/api/saved/dashboards")]);
      list.innerHTML = "";
      checks.innerHTML = "";
      if (!a.analyses.length) list.append(h("li", { class: "notice", text: t("nothing_saved") }));
      for (const item of a.analyses) {
        list.append(h("li", { "data-id": item.id },
          h("a", { href: `${pageOf(item.kind)}?saved=${item.id}`, text: item.name }), ` · ${t(item.kind)} `,
          h("button", { type: "button", class: "small secondary", text: t("delete"),
            onclick: async () => { await api(`/api/saved/analyses/${item.id}`, undefined, "DELETE"); refresh(); } })));
        checks.append(h("label", {}, h("input", { type: "checkbox", value: item.id }), ` ${item.name}`));
      }
      dashboards.innerHTML = "";
      for (const item of d.dashboards) {
        dashboards.append(h("li", { "data-id": item.id }, h("a", { href: `/dashboards/${item.id}`, text: item.name }),
          ` (${item.items.length}) `,
          h("button", { type: "button", class: "small secondary", text: t("delete"),
            onclick: async () => { await api(`/api/saved/dashboards/${item.id}`, undefined, "DELETE"); refresh(); } })));
      }
      setState("done");
    }
    $("#create-dashboard").addEventListener("click", async () => {
      const items = [...checks.querySelectorAll("input:checked")].map((c) => c.value);
      const name = $("#dashboard-name").value.trim() || t("dashboard");
      try { await api("/api/saved/dashboards", { name, items }); $("#dashboard-name").value = ""; showError(null); refresh(); } catch (e) { showError(e); }
    });
    try { await refresh(); } catch (e) { showError(e); setState("error"); }
  }

  async function dashboardPage() {
    try {
      const dash = (await api(`/api/saved/dashboards/${encodeURIComponent(D.dashboard)}`)).dashboard;
      $("#dashboard-title").textContent = dash.name;
      document.title = `${dash.name} · yunying`;
      const grid = $("#dashboard-grid");
      await Promise.all(dash.items.map(async (id) => {
        const card = h("section", { class: "panel", "data-id": id });
        grid.append(card);
        try {
          const item = (await api(`/api/saved/analyses/${id}`)).analysis;
          card.append(h("h2", {}, h("a", { href: `${pageOf(item.kind)}?saved=${item.id}`, text: item.name })));
          const chart = h("div", { class: "chart" });
          card.append(chart);
          const data = await api(`/api/chart/${item.kind}`, item.spec);
          renderChart(chart, data.figure, 320);
        } catch (e) { card.append(h("p", { class: "error", text: e.message })); }
      }));
      setState("done");
    } catch (e) { showError(e); setState("error"); }
  }

  // ---------------------------------------------------------------- campaigns (server/campaigns_page.py)
  function campaignsPage() {  // tables and charts travel as data: the CSP allows no inline script
    document.querySelectorAll(".yy-table[data-table]").forEach((el, i) => {
      const section = el.closest("section[id]");
      renderTable(el, JSON.parse(el.dataset.table), `campaigns-${section ? section.id : "table"}-${i + 1}`);
    });
    const charts = document.querySelectorAll(".yy-fig[data-figure]");
    for (const el of charts) {
      const fig = JSON.parse(el.dataset.figure);
      if (window.Plotly) window.Plotly.newPlot(el, fig.data || [], { ...(fig.layout || {}), autosize: true }, { responsive: true, displaylogo: false });
    }
    document.body.dataset.charts = String(charts.length);
    setState("done");
  }

  // ---------------------------------------------------------------- users side (issue 11): static/segments.js
  const fmtCount = (n) => (typeof n === "number" ? n.toLocaleString(LOCALE) : "–");
  const YS = window.YYSegments ? window.YYSegments({ h, api, t, $, D, showError, renderChart, download, setState, fmtCount }) : null;

  // ---------------------------------------------------------------- start
  const lang = document.getElementById("lang");
  if (lang) lang.addEventListener("change", () => {
    const params = new URLSearchParams(location.search);
    params.set("lang", lang.value);
    location.href = `${location.pathname}?${params}${location.hash}`;
  });
  if (D.page === "saved") savedPage();
  else if (D.page === "dashboard") dashboardPage();
  else if (D.page === "campaigns") campaignsPage();
  else if (D.page === "segments" && YS) YS.segmentsPage();
  else if (D.schema) { loadSuggestions(); analysisPage(); }
})();
