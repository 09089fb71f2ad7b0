// sutra-control: the operator dashboard. Plain JavaScript, no libraries: the page draws its
// own charts on canvas and its own graph in SVG. Everything shown comes from the control
// server, which reads it from the services; nothing here is invented.
"use strict";

const TOKEN_KEY = "sutra-control-token";
const SUBPROTOCOL = "sutra-control.v1";
const CHART_WINDOW_SECONDS = 300;
const COLORS = ["#1565c0", "#ef6c00", "#6a1b9a", "#2e7d32"];

const state = {
  token: null,
  tokenRequired: true,
  socket: null,
  retryDelay: 1000,
  retryTimer: null,
  stopped: true,
  points: [], // {timestamp, values: {path: number|null}}
  concept: null,
  trail: [],
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------------- formatting

const dash = "\u2013";
function fmtCount(v) { return v == null ? dash : Math.round(v).toLocaleString("en"); }
function fmtRate(v) { return v == null ? dash : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} /s`; }
function fmtMs(v) { return v == null ? dash : `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`; }
function fmtPct(v) { return v == null ? dash : `${(v * 100).toFixed(1)} %`; }
function fmtCompact(v) { return v >= 10000 ? `${(v / 1000).toFixed(0)}k` : fmtCount(v); }
function fmtBytes(v) {
  if (v == null) return dash;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}
function fmtAgo(ts) {
  if (!ts) return "none";
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
function fmtList(v) { return v == null ? dash : (v.length ? v.join(", ") : "none"); }

// What each tile shows below its status: [figure id, label, metrics group, path, format].
const FIGURES = {
  "storage-server": ["storage", [
    ["concepts", "concepts", "concepts", fmtCount],
    ["associations", "edges", "associations", fmtCount],
    ["vectors", "vectors", "vectors", fmtCount],
    ["write-rate", "write rate", "write_rate", fmtRate],
    ["queue-depth", "write queue", "queue_depth", fmtCount],
    ["store-size", "store size", "store_bytes", fmtBytes],
    ["last-snapshot", "last snapshot", "last_snapshot_time", fmtAgo],
    ["commit-p95", "commit p95", "commit_p95_ms", fmtMs],
  ]],
  "sutra-api": ["api", [
    ["request-rate", "requests", "request_rate", fmtRate],
    ["error-ratio", "5xx share", "error_ratio", fmtPct],
    ["p50", "latency p50", "latency_ms.p50", fmtMs],
    ["p95", "latency p95", "latency_ms.p95", fmtMs],
    ["p99", "latency p99", "latency_ms.p99", fmtMs],
    ["cache-hit-ratio", "/reason cache hits", "cache_hit_ratio", fmtPct],
    ["open-circuits", "open circuits", "open_circuits", fmtList],
  ]],
  "sutra-hybrid": ["hybrid", [
    ["request-rate", "requests", "request_rate", fmtRate],
    ["error-ratio", "5xx share", "error_ratio", fmtPct],
    ["p50", "latency p50", "latency_ms.p50", fmtMs],
    ["p95", "latency p95", "latency_ms.p95", fmtMs],
    ["p99", "latency p99", "latency_ms.p99", fmtMs],
    ["queue-depth", "embed queue", "queue_depth", fmtCount],
    ["cache-hit-ratio", "embedding cache hits", "cache_hit_ratio", fmtPct],
  ]],
};

// [title, [[path, label], ...], axis format, smallest top of the axis]
const CHARTS = [
  ["Requests per second", [["api.request_rate", "api"], ["hybrid.request_rate", "hybrid"]], fmtRate, 1],
  ["API latency", [["api.latency_ms.p50", "p50"], ["api.latency_ms.p95", "p95"], ["api.latency_ms.p99", "p99"]], fmtMs, 10],
  ["API 5xx share", [["api.error_ratio", "5xx"]], fmtPct, 0.03],
  ["Storage writes per second", [["storage.write_rate", "writes"]], fmtRate, 1],
  ["Knowledge store", [["storage.concepts", "concepts"], ["storage.associations", "edges"]], fmtCompact, 3],
  ["Queue depth", [["storage.queue_depth", "storage writes"], ["hybrid.queue_depth", "embeddings"]], fmtCount, 3],
];

function pick(obj, path) {
  let v = obj;
  for (const part of path.split(".")) {
    if (v == null || typeof v !== "object") return null;
    v = v[part];
  }
  return v === undefined ? null : v;
}

// ------------------------------------------------------------------------------ access

function tokenProtocol(token) {
  const bytes = new TextEncoder().encode(token);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return "bearer." + btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

async function getJSON(url) {
  const reply = await fetch(url, { headers: authHeaders(), cache: "no-store" });
  if (reply.status === 401) throw new Refused();
  let body = null;
  try { body = await reply.json(); } catch (_) { body = null; }
  if (!reply.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${reply.status}`;
    throw new Error(message);
  }
  return body;
}

