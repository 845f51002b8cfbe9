// The page of `overmind serve`: a live list of traces, a trace as a
// waterfall and a tree, and a span's details (inputs, outputs, LLM chats,
// tokens, errors). Plain JavaScript, no build step, no network but this
// server.
"use strict";

const ROW = 26;          // px, the waterfall's row height (see --row)
const PAGE = 50;         // traces per list page
const $ = (id) => document.getElementById(id);

const state = {
  traces: [], cursor: "", seen: new Set(),
  traceId: "", trace: null, rows: [], byId: new Map(), kids: new Map(), collapsed: new Set(),
  t0: 0, t1: 1, spanId: "",
};

// ---------- helpers ----------

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function fmtDur(ns) {
  if (ns == null || isNaN(ns)) return "";
  const us = ns / 1e3, ms = ns / 1e6, s = ns / 1e9;
  if (ms < 1) return Math.round(us) + "µs";
  if (s < 1) return ms.toFixed(ms < 10 ? 2 : 1) + "ms";
  if (s < 60) return s.toFixed(2) + "s";
  const m = Math.floor(s / 60);
  return m + "m" + Math.round(s - m * 60) + "s";
}

function fmtAgo(ns) {
  const d = (Date.now() - ns / 1e6) / 1000;
  if (d < 5) return "just now";
  if (d < 60) return Math.floor(d) + "s ago";
  if (d < 3600) return Math.floor(d / 60) + "m ago";
  if (d < 86400) return Math.floor(d / 3600) + "h ago";
  return new Date(ns / 1e6).toLocaleString();
}

function fmtNum(n) { return Number(n || 0).toLocaleString(); }

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

// typeOf is a span's own type: overmind.span.type, else the API's operation.
function typeOf(s) { return (s.attributes && s.attributes["overmind.span.type"]) || s.operation || s.span_type || ""; }
function typeClass(t) { return ["llm_call", "tool_call", "workflow", "entry_point", "function"].includes(t) ? "t-" + t : "t-other"; }

function statusOf(s) {
  const st = s.attributes && s.attributes["overmind.status"];
  if (st) return st;
  return s.status_code === 2 ? "error" : s.status_code === 1 ? "ok" : "unset";
}
function failed(s) { const st = statusOf(s); return st === "failed" || st === "error"; }

// parseJSON returns the value a JSON string attribute holds, or undefined.
function parseJSON(v) {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!t || !"[{\"".includes(t[0])) return undefined;
  try { return JSON.parse(t); } catch { return undefined; }
}

// jsonHTML pretty-prints a value as highlighted JSON.
function jsonHTML(v, indent = "") {
  const next = indent + "  ";
  if (v === null || v === undefined) return '<span class="j-z">null</span>';
  if (typeof v === "string") return '<span class="j-s">' + esc(JSON.stringify(v)) + "</span>";
  if (typeof v === "number") return '<span class="j-n">' + v + "</span>";
  if (typeof v === "boolean") return '<span class="j-b">' + v + "</span>";
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return "[\n" + v.map((x) => next + jsonHTML(x, next)).join(",\n") + "\n" + indent + "]";
  }
  const keys = Object.keys(v);
  if (!keys.length) return "{}";
  return "{\n" + keys.map((k) => next + '<span class="j-k">' + esc(JSON.stringify(k)) + "</span>: " + jsonHTML(v[k], next)).join(",\n") + "\n" + indent + "}";
}

// valueHTML shows an attribute: JSON strings pretty-printed, text as is.
function valueHTML(v) {
  const parsed = parseJSON(v);
  if (parsed !== undefined && typeof parsed === "object") return '<pre class="json">' + jsonHTML(parsed) + "</pre>";
  if (typeof v === "string") return '<pre class="json">' + esc(v) + "</pre>";
  return '<pre class="json">' + jsonHTML(v) + "</pre>";
}

// ---------- trace list ----------

