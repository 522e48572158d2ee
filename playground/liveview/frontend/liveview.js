// The live view in the browser: draws each frame into persistent Plotly graphs with
// Plotly.react (uirevision keeps zoom, pan, hover and legend clicks), then acks the frame so
// the server trains and sends the next one. One ack outstanding at a time, at most one per
// frame's min_interval, none while paused or while the tab is hidden.
//
// A frame (JSON, sent as bytes): {id, answers, running, full, min_interval, watchdog,
// plotly_url, uirevision, order: [chart ids], charts: [{id, layout_key, data, layout?}]}.
// A chart left out of `charts` keeps its last drawing; a chart without `layout` reuses the
// layout of that key it received before (unknown key: the frame failed). Ack:
// setTriggerValue("drawn", {frame: id, ok}); ok=false asks the server for a whole frame.

const views = new Set(); // live views in this page (for the visibility listener)
let plotlyLoading = null;

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

function newView(parent) {
  const root = document.createElement("div");
  root.className = "bp-liveview";
  parent.appendChild(root);
  const view = {
    root,
    charts: new Map(), // id -> {div, layouts: key -> JSON, drawn, broken}
    latest: null, // newest frame received
    drawn: null, // newest frame drawn
    drawing: false,
    waiting: null, // id of the frame acked and not yet answered
    ackedAt: -Infinity,
    ackTimer: null,
    watchdog: null,
    hiddenAck: null, // an ack held back while the tab is hidden
    setTrigger: null,
  };
  root.__bpLiveview = view; // read by the browser tests
  views.add(view);
  window.__bpLiveviewStats = window.__bpLiveviewStats || { drawn: 0, failed: 0, acks: 0 };
  return view;
}

function chartDiv(view, id) {
  let chart = view.charts.get(id);
  if (!chart) {
    const div = document.createElement("div");
    div.className = "bp-liveview-chart";
    div.dataset.chart = id;
    chart = { div, layouts: new Map(), drawn: false, broken: false };
    view.charts.set(id, chart);
  }
  return chart;
}

function arrange(view, Plotly, order) {
  for (const [id, chart] of view.charts) {
    if (!order.includes(id)) {
      Plotly.purge(chart.div);
      chart.div.remove();
      view.charts.delete(id);
    }
  }
  order.forEach((id, i) => {
    const { div } = chartDiv(view, id);
    if (view.root.children[i] !== div) view.root.insertBefore(div, view.root.children[i] || null);
  });
}

const CONFIG = { displayModeBar: false, responsive: true };
const LAYOUTS_KEPT = 4; // recent layouts per chart, by key

async function drawChart(Plotly, view, spec, uirevision) {
  const chart = chartDiv(view, spec.id);
  if (spec.layout) {
    chart.layouts.delete(spec.layout_key);
    chart.layouts.set(spec.layout_key, JSON.stringify(spec.layout));
    if (chart.layouts.size > LAYOUTS_KEPT) chart.layouts.delete(chart.layouts.keys().next().value);
  }
  const kept = chart.layouts.get(spec.layout_key);
  if (kept === undefined) throw new Error(`layout ${spec.layout_key} of ${spec.id} never arrived`);
  const layout = JSON.parse(kept); // a fresh copy: Plotly writes computed ranges into it
  layout.uirevision = `${uirevision}:${spec.id}`;
  if (chart.broken) {
    Plotly.purge(chart.div);
    chart.broken = false;
    await Plotly.newPlot(chart.div, spec.data, layout, CONFIG);
  } else {
    await Plotly.react(chart.div, spec.data, layout, CONFIG);
  }
  chart.drawn = true;
}

// Draws the frame; returns false if a chart failed (it is purged and redrawn whole next time).
async function drawFrame(Plotly, view, frame) {
  arrange(view, Plotly, frame.order);
  let ok = true;
  for (const spec of frame.charts) {
    try {
      await drawChart(Plotly, view, spec, frame.uirevision);
    } catch (err) {
      ok = false;
      const chart = view.charts.get(spec.id);
      if (chart) chart.broken = true;
      window.__bpLiveviewStats.failed += 1;
      console.warn("live view: chart failed to draw", spec.id, err);
    }
  }
  for (const id of frame.order) {
    if (!view.charts.get(id).drawn) ok = false; // never drawn: ask for a whole frame
  }
  return ok;
}

async function drawLatest(view) {
  if (view.drawing) return;
  view.drawing = true;
  try {
    while (view.latest !== view.drawn) {
      const frame = view.latest;
      let ok;
      try {
        const Plotly = await loadPlotly(frame.plotly_url);
        ok = await drawFrame(Plotly, view, frame);
      } catch (err) {
        console.warn("live view: frame failed", err);
        ok = false;
      }
      view.drawn = frame;
      window.__bpLiveviewStats.drawn += 1;
      view.root.dataset.frame = String(frame.id);
      afterDraw(view, frame, ok);
    }
  } finally {
    view.drawing = false;
  }
}

function clearTimers(view) {
  clearTimeout(view.ackTimer);
  clearTimeout(view.watchdog);
  view.ackTimer = view.watchdog = null;
}

function afterDraw(view, frame, ok) {
  if (!frame.running) {
    clearTimers(view);
    view.waiting = view.hiddenAck = null;
    return;
  }
  if (view.waiting !== null && frame.answers < view.waiting && ok) return; // not our answer
  clearTimeout(view.watchdog);
  const wait = Math.max(0, view.ackedAt + 1000 * frame.min_interval - performance.now());
  clearTimeout(view.ackTimer);
  view.ackTimer = setTimeout(() => sendAck(view, frame, ok), wait);
}

function sendAck(view, frame, ok) {
  view.ackTimer = null;
  if (view.drawn !== frame || !view.setTrigger) return; // a newer frame decides
  if (document.hidden) {
    view.hiddenAck = { frame, ok }; // the server rests until the tab shows again
    return;
  }
  view.waiting = frame.id;
  view.ackedAt = performance.now();
  window.__bpLiveviewStats.acks += 1;
  view.setTrigger("drawn", { frame: frame.id, ok });
  // A lost answer must not stop the loop: ack the newest drawn frame again (the server
  // takes each ack once, so a repeat never trains twice).
  view.watchdog = setTimeout(() => {
    if (view.drawn && view.drawn.running) sendAck(view, view.drawn, ok);
  }, 1000 * frame.watchdog);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  for (const view of views) {
    const held = view.hiddenAck;
    view.hiddenAck = null;
    if (held && view.drawn === held.frame) sendAck(view, held.frame, held.ok);
  }
});

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let view = parentElement.__bpLiveview;
  if (!view) {
    view = newView(parentElement);
    parentElement.__bpLiveview = view;
  }
  view.setTrigger = setTriggerValue;
  if (data != null) {
    const frame = decode(data);
    if (!view.latest || frame.id !== view.latest.id) {
      view.latest = frame;
      drawLatest(view);
    }
  }
  return () => {
    clearTimers(view);
    views.delete(view);
  };
}
