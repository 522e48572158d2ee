// The live view in the browser. Chart elements draw their part of each frame into a
// persistent Plotly graph with Plotly.react (uirevision keeps zoom, pan, hover and legend
// clicks); the driver element, mounted after them, acks the frame once all its charts are
// drawn, so the server trains and sends the next one. One ack outstanding at a time, at most
// one per min_interval, none while paused or while the tab is hidden.
//
// Chart part:  {role: "chart", frame, uirevision, plotly_url,
//               chart: {id, layout_key, layout?, data_keys, data}}
//   no layout, or a null trace: reuse the one of that key received before (unknown: failed)
// Driver part: {role: "driver", id, answers, running, members, min_interval, watchdog,
//               fast_url, slow_interval}
// Ack: setTriggerValue("drawn", {frame: id, ok}); ok=false asks the server for a whole frame.
// Fast frames (fast_url set, see playground/liveview/fast.py): while running, the driver acks
//   by sending view=<session>&drawn=<id> on a WebSocket at fast_url (kept open; where it cannot
//   open, a GET fast_url?<that query>) instead, and draws the answer's chart parts, metric
//   texts and table cells itself, with no Streamlit run; one Streamlit ack per slow_interval
//   redraws the rest, and any answer {slow: true} or failed request falls back to a Streamlit
//   ack.
// Click: a click on a point whose trace carries a pick tag (meta.pick, see
//   playground/charts/pick_tags.py) sends that chart's setTriggerValue("clicked", tag).

const CONFIG = { displayModeBar: false, responsive: true };
const PARTS_KEPT = 64; // recently used layouts and traces per chart, by key, at least
const PARTS_PER_TRACE = 3; // and this many per trace of the chart's newest part
const MAX_REPAIRS = 2; // whole frames asked for in a row while paused
const MEMBER_WAIT_MS = 5000; // a chart that never reports does not hold the loop forever
const UNREACHABLE_RETRY_MS = 1000; // a fast frame's server unreachable: ask again after this
const LOST_KEY = "bpLostSession"; // sessionStorage: what a page reloaded for a lost session had
const charts = new Map(); // chart id -> chart view (the newest mount of that id)
const layouts = new Map(); // chart id -> (key -> layout JSON or trace): kept across remounts
const arrivals = new Map(); // chart id -> callbacks waiting for that chart to mount
const drivers = new Set();
let plotlyLoading = null;
window.__bpLiveview = { charts, drivers, layouts }; // read by the browser tests

const stats = (window.__bpLiveviewStats = window.__bpLiveviewStats || {
  drawn: 0, // chart parts drawn
  frames: 0, // frames closed (all charts drawn) by a driver
  failed: 0,
  acks: 0,
  fast: 0, // fast frames drawn
  waitMs: 0, // summed: from an ack to its answer's arrival (server and network)
  drawMs: 0, // summed: from a frame's arrival to all its charts drawn (browser)
  chartMs: {}, // summed per chart: Plotly.react (or newPlot) time
  swapped: 0, // chart parts drawn by swapping layout images alone (see swapImages)
  socket: 0, // fast frames answered on the WebSocket
  fetched: 0, // fast frames asked for by fetch
});

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        plotlyLoading = null;
        script.remove();
        reject(new Error(`could not load ${url}`));
      };
      document.head.appendChild(script);
    });
  }
  return plotlyLoading;
}

function decode(data) {
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    return JSON.parse(new TextDecoder().decode(data));
  }
  return typeof data === "string" ? JSON.parse(data) : data;
}

// --- charts ---------------------------------------------------------------------------------

function chartView(parent, id) {
  let view = parent.__bpChart;
  if (!view) {
    const div = document.createElement("div");
    div.className = "bp-liveview-chart";
    parent.appendChild(div);
    view = { div, latest: null, drawing: false, broken: false, clicks: false, setTrigger: null };
    view.drawnFrame = 0; // newest frame id drawn (or failed)
    view.okFrame = 0; // newest frame id drawn without error
    view.waiters = [];
    parent.__bpChart = view;
  }
  view.div.dataset.chart = id;
  charts.set(id, view);
  const waiting = arrivals.get(id) || [];
  arrivals.delete(id);
  waiting.forEach((arrived) => arrived());
  return view;
}