function filters() {
  const p = new URLSearchParams();
  const q = $("q").value.trim();
  if (q) p.set("q", q);
  for (const [id, key] of [["service", "service"], ["status", "status"], ["type", "span_type"]]) {
    if ($(id).value) p.set(key, $(id).value);
  }
  if ($("range").value) p.set("since", new Date(Date.now() - Number($("range").value) * 1000).toISOString());
  return p;
}

let listSeq = 0;
async function loadList(more) {
  const seq = ++listSeq;
  const p = filters();
  p.set("limit", PAGE);
  if (more) p.set("cursor", state.cursor);
  let page;
  try { page = await api("/api/traces/?" + p); } catch (e) { showListError(e); return; }
  if (seq !== listSeq) return; // a newer request won
  if (more) {
    state.traces = state.traces.concat(page.traces);
  } else {
    // Keep what was loaded beyond the first page when refreshing live.
    const ids = new Set(page.traces.map((t) => t.trace_id));
    const older = state.traces.slice(PAGE).filter((t) => !ids.has(t.trace_id));
    state.traces = page.traces.concat(older);
  }
  if (more || !state.cursor || state.traces.length <= PAGE) state.cursor = page.next_cursor;
  renderList();
  const cur = state.traces.find((t) => t.trace_id === state.traceId);
  if (cur && state.trace && cur.span_count !== state.trace.span_count) openTrace(state.traceId, true);
}

function showListError(e) {
  $("list").innerHTML = '<div class="empty">Could not load traces: ' + esc(e.message) + "</div>";
}

function renderList() {
  const html = state.traces.map((t) => {
    const fresh = state.seen.size && !state.seen.has(t.trace_id) ? " new" : "";
    const tokens = t.input_tokens || t.output_tokens ? `<span class="tok">${fmtNum(t.input_tokens)}→${fmtNum(t.output_tokens)} tok</span>` : "";
    const errs = t.error_count ? `<span style="color:var(--err)">${t.error_count} error${t.error_count > 1 ? "s" : ""}</span>` : "";
    return `<div class="trace-item${t.trace_id === state.traceId ? " sel" : ""}${fresh}" role="listitem" data-id="${t.trace_id}">
      <div class="ti-name" title="${esc(t.root_name || t.trace_id)}">${esc(t.root_name || "(root not received)")}</div>
      <div class="ti-dur">${fmtDur(t.duration_ns)}</div>
      <div class="ti-sub"><span class="pill ${esc(t.status)}">${esc(t.status)}</span><span>${esc(t.service_name || "unknown service")}</span>
      <span>${fmtNum(t.span_count)} span${t.span_count === 1 ? "" : "s"}</span>${tokens}${errs}<span title="${new Date(t.start_time_ns / 1e6).toISOString()}">${fmtAgo(t.start_time_ns)}</span></div>
    </div>`;
  }).join("");
  $("list").innerHTML = html;
  for (const t of state.traces) state.seen.add(t.trace_id);
  $("more").hidden = !state.cursor;
  $("list-empty").hidden = state.traces.length > 0;
}

async function loadServices() {
  try {
    const { services } = await api("/api/services/");
    const sel = $("service"), cur = sel.value;
    sel.innerHTML = '<option value="">All services</option>' + services.map((s) => `<option>${esc(s.name)}</option>`).join("");
    sel.value = cur;
  } catch { /* the list shows errors */ }
}

// ---------- live feed ----------

let refreshTimer = 0;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = 0; loadList(false); loadServices(); }, 150);
}

function connectLive() {
  if (!window.EventSource) { setInterval(scheduleRefresh, 3000); return; }
  const es = new EventSource("/api/events");
  es.addEventListener("open", () => { $("live").classList.add("on"); $("live-text").textContent = "live"; });
  es.addEventListener("ingest", scheduleRefresh);
  es.addEventListener("error", () => { $("live").classList.remove("on"); $("live-text").textContent = "reconnecting"; });
}

// ---------- trace view ----------

