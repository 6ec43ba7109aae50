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
      return v.map((x) => (x === null ? "–" : x.toLocaleString(LOCALE, { maximumSignificantDigits: 3 }))).join(", ");
    }
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function fmtKind(v, kind, currency) {
    if (v === null || v === undefined) return "–";
    if (kind === "count") return Math.round(v).toLocaleString(LOCALE);
    if (kind === "money") return `${v.toLocaleString(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency || ""}`.trim();
    if (kind === "rate") return `${(v * 100).toLocaleString(LOCALE, { maximumFractionDigits: 1 })}%`;
    return v.toLocaleString(LOCALE, { maximumFractionDigits: 1 });
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
    if (p.enum) return "select";
    if (p.type === "boolean") return "checkbox";
    if (p.type === "integer" || p.type === "number") return "number";
    if (p.type === "string" && p.format === "date") return "date";
    if (p.type === "string") return "text";
    if (p.type === "array" && !p.prefixItems && resolve(p.items, root).type === "string") return "list";
    return "json";
  }
  function suggestions(name) {
    if (/event|step/i.test(name)) return "dl-events";
    if (/^(by|property|value|column|unit|covariate|variant|experiment_property)$/.test(name)) return "dl-props";
    return null;
  }

  function textInput(name, type, listId) {
    return h("input", { type, name, list: listId });
  }

  function makeField(name, p, root, onChange) {
    const kind = widgetOf(p, root);
    const label = h("span", { text: t(name) === name ? (p.title || name) : t(name) });
    const wrap = h("label", { class: `field ${kind}`, "data-field": name, title: p.description || "" });
    let get, set, input;
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
      input = textInput(name, kind === "date" ? "date" : "text", suggestions(name));
      get = () => (input.value.trim() === "" ? undefined : input.value.trim());
      set = (v) => { input.value = v === null || v === undefined ? "" : String(v); };
    } else if (kind === "list") {
      input = h("div", { class: "list-editor", "data-name": name });
      const rows = h("div", { class: "rows" });
      const addRow = (value) => {
        const field = textInput(`${name}[]`, "text", suggestions(name));
        field.value = value || "";
        field.addEventListener("change", onChange);
        const row = h("div", { class: "row" }, h("span", { class: "n" }), field,
          h("button", { type: "button", class: "small secondary", title: t("remove"), text: "×",
            onclick: () => { row.remove(); number(); onChange(); } }));
        rows.append(row);
        number();
        return field;
      };
      const number = () => rows.querySelectorAll(".row .n").forEach((n, i) => { n.textContent = `${i + 1}`; });
      input.append(rows, h("button", { type: "button", class: "small secondary add", text: `+ ${t(name === "steps" ? "add_step" : "add_item")}`,
        onclick: () => addRow("").focus() }));
      get = () => {
        const values = [...rows.querySelectorAll("input")].map((i) => i.value.trim()).filter(Boolean);
        return values.length ? values : undefined;
      };
      set = (v) => { rows.innerHTML = ""; (Array.isArray(v) ? v : []).forEach((x) => addRow(x)); if (!rows.children.length) addRow(""); };
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
    if (kind !== "list") input.addEventListener("change", onChange);
    return { name, el: wrap, get, set, input, default: p.default, kind };
  }

  class SpecForm {
    constructor(el, schema, common, onChange) {
      this.el = el;
      this.fields = [];
      const required = new Set(schema.required || []);
      const show = new Set(common);
      const advanced = h("div");
      for (const [name, raw] of Object.entries(schema.properties || {})) {
        const field = makeField(name, unwrap(raw, schema), schema, () => onChange(name));
        this.fields.push(field);
        (required.has(name) || show.has(name) ? el : advanced).append(field.el);
      }
      if (advanced.children.length) el.append(h("details", { class: "advanced" }, h("summary", { text: t("more_options") }), advanced));
    }
    field(name) { return this.fields.find((f) => f.name === name); }
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
  function isRowList(v) {
    return Array.isArray(v) && v.length > 0 && v[0] !== null && typeof v[0] === "object" && !Array.isArray(v[0]);
  }
  function rowsOf(result, key) {
    if (key && Array.isArray(result[key])) return result[key];
    for (const [k, v] of Object.entries(result)) if (k !== "spec" && isRowList(v)) return v;
    return [];
  }
  function flatten(rows) {
    // Nested objects become "a.b" columns; one nested list of rows (e.g. variants) becomes one row each.
    const out = [];
    for (const row of rows) {
      const base = {};
      let nested = null;
      for (const [k, v] of Object.entries(row)) {
        if (isRowList(v)) { if (!nested) nested = v; continue; }
        if (v && typeof v === "object" && !Array.isArray(v)) {
          for (const [k2, v2] of Object.entries(v)) base[`${k}.${k2}`] = v2;
        } else base[k] = v;
      }
      if (nested) for (const n of nested) out.push({ ...base, ...n });
      else out.push(base);
    }
    return out;
  }
  function renderTable(el, rows) {
    el.innerHTML = "";
    if (!rows.length) { el.append(h("p", { class: "notice", text: t("no_data") })); return; }
    const flat = flatten(rows);
    const columns = [];
    for (const r of flat) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    const shown = flat.slice(0, 500);
    const table = h("table", { class: "numbers" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { "data-col": c, text: t(c) === c ? c : t(c) })))),
      h("tbody", {}, shown.map((r) => h("tr", {}, columns.map((c) => h("td", {
        class: typeof r[c] === "number" ? "num" : "", "data-col": c, "data-value": r[c] === undefined ? "" : JSON.stringify(r[c]),
        text: fmtCell(r[c]) }))))));
    el.append(table);
    if (flat.length > shown.length) el.append(h("p", { class: "caption", text: `${shown.length} ${t("of")} ${flat.length} ${t("rows_shown")}` }));
  }
  function renderChart(el, figure, height) {
    if (!window.Plotly) { el.textContent = "Plotly did not load"; return; }
    if (!figure || figure.error) { el.textContent = figure ? figure.error : t("no_data"); return; }
    const layout = { ...(figure.layout || {}), autosize: true, height: height || 420, margin: { t: 48, r: 16, b: 48, l: 56 } };
    window.Plotly.react(el, figure.data || [], layout, { responsive: true, displaylogo: false });
  }
  const SECTIONS = [["acquisition", "acquisition"], ["activation", "activation"], ["retention", "retention_section"], ["revenue", "revenue_section"]];
  function renderKpis(el, result) {
    const rows = (result.metrics || []).filter((r) => r && "current" in r);
    el.hidden = !rows.length;
    el.innerHTML = "";
    if (!rows.length) return;
    if (result.week) el.append(h("div", { class: "kpi-head", text: `${t("week_of")} ${result.week} – ${result.week_end || ""} · ${t("vs_previous")} ${result.previous_week || ""}` }));
    const sections = SECTIONS.map(([s]) => s).concat([...new Set(rows.map((r) => r.section))].filter((s) => !SECTIONS.some(([x]) => x === s)));
    for (const section of sections) {
      const items = rows.filter((r) => (r.section || "") === section);
      if (!items.length) continue;
      const labelKey = (SECTIONS.find(([s]) => s === section) || [section, section])[1];
      el.append(h("div", { class: "kpi-section", "data-section": section }, h("h3", { text: t(labelKey) }),
        h("div", { class: "kpi-grid" }, items.map((r) => {
          const label = T[r.key] || (D.lang !== "en" && r.label_zh) || r.label || r.key;
          const change = r.change;
          const dir = change === null || change === undefined ? "" : change > 0 ? "up" : change < 0 ? "down" : "";
          const arrow = dir === "up" ? "▲" : dir === "down" ? "▼" : "";
          const changeText = change === null || change === undefined ? "–" : `${arrow} ${(Math.abs(change) * 100).toLocaleString(LOCALE, { maximumFractionDigits: 1 })}%`;
          return h("div", { class: "kpi", "data-key": r.key, "data-current": r.current === null ? "" : String(r.current) },
            h("div", { class: "kpi-label", text: label }),
            h("div", { class: "kpi-value", text: fmtKind(r.current, r.kind, result.currency) }),
            h("div", { class: `kpi-change ${dir}`, text: `${changeText} ${t("vs_previous")} (${fmtKind(r.previous, r.kind, result.currency)})` }));
        }))));
    }
  }

  // ---------------------------------------------------------------- analysis pages
  async function loadSuggestions() {
    try {
      const data = await api("/api/schema");
      document.body.append(
        h("datalist", { id: "dl-events" }, data.events.map((e) => h("option", { value: e.event }))),
        h("datalist", { id: "dl-props" }, data.properties.map((p) => h("option", { value: p }))));
    } catch (e) { /* suggestions are a convenience */ }
  }

  function analysisPage() {
    if (!D.available) return;
    let runs = 0;
    let timer = null;
    let current = null;
    const form = new SpecForm($("#params"), D.schema, D.common || [], (name) => {
      // Trends: an event and "any event" exclude each other.
      if (name === "event" && form.field("active") && form.field("event").get()) form.field("active").set(false);
      if (name === "active" && form.field("active").get() && form.field("event")) form.field("event").set("");
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    async function run() {
      let spec;
      try { spec = form.get(); } catch (e) { showError(e); setState("error"); return; }
      setState("loading");
      showError(null);
      try {
        const data = await api(`/api/chart/${D.kind}`, spec);
        current = spec;
        renderChart($("#chart"), data.figure);
        renderTable($("#numbers"), rowsOf(data.result, data.rows_key));
        if ($("#kpis")) renderKpis($("#kpis"), data.result);
        if (D.kind === "customer_value") await renderCustomers(data.result, spec);
        if (D.kind === "content") await renderContent(spec);
        history.replaceState(null, "", `${location.pathname}${location.search}#spec=${encodeURIComponent(JSON.stringify(spec))}`);
        runs += 1;
        document.body.dataset.runs = String(runs);
        setState("done");
      } catch (e) {
        showError(e);
        setState("error");
        runs += 1;
        document.body.dataset.runs = String(runs);
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
      await run();
    })();
  }

  // ---------------------------------------------------------------- customer value: fit, tiers, win-back list
  function csvOf(rows) {
    const cols = rows.length ? Object.keys(rows[0]) : [];
    const cell = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
    return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
  }
  async function renderCustomers(result, spec) {
    const fit = [];
    for (const m of [result.model, result.spend]) {
      if (!m) continue;
      for (const [k, v] of Object.entries(m)) {
        if (v && typeof v === "object" && "value" in v) fit.push({ model: m.name, parameter: k, value: v.value, se: v.se });
      }
    }
    renderTable($("#fit"), fit);
    const counts = {};
    for (const u of result.users || []) counts[u.churn_risk] = (counts[u.churn_risk] || 0) + 1;
    renderTable($("#tiers"), ["high", "medium", "low"].filter((k) => k in counts).map((k) => ({ churn_risk: k, customers: counts[k] })));
    const wb = await api("/api/query/winback", { ...spec, top: 100 });
    renderTable($("#winback"), wb.users || []);
    const link = $("#winback-csv");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob(["\ufeff" + csvOf(wb.users || [])], { type: "text/csv;charset=utf-8" }));
  }

  // ---------------------------------------------------------------- content: flags with evidence, publishing time
  function contentHeaders(el) {
    for (const th of el.querySelectorAll("th")) {
      const key = `content.${th.dataset.col === "title" ? "title_col" : th.dataset.col}`;
      if (t(key) !== key) th.textContent = t(key);
    }
    for (const td of el.querySelectorAll('td[data-col="flag"]')) td.textContent = t(`content.${td.textContent}`);
  }
  async function renderContent(spec) {
    contentHeaders($("#numbers"));
    const shared = {};
    for (const k of ["date_from", "date_to", "baseline", "level", "window_hours"]) if (spec[k] !== undefined && spec[k] !== null) shared[k] = spec[k];
    const [fl, tm] = await Promise.all([api("/api/query/content_flags", shared),
      api("/api/query/content_timing", Object.fromEntries(Object.entries(shared).filter(([k]) => k !== "baseline")))]);
    const rows = (fl.flags || []).map((f) => ({ flag: f.flag, content_id: f.content_id, title: f.title, baseline_group: f.baseline_group,
      reads: f.reads, metric: f.metric, rate: f.rate, shrunk_rate: f.shrunk_rate, interval_lo: f.interval[0], interval_hi: f.interval[1], baseline: f.baseline }));
    renderTable($("#flags"), rows);
    contentHeaders($("#flags"));
    const link = $("#flags-csv");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob(["\ufeff" + csvOf(rows)], { type: "text/csv;charset=utf-8" }));
    renderTable($("#timing"), tm.rows || []);
    contentHeaders($("#timing"));
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

  // ---------------------------------------------------------------- start
  const lang = document.getElementById("lang");
  if (lang) lang.addEventListener("change", () => {
    const params = new URLSearchParams(location.search);
    params.set("lang", lang.value);
    location.href = `${location.pathname}?${params}${location.hash}`;
  });
  if (D.page === "saved") savedPage();
  else if (D.page === "dashboard") dashboardPage();
  else if (D.schema) { loadSuggestions(); analysisPage(); }
})();