// Keeps what a chart part carries (its layout, its traces) under their keys, on arrival: a
// later part may leave them out even if this one is never drawn.
function remember(spec) {
  if (!layouts.has(spec.id)) layouts.set(spec.id, new Map());
  const known = layouts.get(spec.id);
  const keep = (key, value) => {
    known.delete(key);
    known.set(key, value);
  };
  if (spec.layout) keep(spec.layout_key, JSON.stringify(spec.layout));
  spec.data.forEach((trace, i) => trace !== null && keep(spec.data_keys[i], decodeArrays(trace)));
  // Least recently used first: a part this one reuses (null) was refreshed by recall, so a
  // trace that never changes (the output map's points) stays however many frames go by.
  [spec.layout_key, ...spec.data_keys].forEach((key) => known.has(key) && keep(key, known.get(key)));
  const kept = Math.max(PARTS_KEPT, PARTS_PER_TRACE * (spec.data_keys.length + 1));
  while (known.size > kept) known.delete(known.keys().next().value);
}

// Typed-array specs ({dtype, bdata, shape?}: how frames carry NumPy arrays) decoded once, on
// arrival: Plotly decodes a spec anew on every draw, and a new array is a changed one to
// Plotly.react, so an unchanged trace would be recalculated and replotted each frame.
const ARRAY_TYPES = {
  i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
  i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array,
};

function decodeArrays(value) {
  if (Array.isArray(value)) return value.map(decodeArrays);
  if (value === null || typeof value !== "object") return value;
  if (typeof value.bdata === "string" && ARRAY_TYPES[value.dtype]) return typedArray(value);
  for (const key of Object.keys(value)) value[key] = decodeArrays(value[key]);
  return value;
}

function typedArray(spec) {
  const bytes = Uint8Array.from(atob(spec.bdata), (c) => c.charCodeAt(0));
  const flat = new ARRAY_TYPES[spec.dtype](bytes.buffer);
  if (!spec.shape) return flat;
  const [rows, cols] = String(spec.shape).split(",").map(Number);
  return Array.from({ length: rows }, (_, r) => flat.subarray(r * cols, (r + 1) * cols));
}

function recall(spec, key) {
  const value = (layouts.get(spec.id) || new Map()).get(key);
  if (value === undefined) throw new Error(`part ${key} of ${spec.id} never arrived`);
  return value;
}

// Plotly.react replots every trace and axis of a chart whose layout.template is a new object,
// even an equal one: the chart keeps the object while its content stays the same.
function keepTemplate(view, layout) {
  if (!layout.template) return;
  const text = JSON.stringify(layout.template);
  if (view.templateText === text) layout.template = view.template;
  else [view.templateText, view.template] = [text, layout.template];
}

async function drawChart(Plotly, view, part) {
  const spec = part.chart;
  const layout = JSON.parse(recall(spec, spec.layout_key)); // fresh: Plotly writes ranges in it
  layout.uirevision = `${part.uirevision}:${spec.id}`;
  const data = spec.data.map((trace, i) => (trace === null ? recall(spec, spec.data_keys[i]) : trace));
  const shape = JSON.stringify({ ...layout, images: (layout.images || []).map(withoutSource) });
  const drawn = view.drawn;
  view.drawn = null; // until this part is drawn
  if (!view.broken && drawn && drawn.shape === shape && sameTraces(drawn.data, data) && swapImages(view.div, layout)) {
    stats.swapped += 1;
  } else {
    keepTemplate(view, layout);
    await drawWhole(Plotly, view, data, layout);
  }
  view.drawn = { shape, data };
}

async function drawWhole(Plotly, view, data, layout) {
  if (view.broken) {
    Plotly.purge(view.div); // drops its listeners too
    view.broken = false;
    view.clicks = false;
    await Plotly.newPlot(view.div, data, layout, CONFIG);
  } else {
    await Plotly.react(view.div, data, layout, CONFIG);
  }
}

function withoutSource(image) {
  const { source, ...rest } = image;
  return rest;
}

function sameTraces(before, now) {
  return before.length === now.length && before.every((trace, i) => trace === now[i]);
}