async function openTrace(id, keepSpan) {
  state.traceId = id;
  for (const el of document.querySelectorAll(".trace-item")) el.classList.toggle("sel", el.dataset.id === id);
  let t;
  try { t = await api("/api/traces/" + id + "/"); } catch (e) {
    $("trace-empty").hidden = false; $("trace").hidden = true;
    $("trace-empty").innerHTML = "<p>" + esc(e.message) + "</p>";
    return;
  }
  if (state.traceId !== id) return;
  const sameTrace = state.trace && state.trace.trace_id === t.trace_id;
  state.trace = t;
  buildTree(t, sameTrace);
  renderTraceHead(t);
  $("trace-empty").hidden = true; $("trace").hidden = false;
  renderWaterfall();
  const want = keepSpan ? state.spanId : (location.hash.split("/")[3] || (t.root ? t.root.span_id : t.spans[0] && t.spans[0].span_id));
  if (want && state.byId.has(want)) selectSpan(want, !keepSpan);
}

// buildTree indexes the spans by parent (children in start order) and
// finds the time range.
function buildTree(t, keepCollapsed) {
  state.byId = new Map(); state.kids = new Map();
  if (!keepCollapsed) state.collapsed = new Set();
  let t0 = Infinity, t1 = -Infinity;
  for (const s of t.spans) {
    state.byId.set(s.span_id, s);
    t0 = Math.min(t0, s.start_time_ns); t1 = Math.max(t1, s.end_time_ns, s.start_time_ns);
  }
  const roots = [];
  for (const s of t.spans) {
    const p = s.parent_span_id;
    if (p && state.byId.has(p)) {
      if (!state.kids.has(p)) state.kids.set(p, []);
      state.kids.get(p).push(s);
    } else roots.push(s);
  }
  // spans arrive sorted by start already; keep the sort stable anyway
  const byStart = (a, b) => a.start_time_ns - b.start_time_ns;
  roots.sort(byStart);
  for (const k of state.kids.values()) k.sort(byStart);
  state.roots = roots; state.t0 = t0; state.t1 = t1 > t0 ? t1 : t0 + 1;
  flatten();
}

// flatten lists the visible rows: each span after its parent, unless an
// ancestor is collapsed. Iterative, so 10,000-deep chains are fine.
function flatten() {
  const rows = [];
  const stack = [];
  for (let i = state.roots.length - 1; i >= 0; i--) stack.push([state.roots[i], 0]);
  while (stack.length) {
    const [s, depth] = stack.pop();
    rows.push({ s, depth });
    const kids = state.kids.get(s.span_id);
    if (kids && !state.collapsed.has(s.span_id)) {
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
    }
  }
  state.rows = rows;
  state.rowIndex = new Map(rows.map((r, i) => [r.s.span_id, i]));
}

function renderTraceHead(t) {
  const root = t.root || t.spans[0];
  let inTok = 0, outTok = 0, llm = 0, errs = 0;
  for (const s of t.spans) {
    const a = s.attributes || {};
    inTok += Number(a["gen_ai.usage.input_tokens"] || 0);
    outTok += Number(a["gen_ai.usage.output_tokens"] || 0);
    if (s.span_type === "llm_call") llm++;
    if (failed(s)) errs++;
  }
  const st = t.root ? statusOf(t.root) : "partial";
  $("t-status").className = "pill " + st; $("t-status").textContent = st;
  $("t-name").textContent = root ? root.name : t.trace_id;
  const meta = [
    ["duration", fmtDur(state.t1 - state.t0)],
    ["spans", fmtNum(t.span_count)],
    ["service", root ? root.service_name : ""],
    llm ? ["LLM calls", llm] : null,
    inTok || outTok ? ["tokens", fmtNum(inTok) + " in · " + fmtNum(outTok) + " out"] : null,
    errs ? ["errors", errs] : null,
    ["started", new Date(state.t0 / 1e6).toLocaleString()],
  ].filter(Boolean);
  $("t-meta").innerHTML = meta.map(([k, v]) => `<span>${k} <b>${esc(v)}</b></span>`).join("") + `<span>trace <code>${t.trace_id}</code></span>`;
  const ticks = [];
  for (let i = 0; i <= 4; i++) ticks.push(`<span class="tick" style="left:${i * 25}%">${i === 4 ? "" : fmtDur((state.t1 - state.t0) * i / 4)}</span>`);
  $("wf-ticks").innerHTML = ticks.join("");
}

