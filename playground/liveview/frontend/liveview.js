// The live view in the browser. Chart elements draw their part of each frame into a
// persistent Plotly graph with Plotly.react (uirevision keeps zoom, pan, hover and legend
// clicks); the driver element, mounted after them, acks the frame once all its charts are
// drawn, so the server trains and sends the next one. One ack outstanding at a time, at most
// one per min_interval, none while paused or while the tab is hidden.
//
// Chart part:  {role: "chart", frame, uirevision, plotly_url, live?,
//               chart: {id, layout_key, layout?, data_keys, data}}
//   live: drawn while training, so it may be a light redraw (see lightPlan)
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
  parts: {}, // per chart: parts drawn (whole, light or by swapping images)
  swapped: 0, // chart parts drawn by swapping layout images alone (see swapImages)
  light: {}, // per chart: parts drawn by a light redraw (see lightPlan), not by Plotly
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
    view.wholeAt = -Infinity; // when Plotly last drew the chart whole
    view.light = false; // the chart shows a light redraw (Plotly's data are older)
    view.pointer = false; // the pointer is over the chart: draw whole (hover, clicks, zoom)
    view.redraw = false; // draw the newest part again, whole (it was drawn light)
    div.addEventListener("pointerenter", () => {
      view.pointer = true;
      view.redraw = view.light; // hover and clicks must find what the chart shows
      drawLatest(view);
    });
    div.addEventListener("pointerleave", () => (view.pointer = false));
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
  const text = atob(spec.bdata);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i); // (from() calls back per byte)
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