// A part whose traces and layout are those drawn before, but for the sources of its layout
// images (the output map's background while training), swaps the images in place as Plotly
// draws them (the <image> element's href, and the source in the graph's layouts, so that a zoom
// or the next Plotly.react draws the new one), without Plotly.react's pass over the whole
// chart (defaults, axes, every trace). False, with nothing changed, where that cannot be done.
const XLINK = "http://www.w3.org/1999/xlink";

function swapImages(div, layout) {
  const full = div._fullLayout;
  const given = (div.layout || {}).images || [];
  const images = layout.images || [];
  if (!full || (full.images || []).length !== images.length || given.length !== images.length) return false;
  const shown = [...div.querySelectorAll("image")];
  const changes = [];
  for (const [i, image] of images.entries()) {
    if (image.source === given[i].source) continue;
    const element = shown.find((el) => el.__data__ === full.images[i]);
    if (!element || !String(image.source).startsWith("data:")) return false;
    changes.push([i, element, image.source]);
  }
  for (const [i, element, source] of changes) {
    element.setAttributeNS(XLINK, "href", source);
    element._imgSrc = source; // what Plotly compares before it sets the href again
    full.images[i].source = given[i].source = source;
  }
  return true;
}

async function drawLatest(view) {
  if (view.drawing) return;
  view.drawing = true;
  try {
    while (view.latest && view.latest.frame > view.drawnFrame) {
      const part = view.latest;
      try {
        const Plotly = await loadPlotly(part.plotly_url);
        const started = performance.now();
        await drawChart(Plotly, view, part);
        listenForClicks(view);
        stats.chartMs[part.chart.id] = (stats.chartMs[part.chart.id] || 0) + performance.now() - started;
        view.okFrame = part.frame;
        stats.drawn += 1;
      } catch (err) {
        view.broken = true; // purged and drawn whole next time
        stats.failed += 1;
        console.warn("live view: chart failed to draw", part.chart.id, err);
      }
      view.drawnFrame = part.frame;
      view.div.dataset.frame = String(part.frame);
      const waiters = view.waiters;
      view.waiters = [];
      waiters.forEach((resolve) => resolve());
    }
  } finally {
    view.drawing = false;
  }
}

// The tag a clicked point sends: its trace's meta.pick.tag, each of meta.pick.fields read from
// the point's customdata (a column of its row, or the value itself for one column); null for
// a point without one, or with a field that is not an index (a whole number >= 0).
function pickOf(point) {
  const pick = point && point.data && point.data.meta && point.data.meta.pick;
  if (!pick || !pick.tag) return null;
  const row = point.customdata;
  const tag = { ...pick.tag };
  for (const [name, column] of Object.entries(pick.fields || {})) {
    const value = Number(row !== null && typeof row === "object" ? row[column] : row);
    if (!Number.isInteger(value) || value < 0) return null;
    tag[name] = value;
  }
  return tag;
}

// Once per drawn graph (Plotly.on needs a drawn div; a purge drops the listener): a click on a
// tagged point sends its tag through the newest entry call's setTriggerValue, nothing else.
function listenForClicks(view) {
  if (view.clicks || typeof view.div.on !== "function") return;
  view.clicks = true;
  view.div.on("plotly_click", (event) => {
    const tag = ((event && event.points) || []).map(pickOf).find(Boolean);
    if (tag && view.setTrigger) view.setTrigger("clicked", tag);
  });
}

// Resolves when chart `id` has mounted (false after MEMBER_WAIT_MS).
function chartMounted(id) {
  if (charts.has(id)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), MEMBER_WAIT_MS);
    if (!arrivals.has(id)) arrivals.set(id, []);
    arrivals.get(id).push(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// Resolves when chart `id` has drawn frame `frame` (or later): true if it drew it without error.
async function chartDrawn(id, frame) {
  if (!(await chartMounted(id))) return false;
  const view = charts.get(id);
  const done = () => view.drawnFrame >= frame;
  const settle = () => view.okFrame >= frame;
  if (done()) return Promise.resolve(settle());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), MEMBER_WAIT_MS);
    const check = () => {
      if (done()) {
        clearTimeout(timer);
        resolve(settle());
      } else {
        view.waiters.push(check);
      }
    };
    view.waiters.push(check);
  });
}

// --- the driver: acks -----------------------------------------------------------------------