class Refused extends Error {
  constructor() { super("token refused"); }
}

function showLogin(message) {
  stop();
  $("dashboard").hidden = true;
  $("graph").hidden = true;
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("token").focus();
}

async function enter(token) {
  state.token = token;
  try {
    const history = await getJSON("/api/history");
    state.points = history.points.slice();
  } catch (err) {
    if (err instanceof Refused) {
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      showLogin("Token refused: the dashboard did not accept it.");
      return;
    }
    showLogin(`The dashboard is not answering: ${err.message}`);
    return;
  }
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  $("login").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = !state.tokenRequired;
  $("open-mode").hidden = state.tokenRequired;
  route();
  drawCharts();
  state.stopped = false;
  connect();
}

function stop() {
  state.stopped = true;
  clearTimeout(state.retryTimer);
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
    state.socket = null;
  }
  setConnection("off", "offline");
}

// --------------------------------------------------------------------------- websocket

function setConnection(kind, text) {
  const el = $("connection");
  el.className = `conn conn-${kind}`;
  el.textContent = text;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const protocols = state.token ? [SUBPROTOCOL, tokenProtocol(state.token)] : [SUBPROTOCOL];
  const socket = new WebSocket(`${scheme}//${location.host}/ws`, protocols);
  state.socket = socket;
  setConnection("wait", "connecting");
  socket.onopen = () => {
    state.retryDelay = 1000;
    setConnection("on", "live");
  };
  socket.onmessage = (event) => {
    const snapshot = JSON.parse(event.data);
    render(snapshot);
  };
  socket.onclose = () => {
    state.socket = null;
    if (state.stopped) return;
    setConnection("wait", "reconnecting");
    // A refused handshake looks like any other failure to the page: ask over HTTP why.
    state.retryTimer = setTimeout(async () => {
      try {
        await getJSON("/api/services");
      } catch (err) {
        if (err instanceof Refused) {
          sessionStorage.removeItem(TOKEN_KEY);
          showLogin("Token refused: the dashboard did not accept it.");
          return;
        }
      }
      if (!state.stopped) connect();
    }, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 10000);
  };
}

// ----------------------------------------------------------------------------- tiles

function tile(name) {
  let el = $(`tile-${name}`);
  if (el) return el;
  el = document.createElement("article");
  el.id = `tile-${name}`;
  el.className = "tile";
  const title = document.createElement("h3");
  const label = document.createElement("span");
  label.textContent = name;
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.id = `${name}-status`;
  title.append(label, badge);
  const target = document.createElement("div");
  target.className = "target";
  target.id = `${name}-target`;
  const reason = document.createElement("div");
  reason.className = "reason";
  reason.id = `${name}-reason`;
  reason.hidden = true;
  el.append(title, target, reason);
  const spec = FIGURES[name];
  if (spec) {
    const list = document.createElement("dl");
    list.className = "figures";
    const prefix = name === "storage-server" ? "storage" : name.replace("sutra-", "");
    for (const [id, text] of spec[1]) {
      const dt = document.createElement("dt");
      dt.textContent = text;
      const dd = document.createElement("dd");
      dd.id = `${prefix}-${id}`;
      dd.textContent = dash;
      list.append(dt, dd);
    }
    el.append(list);
  }
  $("tiles").append(el);
  return el;
}