let renderQueued = false;
function renderWaterfall() {
  const wf = $("wf"), inner = $("wf-inner");
  inner.style.height = state.rows.length * ROW + "px";
  const first = Math.max(0, Math.floor(wf.scrollTop / ROW) - 8);
  const last = Math.min(state.rows.length, Math.ceil((wf.scrollTop + wf.clientHeight) / ROW) + 8);
  const span = state.t1 - state.t0;
  let html = "";
  for (let i = first; i < last; i++) {
    const { s, depth } = state.rows[i];
    const typ = typeOf(s), tc = typeClass(typ);
    const kids = state.kids.get(s.span_id);
    const caret = kids ? (state.collapsed.has(s.span_id) ? "▸" : "▾") : "";
    const left = ((s.start_time_ns - state.t0) / span) * 100;
    const width = Math.max(0, ((s.end_time_ns - s.start_time_ns) / span) * 100);
    // The duration goes after the bar, or before it, or inside its end.
    const durLeft = left + width <= 80 ? `left:calc(${left + width}% + 4px)`
      : left >= 15 ? `right:calc(${100 - left}% + 4px)` : `right:calc(${100 - left - width}% + 4px);color:#0f1117`;
    const fail = failed(s);
    html += `<div class="row${s.span_id === state.spanId ? " sel" : ""}" style="top:${i * ROW}px" data-id="${s.span_id}">
      <div class="name">${'<span class="guide"></span>'.repeat(depth)}<span class="caret" data-toggle="${kids ? s.span_id : ""}">${caret}</span>
      <span class="label">${esc(s.name || "(unnamed)")}</span>${typ ? `<span class="badge ${tc}">${esc(typ)}</span>` : ""}${fail ? '<span class="err" title="failed">!</span>' : ""}${kids && state.collapsed.has(s.span_id) ? `<span class="badge">+${countBelow(s.span_id)}</span>` : ""}</div>
      <div class="track ${tc}"><div class="bar-span${fail ? " failed" : ""}" style="left:${left}%;width:${width}%"></div><span class="bar-dur" style="${durLeft}">${fmtDur(s.end_time_ns - s.start_time_ns)}</span></div>
    </div>`;
  }
  inner.innerHTML = html;
}

function countBelow(id) {
  let n = 0; const stack = [id];
  while (stack.length) { const k = state.kids.get(stack.pop()); if (k) { n += k.length; for (const c of k) stack.push(c.span_id); } }
  return n;
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderWaterfall(); });
}

function toggle(id) {
  if (state.collapsed.has(id)) state.collapsed.delete(id); else state.collapsed.add(id);
  flatten(); renderWaterfall();
}

function selectSpan(id, scroll) {
  state.spanId = id;
  const s = state.byId.get(id);
  if (!s) return;
  const hash = "#/t/" + state.traceId + "/" + id;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  if (scroll) {
    const i = state.rowIndex.get(id);
    const wf = $("wf");
    if (i !== undefined && (i * ROW < wf.scrollTop || (i + 1) * ROW > wf.scrollTop + wf.clientHeight)) wf.scrollTop = Math.max(0, i * ROW - wf.clientHeight / 3);
  }
  renderWaterfall();
  renderSpan(s);
}

// ---------- span panel ----------