function driverView(parent) {
  let view = parent.__bpDriver;
  if (!view) {
    view = {
      parent,
      latest: null, // newest frame head received
      waiting: null, // id of the frame acked and not yet answered
      ackedAt: -Infinity,
      ackTimer: null,
      watchdog: null,
      hiddenAck: null, // an ack held back while the tab is hidden
      repairs: 0, // whole frames asked for since the last frame drawn without error
      drawnId: 0, // newest frame id drawn, Streamlit or fast: what an ack names
      slowAt: -Infinity, // when the newest Streamlit frame arrived
      pace: 0, // seconds between acks the newest fast frame asked for (a loaded server)
      setTrigger: null,
    };
    parent.__bpDriver = view;
    drivers.add(view);
  }
  return view;
}

function clearTimers(view) {
  clearTimeout(view.ackTimer);
  clearTimeout(view.watchdog);
  view.ackTimer = view.watchdog = null;
}

async function closeFrame(view, frame) {
  const arrived = performance.now();
  view.slowAt = arrived;
  if (view.waiting !== null && frame.answers >= view.waiting) stats.waitMs += arrived - view.ackedAt;
  const drawn = await Promise.all(frame.members.map((id) => chartDrawn(id, frame.id)));
  if (view.latest !== frame) return; // a newer frame decides
  stats.drawMs += performance.now() - arrived;
  stats.frames += 1;
  view.drawnId = frame.id; // a new server session counts from 1 again
  window.__bpLiveviewFrame = frame.id;
  afterDraw(view, frame, drawn.every(Boolean));
}

function afterDraw(view, frame, ok) {
  if (ok) view.repairs = 0;
  if (!frame.running) {
    clearTimers(view);
    view.waiting = view.hiddenAck = null;
    // Paused: ask again only to repair a chart that failed (a whole frame), and not forever.
    if (!ok && view.repairs < MAX_REPAIRS) {
      view.repairs += 1;
      view.ackTimer = setTimeout(() => sendAck(view, frame, ok), 1000 * frame.min_interval);
    }
    return;
  }
  if (view.waiting !== null && frame.answers < view.waiting && ok) return; // not our answer
  clearTimers(view);
  const interval = Math.max(frame.min_interval, view.pace); // the server's pace, if slower
  const wait = Math.max(0, view.ackedAt + 1000 * interval - performance.now());
  const fast = ok && frame.fast_url && performance.now() - view.slowAt < 1000 * frame.slow_interval;
  view.ackTimer = setTimeout(() => (fast ? fastFrame(view, frame) : sendAck(view, frame, ok)), wait);
}

// One fast frame: the ack travels on the frame socket (or as a fetch), the answer is drawn
// here (its chart parts into their charts, its metric texts into the metrics). Anything but a
// good answer, or a Streamlit frame due, goes back to a Streamlit ack.
async function fastFrame(view, frame) {
  view.ackTimer = null;
  if (!ready(view, frame, true)) return;
  view.ackedAt = performance.now();
  const answer = await askFrame(frame.fast_url, frame.session, view.drawnId);
  if (view.latest !== frame) {
    // A Streamlit frame arrived meanwhile: it decides, but the server counts these parts sent.
    if (answer && Array.isArray(answer.parts)) answer.parts.forEach((part) => remember(part.chart));
    return;
  }
  if (answer && answer.lost) {
    reloadLostPage();
    return;
  }
  if (answer && answer.unreachable) {
    // Ask again in a while: the process may come back (a fragment ack would be lost there).
    view.ackTimer = setTimeout(() => fastFrame(view, frame), UNREACHABLE_RETRY_MS);
    return;
  }
  if (!answer || answer.slow || !Array.isArray(answer.parts)) {
    sendAck(view, frame, true);
    return;
  }
  stats.waitMs += performance.now() - view.ackedAt;
  const arrived = performance.now();
  const drawn = await Promise.all(answer.parts.map(drawFastPart));
  if (view.latest !== frame) return; // a Streamlit frame came while drawing: its texts are newer
  showMetrics(answer.metrics || {});
  (answer.tables || []).forEach(showTable);
  stats.drawMs += performance.now() - arrived;
  stats.fast += 1;
  stats.frames += 1;
  view.drawnId = answer.id;
  view.pace = Math.min(Number(answer.wait) || 0, frame.watchdog);
  const seen = window.__bpLiveSession;
  if (seen && seen.token === frame.session) seen.trained = true; // it trained: a loss to report
  window.__bpLiveviewFrame = answer.id;
  afterDraw(view, frame, drawn.every(Boolean));
}