async function drawChart(Plotly, view, part, whole = false) {
  const spec = part.chart;
  const layout = JSON.parse(recall(spec, spec.layout_key)); // fresh: Plotly writes ranges in it
  layout.uirevision = `${part.uirevision}:${spec.id}`;
  const data = spec.data.map((trace, i) => (trace === null ? recall(spec, spec.data_keys[i]) : trace));
  const shape = JSON.stringify({ ...layout, images: (layout.images || []).map(withoutSource) });
  const drawn = view.drawn;
  view.drawn = null; // until this part is drawn
  const same = !whole && !view.broken && drawn && drawn.shape === shape;
  const plan = same && (sameTraces(drawn.data, data) ? [] : lightPlan(view, part, drawn.data, data));
  if (plan && swapImages(view.div, layout)) {
    plan.forEach((redraw) => redraw());
    if (plan.length) {
      view.light = true;
      stats.light[spec.id] = (stats.light[spec.id] || 0) + 1;
    } else {
      stats.swapped += 1;
    }
  } else {
    keepTemplate(view, layout);
    await drawWhole(Plotly, view, data, layout);
    view.wholeAt = performance.now();
    view.light = view.redraw = false; // (a redraw asked for meanwhile is done)
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

// --- light redraws -----------------------------------------------------------------------------
// While training (a live part), a chart whose layout is the one drawn and whose traces changed
// only in their points is redrawn without Plotly (whose replot costs 20-40 ms a chart): each
// line trace's <path> is written anew through the graph's axes (one "M x,y L x,y ..." subpath
// per run of finite points, x -> xaxis.c2p(x), as Plotly draws a linear line), each marker
// trace's fills from its colorscale (its points where they were). Plotly's own data stay those
// of the last whole draw, so the chart is drawn whole instead while the pointer is over it
// (hover and clicks read those data; the pointer's arrival redraws it whole: view.redraw),
// when an autoranged axis no longer holds the points, and once REFIT_MS have gone by since the
// last whole draw (the axes re-fit their data).
const REFIT_MS = 10000;
const POINT_KEYS = new Set(["x", "y", "customdata", "text", "hovertext"]);
const MARKER_POINT_KEYS = new Set(["color", "cmin", "cmax"]);
const styles = new WeakMap(); // trace -> its JSON without its points

// The redraws (functions) that draw `now` over `before` (trace lists of the drawn layout), or
// null where a light redraw will not do.
function lightPlan(view, part, before, now) {
  const div = view.div;
  if (!part.live || view.pointer || performance.now() - view.wholeAt > REFIT_MS) return null;
  const full = div._fullData;
  if (!full || full.length !== now.length || before.length !== now.length || !div._fullLayout) return null;
  const groups = traceGroups(div);
  const plan = [];
  for (const [i, trace] of now.entries()) {
    if (trace === before[i]) continue;
    if (!full[i] || full[i].index !== i || traceStyle(trace) !== traceStyle(before[i])) return null;
    const redraw = lightTrace(div, full[i], groups.get(i), before[i], trace);
    if (!redraw) return null;
    plan.push(redraw);
  }
  return plan;
}

function traceStyle(trace) {
  if (!styles.has(trace)) {
    const text = JSON.stringify(trace, function (key, value) {
      if (this === trace && POINT_KEYS.has(key)) return undefined;
      if (this === trace.marker && MARKER_POINT_KEYS.has(key)) return undefined;
      return value;
    });
    styles.set(trace, text);
  }
  return styles.get(trace);
}

// Trace index -> the <g class="trace"> Plotly drew it in.
function traceGroups(div) {
  const groups = new Map();
  for (const group of div.querySelectorAll("g.trace.scatter")) {
    const data = group.__data__;
    const trace = Array.isArray(data) && data[0] && data[0].trace;
    if (trace) groups.set(trace.index, group);
  }
  return groups;
}

function lightTrace(div, full, group, before, trace) {
  if (full.type !== "scatter") return null;
  if (full.mode === "none" || full.visible === "legendonly") return () => {}; // nothing drawn
  if (full.visible === false) return null;
  if (!group) return null;
  const xa = div._fullLayout[axisName(full.xaxis)];
  const ya = div._fullLayout[axisName(full.yaxis)];
  if (!xa || !ya) return null;
  if (full.mode === "lines") return lightLines(full, group, xa, ya, trace);
  if (full.mode === "markers") return lightMarkers(full, group, before, trace);
  return null;
}

function axisName(id) {
  return `${id[0]}axis${id.slice(1)}`; // "x" -> "xaxis", "y2" -> "yaxis2"
}

function lightLines(full, group, xa, ya, trace) {
  const paths = group.querySelectorAll("path.js-line");
  const { x, y } = trace;
  const plain = (full.fill || "none") === "none" && full.line.shape === "linear" && !full.connectgaps;
  if (!plain || !paths.length || !x || !y || x.length !== y.length) return null;
  if (!holds(xa, x) || !holds(ya, y)) return null;
  const d = linePath(xa, ya, x, y);
  return () => {
    paths.forEach((path, k) => path.setAttribute("d", k ? "" : d));
  };
}

// Whether an axis holds every value: an autoranged axis must already span them (else Plotly
// re-fits it); a fixed or zoomed one clips what falls outside.
function holds(axis, values) {
  if (!axis.autorange) return true;
  const lo = Math.min(...axis.range);
  const hi = Math.max(...axis.range);
  for (const value of values) {
    const at = axis.c2l(value);
    if (Number.isFinite(at) && (at < lo || at > hi)) return false;
  }
  return true;
}

function linePath(xa, ya, x, y) {
  const parts = [];
  let open = false;
  for (let k = 0; k < x.length; k++) {
    const px = xa.c2p(x[k]);
    const py = ya.c2p(y[k]);
    if (!Number.isFinite(px) || !Number.isFinite(py)) {
      open = false;
      continue;
    }
    parts.push(`${open ? "L" : "M"}${px.toFixed(2)},${py.toFixed(2)}`);
    open = true;
  }
  return parts.join("");
}

function lightMarkers(full, group, before, trace) {
  const marker = trace.marker || {};
  const scale = full.marker && full.marker.colorscale;
  const colors = marker.color;
  const points = group.querySelectorAll("path.point");
  const n = trace.y ? trace.y.length : 0;
  const fixed = sameValues(before.x, trace.x) && sameValues(before.y, trace.y);
  const ok = fixed && Array.isArray(scale) && colors && colors.length === n && points.length === n;
  if (!ok || full.marker.showscale || !Number.isFinite(marker.cmin) || !Number.isFinite(marker.cmax)) return null;
  const fills = Array.from(colors, (value) => colorAt(scale, (value - marker.cmin) / (marker.cmax - marker.cmin)));
  if (fills.includes(null)) return null;
  return () => points.forEach((point, k) => (point.style.fill = fills[k]));
}

function sameValues(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

// The colour at t in [0, 1] of a colorscale [[stop, colour], ...], interpolated in RGB.
function colorAt(scale, t) {
  if (!Number.isFinite(t)) return null;
  const at = Math.min(1, Math.max(0, t));
  let k = 1;
  while (k < scale.length - 1 && scale[k][0] < at) k++;
  const [s0, c0] = scale[k - 1];
  const [s1, c1] = scale[k];
  const a = rgbOf(c0);
  const b = rgbOf(c1);
  if (!a || !b) return null;
  const f = s1 > s0 ? (at - s0) / (s1 - s0) : 0;
  const mix = a.map((v, i) => Math.round(v + f * (b[i] - v)));
  return `rgb(${mix.join(", ")})`;
}

function rgbOf(color) {
  const text = String(color).trim();
  const hex = /^#([0-9a-f]{6})$/i.exec(text);
  if (hex) return [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16));
  const rgb = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)/i.exec(text);
  return rgb ? rgb.slice(1, 4).map(Number) : null;
}

async function drawLatest(view) {
  if (view.drawing) return;
  view.drawing = true;
  try {
    while (view.latest && (view.latest.frame > view.drawnFrame || view.redraw)) {
      const part = view.latest;
      const whole = view.redraw; // asked for again, whole (the pointer came over a light redraw)
      view.redraw = false;
      try {
        const Plotly = await loadPlotly(part.plotly_url);
        const started = performance.now();
        await drawChart(Plotly, view, part, whole);
        listenForClicks(view);
        stats.chartMs[part.chart.id] = (stats.chartMs[part.chart.id] || 0) + performance.now() - started;
        view.okFrame = part.frame;
        stats.drawn += 1;
        stats.parts[part.chart.id] = (stats.parts[part.chart.id] || 0) + 1;
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