function render(snapshot) {
  for (const [name, health] of Object.entries(snapshot.health)) {
    const el = tile(name);
    el.className = `tile ${health.status}`;
    $(`${name}-status`).textContent = health.status;
    $(`${name}-target`).textContent = health.target +
      (health.latency_ms == null ? "" : ` \u00b7 ${health.latency_ms.toFixed(1)} ms`);
    const reason = $(`${name}-reason`);
    reason.hidden = !health.reason;
    reason.textContent = health.reason || "";
    const spec = FIGURES[name];
    if (!spec) continue;
    const [group, rows] = spec;
    const prefix = name === "storage-server" ? "storage" : name.replace("sutra-", "");
    const figures = snapshot.metrics[group] || {};
    for (const [id, , path, format] of rows) {
      const value = pick(figures, path);
      const dd = $(`${prefix}-${id}`);
      dd.textContent = format(value);
      dd.dataset.value = value == null ? "" : JSON.stringify(value);
    }
  }
  const updated = $("updated");
  const when = new Date(snapshot.timestamp * 1000);
  updated.dateTime = when.toISOString();
  updated.textContent = when.toLocaleTimeString("en-GB");
  updated.dataset.count = String(Number(updated.dataset.count) + 1);
  updated.dataset.timestamp = String(snapshot.timestamp);

  const values = {};
  for (const [, series] of CHARTS) {
    for (const [path] of series) values[path] = pick(snapshot.metrics, path);
  }
  state.points.push({ timestamp: snapshot.timestamp, values });
  const horizon = snapshot.timestamp - 3600;
  while (state.points.length && state.points[0].timestamp < horizon) state.points.shift();
  if (!$("dashboard").hidden) drawCharts();
}

// ---------------------------------------------------------------------------- charts

function chartBox(index, title, series) {
  let box = $(`chart-${index}`);
  if (box) return box;
  box = document.createElement("figure");
  box.className = "chart";
  box.id = `chart-${index}`;
  const heading = document.createElement("h4");
  heading.textContent = title;
  const canvas = document.createElement("canvas");
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach(([, label], i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLORS[i % COLORS.length];
    item.append(swatch, document.createTextNode(label));
    legend.append(item);
  });
  box.append(heading, canvas, legend);
  $("charts").append(box);
  return box;
}

function drawCharts() {
  const points = state.points;
  const end = points.length ? points[points.length - 1].timestamp : Date.now() / 1000;
  // The window grows with the data gathered, from one minute up to CHART_WINDOW_SECONDS.
  const span = points.length ? end - points[0].timestamp : 0;
  const shown = Math.min(CHART_WINDOW_SECONDS, Math.max(60, Math.ceil(span / 60) * 60));
  const start = end - shown;
  const recent = points.filter((p) => p.timestamp >= start);
  CHARTS.forEach(([title, series, format, floor], index) => {
    const canvas = chartBox(index, title, series).querySelector("canvas");
    drawChart(canvas, recent, series, start, end, format, floor);
  });
}