// The answer; {unreachable: true} when the server cannot be reached (its process died: the
// proxy says 502 to 504, or the connection fails); null for anything else that failed.
function askFrame(url, session, drawn) {
  const query = new URLSearchParams({ view: session, drawn: String(drawn) }).toString();
  return frameSocket.usable ? frameSocket.ask(url, query) : fetchQuery(url, query);
}

async function fetchQuery(url, query) {
  stats.fetched += 1;
  try {
    const response = await fetch(`${url}?${query}`, { cache: "no-store", credentials: "same-origin" });
    if (response.status >= 502 && response.status <= 504) return { unreachable: true };
    return response.ok ? await response.json() : null;
  } catch (err) {
    return { unreachable: true };
  }
}

// The WebSocket that carries fast frames: opened on the first ask and kept; the server answers
// its messages in order. A socket that closes after answering fails the asks it had
// (unreachable: its process went away; the next ask opens another). One that closes having
// answered nothing (it never opened, or a proxy closed it) hands them to fetch, and if a fetch
// then answers, this page asks by fetch from then on.
const frameSocket = {
  usable: typeof WebSocket === "function",
  socket: null,
  waiting: [], // {query, resolve, url} in the order sent (or to send on opening)
  answered: false, // the current socket answered at least once

  ask(url, query) {
    return new Promise((resolve) => {
      this.waiting.push({ query, resolve, url });
      if (!this.socket) this.open(url);
      else if (this.socket.readyState === WebSocket.OPEN) this.socket.send(query);
    });
  },

  open(url) {
    const address = new URL(url, window.location.href);
    address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
    const socket = (this.socket = new WebSocket(address.href));
    this.answered = false;
    socket.onopen = () => this.waiting.forEach((entry) => socket.send(entry.query));
    socket.onmessage = (event) => {
      const entry = this.waiting.shift();
      if (!entry) return;
      this.answered = true;
      stats.socket += 1;
      try {
        entry.resolve(JSON.parse(event.data));
      } catch (err) {
        entry.resolve(null);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      const failed = this.waiting;
      this.socket = null;
      this.waiting = [];
      const unreachable = (entry) => entry.resolve({ unreachable: true });
      failed.forEach((entry) => (this.answered ? unreachable(entry) : this.fallBack(entry)));
    };
  },

  async fallBack(entry) {
    const answer = await fetchQuery(entry.url, entry.query);
    if (answer && !answer.unreachable) this.usable = false; // fetch works where sockets do not
    entry.resolve(answer);
  },
};

// The page's server session is gone (the process restarted, or the session expired), and a
// fragment rerun would reach no fragment there: reload the page (its link holds the
// settings), remembering what it had, so that the new session can say what happened.
function reloadLostPage() {
  const seen = window.__bpLiveSession;
  if (seen) sessionStorage.setItem(LOST_KEY, JSON.stringify(seen));
  window.location.reload();
}

// A fast frame's chart part goes to the chart's view as if its element had sent it.
function drawFastPart(part) {
  const view = charts.get(part.chart.id);
  if (!view) return Promise.resolve(false);
  remember(part.chart);
  if (view.latest && !view.latest.fast) view.replaced = view.latest.frame; // see the entry
  part.fast = true;
  view.latest = part;
  drawLatest(view);
  return chartDrawn(part.chart.id, part.frame);
}

// The metrics (st.metric elements, by label) and the marked spans (data-bp-text, by key) show
// the fast frame's texts. The text node Streamlit's React drew is changed in place, so its
// next render (newer figures) writes over ours.
function showMetrics(texts) {
  for (const span of document.querySelectorAll("[data-bp-text]")) {
    const text = texts[span.dataset.bpText];
    if (text !== undefined) setText(span, text);
  }
  for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = metric.querySelector('[data-testid="stMetricLabel"]');
    const value = metric.querySelector('[data-testid="stMetricValue"]');
    const text = label && texts[label.textContent.trim()];
    if (text !== undefined && value) setText(value, text);
  }
}