function renderSpan(s) {
  const a = s.attributes || {};
  const typ = typeOf(s), st = statusOf(s);
  let html = `<div class="sp-head"><h3>${esc(s.name || "(unnamed)")}</h3><div class="sp-tags">
    ${typ ? `<span class="badge ${typeClass(typ)}">${esc(typ)}</span>` : ""}<span class="pill ${esc(st)}">${esc(st)}</span>
    <span class="muted">${fmtDur(s.duration_ns)} · at +${fmtDur(s.start_time_ns - state.t0)}</span></div></div>`;
  html += errorHTML(s);
  if (s.span_type === "llm_call" || a["gen_ai.request.model"]) html += llmHTML(s);
  const chat = chatOf(s);
  if (chat) html += section("Conversation", chat);
  const used = new Set(chat ? ["inputs", "outputs", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"] : []);
  if (a.inputs !== undefined && !used.has("inputs")) html += section("Inputs", valueHTML(a.inputs));
  if (a.outputs !== undefined && !used.has("outputs")) html += section("Outputs", valueHTML(a.outputs));
  if (chat) {
    html += `<details><summary>Raw inputs and outputs</summary>`;
    for (const k of ["gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages", "inputs", "outputs"]) {
      if (a[k] !== undefined) html += section(k, valueHTML(a[k]));
    }
    html += `</details>`;
  }
  const skip = new Set(["inputs", "outputs", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"]);
  const rows = Object.keys(a).filter((k) => !skip.has(k)).sort().map((k) => `<tr><td>${esc(k)}</td><td>${esc(typeof a[k] === "string" ? a[k] : JSON.stringify(a[k]))}</td></tr>`);
  html += section("Attributes", `<table class="attrs">${rows.join("")}</table>`);
  html += `<details><summary>Span</summary><dl class="kv">
    <dt>span_id</dt><dd>${s.span_id}</dd><dt>parent_span_id</dt><dd>${s.parent_span_id || "—"}</dd>
    <dt>trace_id</dt><dd>${s.trace_id}</dd><dt>kind</dt><dd>${s.kind}</dd><dt>operation</dt><dd>${esc(s.operation)}</dd>
    <dt>span_type</dt><dd>${esc(s.span_type)}</dd><dt>status</dt><dd>${s.status_code} ${esc(s.status_message || "")}</dd>
    <dt>scope</dt><dd>${esc(s.scope_name)} ${esc(s.scope_version)}</dd><dt>received_at</dt><dd>${esc(s.received_at)}</dd></dl></details>`;
  html += `<details><summary>Resource</summary>${valueHTML(s.resource_attrs || {})}</details>`;
  const events = (s.events && s.events.items) || [];
  if (events.length) html += `<details><summary>Events (${events.length})</summary>${valueHTML(events)}</details>`;
  $("span").innerHTML = html;
  $("span").hidden = false; $("span-empty").hidden = true;
}

function section(title, body) { return `<div class="section"><h4>${esc(title)}</h4>${body}</div>`; }

// errorHTML shows the span's error and, from its exception events, the
// stack.
function errorHTML(s) {
  const a = s.attributes || {};
  const exc = ((s.events && s.events.items) || []).filter((e) => e.name === "exception");
  if (!failed(s) && !exc.length && !a["overmind.error.message"]) return "";
  const etype = a["overmind.error.type"] || (exc[0] && exc[0].attributes["exception.type"]) || "";
  const msg = a["overmind.error.message"] || (exc[0] && exc[0].attributes["exception.message"]) || s.status_message || "";
  const stack = exc.map((e) => e.attributes["exception.stacktrace"]).filter(Boolean).join("\n\n");
  return section("Error", `<div class="error-box"><div class="etype">${esc(etype)}</div><div>${esc(msg)}</div>${stack ? `<pre class="stack">${esc(stack)}</pre>` : ""}</div>`);
}

function llmHTML(s) {
  const a = s.attributes || {};
  const stats = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== "") stats.push(`<div class="stat"><div class="v">${esc(v)}</div><div class="k">${k}</div></div>`); };
  add("input tokens", a["gen_ai.usage.input_tokens"] !== undefined ? fmtNum(a["gen_ai.usage.input_tokens"]) : "");
  add("output tokens", a["gen_ai.usage.output_tokens"] !== undefined ? fmtNum(a["gen_ai.usage.output_tokens"]) : "");
  add("total tokens", a["gen_ai.usage.total_tokens"] !== undefined ? fmtNum(a["gen_ai.usage.total_tokens"]) : "");
  add("cached input", a["gen_ai.usage.cache_read.input_tokens"] !== undefined ? fmtNum(a["gen_ai.usage.cache_read.input_tokens"]) : "");
  add("reasoning", a["gen_ai.usage.reasoning.output_tokens"] !== undefined ? fmtNum(a["gen_ai.usage.reasoning.output_tokens"]) : "");
  const ttfc = a["gen_ai.response.time_to_first_chunk"];
  add("time to first chunk", ttfc !== undefined ? fmtDur(Number(ttfc) * 1e9) : "");
  add("latency", fmtDur(s.duration_ns));
  const kv = [["model", a["gen_ai.response.model"] || a["gen_ai.request.model"]], ["provider", a["gen_ai.provider.name"]],
    ["operation", a["gen_ai.operation.name"]], ["finish", a["gen_ai.response.finish_reasons"]], ["temperature", a["gen_ai.request.temperature"]],
    ["attempts", a["overmind.llm.attempts"]]].filter(([, v]) => v !== undefined && v !== "");
  return section("Model call", `<div class="stats">${stats.join("")}</div><dl class="kv">${kv.map(([k, v]) => `<dt>${k}</dt><dd>${esc(Array.isArray(v) ? v.join(", ") : v)}</dd>`).join("")}</dl>`);
}

// chatOf renders an LLM call's messages as a chat: from the GenAI
// conventions' gen_ai.* attributes when present, else from inputs and
// outputs in the OpenAI chat shape ({"messages": [...]}).
function chatOf(s) {
  const a = s.attributes || {};
  const msgs = [];
  const sys = parseJSON(a["gen_ai.system_instructions"]);
  const input = parseJSON(a["gen_ai.input.messages"]);
  const output = parseJSON(a["gen_ai.output.messages"]);
  if (Array.isArray(input) || Array.isArray(output)) {
    if (Array.isArray(sys) && sys.length) msgs.push({ role: "system", parts: sys });
    for (const m of input || []) msgs.push(m);
    for (const m of output || []) msgs.push(m);
    return msgs.length ? chatHTML(msgs.map(semconvMessage)) : "";
  }
  const ins = parseJSON(a.inputs);
  const list = Array.isArray(ins) ? ins : ins && (ins.messages || ins.msgs || ins.input || ins.conversation);
  if (!Array.isArray(list) || !list.length || !list.every((m) => m && typeof m === "object" && "role" in m)) return "";
  const out = parseJSON(a.outputs);
  const all = list.map(openAIMessage);
  if (typeof a.outputs === "string" && out === undefined && a.outputs) all.push({ role: "assistant", blocks: [{ text: a.outputs }] });
  else if (typeof out === "string") all.push({ role: "assistant", blocks: [{ text: out }] });
  else if (Array.isArray(out) && out.every((m) => m && m.role)) for (const m of out) all.push(openAIMessage(m));
  else if (out && out.role) all.push(openAIMessage(out));
  else if (out && out.choices) for (const c of out.choices) if (c.message) all.push(openAIMessage(c.message));
  return chatHTML(all);
}

// semconvMessage turns {role, parts: [...], finish_reason} into blocks.
function semconvMessage(m) {
  const blocks = [];
  for (const p of m.parts || []) {
    switch (p.type) {
      case "text": blocks.push({ text: p.content }); break;
      case "reasoning": blocks.push({ reasoning: p.content }); break;
      case "tool_call": blocks.push({ call: { name: p.name, id: p.id, args: p.arguments } }); break;
      case "tool_call_response": blocks.push({ result: { id: p.id, value: p.response } }); break;
      default: blocks.push({ other: p });
    }
  }
  return { role: m.role || "message", blocks, finish: m.finish_reason };
}

// openAIMessage turns {role, content, tool_calls, tool_call_id} into blocks.
function openAIMessage(m) {
  const blocks = [];
  if (typeof m.content === "string") blocks.push(m.role === "tool" ? { result: { id: m.tool_call_id, value: m.content } } : { text: m.content });
  else if (Array.isArray(m.content)) for (const c of m.content) blocks.push(c && c.type === "text" ? { text: c.text } : { other: c });
  for (const tc of m.tool_calls || []) {
    const f = tc.function || tc;
    blocks.push({ call: { name: f.name, id: tc.id, args: parseJSON(f.arguments) ?? f.arguments } });
  }
  return { role: m.role, blocks };
}

function chatHTML(msgs) {
  return '<div class="chat">' + msgs.map((m) => {
    const role = String(m.role || "");
    const body = m.blocks.map((b) => {
      if (b.text !== undefined) return `<div class="text">${esc(b.text)}</div>`;
      if (b.reasoning !== undefined) return `<div class="text reasoning">${esc(b.reasoning)}</div>`;
      if (b.call) return `<div class="call">→ <span class="fn">${esc(b.call.name || "tool")}</span>${b.call.id ? ` <span class="muted">${esc(b.call.id)}</span>` : ""}<pre>${jsonHTML(b.call.args ?? {})}</pre></div>`;
      if (b.result) {
        const v = typeof b.result.value === "string" ? (parseJSON(b.result.value) ?? b.result.value) : b.result.value;
        return `<div class="call">← result${b.result.id ? ` <span class="muted">${esc(b.result.id)}</span>` : ""}<pre>${typeof v === "string" ? esc(v) : jsonHTML(v)}</pre></div>`;
      }
      return `<pre class="json">${jsonHTML(b.other)}</pre>`;
    }).join("");
    const cls = ["system", "user", "assistant", "tool"].includes(role) ? role : "";
    return `<div class="msg ${cls}"><div class="role">${esc(role)}</div>${body}${m.finish ? `<div class="finish">finish: ${esc(m.finish)}</div>` : ""}</div>`;
  }).join("") + "</div>";
}

// ---------- wiring ----------

function route() {
  const [, kind, id] = location.hash.split("/");
  if (kind === "t" && id && id !== state.traceId) openTrace(id);
}

function init() {
  const origin = location.origin;
  $("hint").textContent = `OTEL_EXPORTER_OTLP_ENDPOINT=${origin}\n\nor, for the overmind runtime,\nOVERMIND_API_URL=${origin} OVERMIND_API_KEY=local`;
  $("list").addEventListener("click", (e) => {
    const item = e.target.closest(".trace-item");
    if (item) { location.hash = "#/t/" + item.dataset.id; }
  });
  $("more").addEventListener("click", () => loadList(true));
  let debounce = 0;
  $("q").addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => { state.cursor = ""; loadList(false); }, 200); });
  for (const id of ["service", "status", "type", "range"]) $(id).addEventListener("change", () => { state.cursor = ""; state.traces = []; loadList(false); });
  $("wf").addEventListener("scroll", queueRender, { passive: true });
  window.addEventListener("resize", queueRender);
  $("wf-inner").addEventListener("click", (e) => {
    const tog = e.target.closest("[data-toggle]");
    if (tog && tog.dataset.toggle) { toggle(tog.dataset.toggle); return; }
    const row = e.target.closest(".row");
    if (row) selectSpan(row.dataset.id, false);
  });
  $("wf").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    const i = (state.rowIndex.get(state.spanId) ?? -1) + (e.key === "ArrowDown" ? 1 : -1);
    if (i >= 0 && i < state.rows.length) selectSpan(state.rows[i].s.span_id, true);
  });
  $("expand-all").addEventListener("click", () => { state.collapsed.clear(); flatten(); renderWaterfall(); });
  $("collapse-all").addEventListener("click", () => { for (const r of state.roots) for (const k of state.kids.get(r.span_id) || []) if (state.kids.has(k.span_id)) state.collapsed.add(k.span_id); flatten(); renderWaterfall(); });
  window.addEventListener("hashchange", route);
  loadServices();
  loadList(false).then(() => {
    if (!location.hash && state.traces.length) location.hash = "#/t/" + state.traces[0].trace_id;
    else route();
  });
  connectLive();
}

init();