// A round step (1, 2 or 5 times a power of ten) that splits `max` into three.
function niceStep(max) {
  const raw = max / 3;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function drawChart(canvas, points, series, start, end, format, floor) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 380;
  const height = canvas.clientHeight || 150;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 66, right = 14, top = 8, bottom = 20;
  const plotW = width - left - right, plotH = height - top - bottom;

  let highest = 0;
  for (const p of points) {
    for (const [path] of series) {
      const v = p.values[path];
      if (typeof v === "number" && v > highest) highest = v;
    }
  }
  const step = niceStep(Math.max(highest, floor));
  const max = step * 3;
  const x = (t) => left + ((t - start) / Math.max(1, end - start)) * plotW;
  const y = (v) => top + plotH - (v / max) * plotH;

  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#5d6b7a";
  ctx.strokeStyle = "#e3e8ee";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 3; i += 1) {
    const v = step * i;
    ctx.beginPath();
    ctx.moveTo(left, y(v));
    ctx.lineTo(width - right, y(v));
    ctx.stroke();
    ctx.fillText(format(v), left - 6, y(v));
  }
  ctx.textBaseline = "top";
  const tick = end - start <= 120 ? 15 : 60;
  for (let ago = 0; ago <= end - start + 0.001; ago += tick) {
    const label = ago === 0 ? "now" : tick < 60 ? `-${ago} s` : `-${ago / 60} min`;
    ctx.textAlign = ago === 0 ? "right" : "center";
    ctx.fillText(label, ago === 0 ? width - right : Math.max(left + 16, x(end - ago)), top + plotH + 4);
  }
  if (!points.length) {
    ctx.textAlign = "center";
    ctx.fillText("waiting for data", left + plotW / 2, top + plotH / 2);
    return;
  }
  series.forEach(([path], i) => {
    const color = COLORS[i % COLORS.length];
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    points.forEach((p, k) => {
      const v = p.values[path];
      if (typeof v !== "number") return; // a gap: no reading
      const prev = k > 0 ? points[k - 1].values[path] : null;
      const next = k + 1 < points.length ? points[k + 1].values[path] : null;
      if (typeof prev === "number") {
        ctx.beginPath();
        ctx.moveTo(x(points[k - 1].timestamp), y(prev));
        ctx.lineTo(x(p.timestamp), y(v));
        ctx.stroke();
      } else if (typeof next !== "number") {
        ctx.beginPath(); // a lone reading: a dot, so it is not lost
        ctx.arc(x(p.timestamp), y(v), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  });
}

// --------------------------------------------------------------------- knowledge graph

function graphError(message) {
  const el = $("graph-error");
  el.hidden = !message;
  el.textContent = message || "";
}

async function search(text) {
  graphError("");
  const list = $("graph-results");
  list.replaceChildren();
  let body;
  try {
    body = await getJSON(`/api/graph/search?q=${encodeURIComponent(text)}&limit=10`);
  } catch (err) {
    if (err instanceof Refused) { showLogin("Token refused: the dashboard did not accept it."); return; }
    graphError(`Search failed: ${err.message}`);
    return;
  }
  if (!body.results.length) {
    graphError("No concept matches that text.");
    return;
  }
  for (const hit of body.results) {
    const item = document.createElement("li");
    item.textContent = hit.content;
    item.dataset.conceptId = hit.concept_id;
    const sim = document.createElement("span");
    sim.className = "similarity";
    sim.textContent = `similarity ${hit.similarity.toFixed(2)}`;
    item.append(sim);
    item.addEventListener("click", () => { state.trail = []; walk(hit.concept_id); });
    list.append(item);
  }
}

async function walk(conceptId) {
  graphError("");
  let body;
  try {
    body = await getJSON(`/api/graph/concepts/${conceptId}`);
  } catch (err) {
    if (err instanceof Refused) { showLogin("Token refused: the dashboard did not accept it."); return; }
    graphError(`Cannot read concept ${conceptId}: ${err.message}`);
    return;
  }
  state.concept = body;
  const seen = state.trail.findIndex((c) => c.id === body.concept.id);
  if (seen >= 0) state.trail = state.trail.slice(0, seen);
  state.trail.push({ id: body.concept.id, content: body.concept.content });
  renderConcept(body);
}

function short(text, n) {
  if (text == null) return "(unknown)";
  return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
}

function renderConcept(body) {
  const { concept, neighbors } = body;
  $("graph-concept").hidden = false;
  $("concept-content").textContent = concept.content;
  $("concept-meta").textContent =
    `${concept.id} \u00b7 strength ${concept.strength.toFixed(2)} \u00b7 confidence ` +
    `${concept.confidence.toFixed(2)} \u00b7 read ${concept.access_count} times \u00b7 ` +
    `${neighbors.length} neighbours`;

  const trail = $("graph-trail");
  trail.replaceChildren(document.createTextNode("Path:"));
  state.trail.forEach((step, i) => {
    const link = document.createElement("a");
    link.textContent = short(step.content, 30);
    link.addEventListener("click", () => { state.trail = state.trail.slice(0, i); walk(step.id); });
    if (i) trail.append(document.createTextNode("\u2192"));
    trail.append(link);
  });

  const rows = $("neighbors").querySelector("tbody");
  rows.replaceChildren();
  for (const n of neighbors) {
    const tr = document.createElement("tr");
    tr.dataset.conceptId = n.concept_id;
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.textContent = short(n.content, 80);
    link.addEventListener("click", () => walk(n.concept_id));
    name.append(link);
    const type = document.createElement("td");
    type.className = `type type-${n.type}`;
    type.textContent = n.type;
    const direction = document.createElement("td");
    direction.textContent = n.direction;
    const confidence = document.createElement("td");
    confidence.textContent = n.confidence.toFixed(2);
    const weight = document.createElement("td");
    weight.textContent = n.weight.toFixed(2);
    tr.append(name, type, direction, confidence, weight);
    rows.append(tr);
  }
  drawGraph(concept, neighbors);
}

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

const TYPES = ["semantic", "causal", "temporal", "hierarchical", "compositional"];

function drawGraph(concept, neighbors) {
  const root = $("graph-svg");
  root.replaceChildren();
  const defs = svg("defs", {});
  for (const type of TYPES) { // one arrowhead per association type, in its colour
    const marker = svg("marker", {
      id: `arrow-${type}`, viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
    });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: `head type-${type}` }));
    defs.append(marker);
  }
  root.append(defs);
  const cx = 360, cy = 200, rx = 270, ry = 150, centerR = 34, nodeR = 14;
  const shown = neighbors.slice(0, 24);
  const nodes = shown.map((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, shown.length) - Math.PI / 2;
    return { n, x: cx + rx * Math.cos(angle), y: cy + ry * Math.sin(angle) };
  });
  for (const { n, x, y } of nodes) {
    // The edge runs between the circles' rims; its arrow points from source to target.
    const dx = x - cx, dy = y - cy, d = Math.hypot(dx, dy) || 1;
    const a = { x: cx + (dx / d) * centerR, y: cy + (dy / d) * centerR };
    const b = { x: x - (dx / d) * nodeR, y: y - (dy / d) * nodeR };
    const [from, to] = n.direction === "incoming" ? [b, a] : [a, b];
    root.append(svg("line", {
      x1: from.x, y1: from.y, x2: to.x, y2: to.y,
      class: `type-${n.type}`, "marker-end": `url(#arrow-${n.type})`,
    }));
    root.append(svg("text", { x: (cx + x) / 2, y: (cy + y) / 2 - 7, class: "edge-label" },
      `${n.type} ${n.confidence.toFixed(2)}`));
  }
  for (const { n, x, y } of nodes) {
    const group = svg("g", { class: "node", "data-concept-id": n.concept_id });
    group.append(svg("circle", { cx: x, cy: y, r: nodeR }));
    // Labels on the far side of the node from the centre, clear of the edge.
    group.append(svg("text", { x, y: y >= cy ? y + nodeR + 10 : y - nodeR - 9 }, short(n.content, 34)));
    group.append(svg("title", {}, n.content || n.concept_id));
    group.addEventListener("click", () => walk(n.concept_id));
    root.append(group);
  }
  const center = svg("g", { class: "node center" });
  center.append(svg("circle", { cx, cy, r: centerR }));
  center.append(svg("text", { x: cx, y: cy }, short(concept.content, 10)));
  center.append(svg("title", {}, concept.content));
  root.append(center);
  if (neighbors.length > shown.length) {
    root.append(svg("text", { x: cx, y: 412, class: "edge-label" },
      `${neighbors.length - shown.length} more in the table below`));
  }
}