// A table (st.table) whose header is the answer's columns shows its cells.
function showTable(columns) {
  const names = Object.keys(columns);
  for (const table of document.querySelectorAll('[data-testid="stTable"] table')) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    if (heads.join("\u0000") !== names.join("\u0000")) continue;
    table.querySelectorAll("tbody tr").forEach((row, r) => {
      [...row.querySelectorAll("th, td")].forEach((cell, c) => {
        const text = (columns[names[c]] || [])[r];
        if (text !== undefined) setText(cell, String(text));
      });
    });
  }
}

// The element's first text node says `text` (changed in place: React keeps that node).
function setText(element, text) {
  const node = document.createTreeWalker(element, NodeFilter.SHOW_TEXT).nextNode();
  if (node && node.nodeValue !== text) node.nodeValue = text;
}

// Whether the driver may ack `frame` now; a hidden tab holds the ack back until it shows.
function ready(view, frame, ok) {
  if (view.latest !== frame || !view.setTrigger) return false; // a newer frame decides
  if (!view.parent.isConnected) {
    clearTimers(view);
    drivers.delete(view);
    return false;
  }
  if (document.hidden) {
    view.hiddenAck = { frame, ok }; // the server rests until the tab shows again
    return false;
  }
  return true;
}

function sendAck(view, frame, ok) {
  view.ackTimer = null;
  if (!ready(view, frame, ok)) return;
  const id = Math.max(frame.id, view.drawnId); // after fast frames, the newest of them
  view.waiting = id;
  view.ackedAt = performance.now();
  stats.acks += 1;
  view.setTrigger("drawn", { frame: id, ok });
  // A lost answer must not stop the loop: ack the newest frame again (the server takes each
  // ack once, so a repeat never trains twice).
  if (frame.running) {
    view.watchdog = setTimeout(() => {
      if (view.latest && view.latest.running) sendAck(view, view.latest, ok);
    }, 1000 * frame.watchdog);
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  for (const view of drivers) {
    const held = view.hiddenAck;
    view.hiddenAck = null;
    if (held && view.latest === held.frame) sendAck(view, held.frame, held.ok);
  }
});

// A page that trained in one server session and now meets another lost its session: the
// server restarted (its process died and the page reconnected to another) or the session
// expired while the tab was away. The server is told once, so it can say so. A reload starts
// a new page (window is fresh), so it never reports, except the reload the live view made
// itself after a fast frame found the session lost (`reloadLostPage`).
function noteSession(part, setTriggerValue) {
  const lost = sessionStorage.getItem(LOST_KEY); // a page reloaded after its session was lost
  if (lost) sessionStorage.removeItem(LOST_KEY);
  const seen = window.__bpLiveSession || (lost && JSON.parse(lost));
  if (seen && seen.token !== part.session && seen.trained) {
    setTriggerValue("rejoined", { trained: true });
  }
  const same = seen && seen.token === part.session;
  window.__bpLiveSession = { token: part.session, trained: (same && seen.trained) || part.trained };
}

// --- entry ----------------------------------------------------------------------------------

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (data == null) return undefined;
  const part = decode(data);
  if (part.role === "chart") {
    const view = chartView(parentElement, part.chart.id);
    view.setTrigger = setTriggerValue;
    // Streamlit may hand the element its data again after fast frames replaced it: not new.
    const replayed = view.latest && view.latest.fast && part.frame === view.replaced;
    if (!replayed && view.latest && part.frame < view.latest.frame) view.drawnFrame = view.okFrame = 0; // a new count
    if (!replayed && (!view.latest || part.frame !== view.latest.frame)) {
      remember(part.chart);
      view.latest = part;
      drawLatest(view);
    }
    return () => {
      // Streamlit also calls this when a newer frame raced this call: forget only a chart
      // that left the page.
      if (!parentElement.isConnected && charts.get(part.chart.id) === view) {
        charts.delete(part.chart.id);
      }
    };
  }
  const view = driverView(parentElement);
  view.setTrigger = setTriggerValue;
  noteSession(part, setTriggerValue);
  if (!view.latest || part.id !== view.latest.id) {
    view.latest = part;
    closeFrame(view, part);
  }
  return () => {
    if (!parentElement.isConnected) {
      clearTimers(view);
      drivers.delete(view);
    }
  };
}