// ---------------------------------------------------------------------------- routing

function route() {
  const view = location.hash === "#graph" ? "graph" : "dashboard";
  $("dashboard").hidden = view !== "dashboard";
  $("graph").hidden = view !== "graph";
  $("nav-dashboard").classList.toggle("active", view === "dashboard");
  $("nav-graph").classList.toggle("active", view === "graph");
  if (view === "dashboard") drawCharts();
}

async function start() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    enter($("token").value.trim());
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    showLogin("");
  });
  $("graph-search").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("graph-query").value.trim());
  });
  window.addEventListener("hashchange", () => { if ($("login").hidden) route(); });
  window.addEventListener("resize", () => { if (!$("dashboard").hidden) drawCharts(); });
  setInterval(() => { // keep "x s ago" figures honest between pushes
    const el = $("storage-last-snapshot");
    if (el && el.dataset.value) el.textContent = fmtAgo(Number(el.dataset.value));
  }, 5000);

  let info;
  try {
    info = await getJSON("/api/auth");
  } catch (err) {
    showLogin(`The dashboard is not answering: ${err.message}`);
    return;
  }
  state.tokenRequired = info.token_required;
  if (info.grafana_url) { // the same figures over days, in the cluster's Grafana
    $("nav-grafana").href = info.grafana_url;
    $("nav-grafana").hidden = false;
  }
  if (!state.tokenRequired) {
    enter(null);
    return;
  }
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) enter(saved);
  else showLogin("");
}

document.addEventListener("DOMContentLoaded", start);
