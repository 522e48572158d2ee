"""The live loop: one fragment that trains and draws a frame of the main area's panels.

The fragment draws every live chart through the closed-loop live view (playground.liveview):
the browser asks for the next frame only when it has drawn the last one (its ack reruns this
fragment alone), so the rate adapts to the server and the network and no run is started that
would be thrown away. Each ack trains for the load-adaptive budget (`pacing.train_budget`).
The run buttons live outside the fragment (`panels.run_buttons`).
"""

from __future__ import annotations

import functools

import streamlit as st

from playground import liveview, pacing
from playground.liveview import fast
from playground.panels import (
    doctor,
    inspection,
    loss,
    metrics,
    microscope,
    network,
    output,
    picks,
    runs,
    weights,
)
from playground.session import PlaygroundSession

LIVE_VIEW = "live_view"  # the live view's key (its driver element and its loop)
# Without fast frames, the inspection charts redraw in one frame out of this many; with them,
# in every Streamlit frame (one per pacing.SLOW_FRAME_INTERVAL).
INSPECTION_CADENCE = 2
# Fast frames redraw the output maps in each, and these charts (by key, or key prefix before
# "_<run>") in one out of so many. liveview.js redraws the curves and diagrams while training
# without Plotly (a light redraw: 8 and 15 ms of Chromium's CPU, against 42 and 56 for Plotly,
# tests.benchmarks.redraw_cost), which is still too much for every frame within the page's
# 0.6-core budget (app_live, alternated with one in 16: at 8, 2.3 redraws/s of each at 0.54
# core against 0.62; at 4, 4 redraws/s at 0.64).
FAST_CADENCE = {"loss_chart": 8, "network_chart": 8}
# With runs side by side a frame builds a diagram per run, and the server's CPU per frame is
# the limit (app_live "3-run compare": 4.7 [4.5-4.8] redraws/s at 16, 3.8 [3.3-3.8] at 4): the
# cadence of a loaded process (pacing.cadence: a class of 30 lost a sixth of its redraws at 4).
COMPARING_FAST_CADENCE = {key: pacing.cadence(n, True) for key, n in FAST_CADENCE.items()}
MAX_FRAME_TRAINING = 0.1  # seconds of training per frame at most (Pause waits for it)
TRAIN_SHARE = pacing.TRAIN_BUDGET / pacing.FAST_INTERVAL  # of the time between slow frames
INSPECTION_CHARTS = inspection.CHART_KEYS
SESSION_LOST = (
    "This tab lost its session on the server (the server restarted, or the tab was away too "
    "long), so training starts over: your settings came back from the link. To continue "
    'from a model you saved earlier, upload it under "Save, load and export".'
)


def render_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    """One fragment draws every live chart; the browser's acks rerun it (no timer)."""
    st.fragment(_live_panel)(session, hidden)
    runs.render_time_travel(session)  # while paused, below the charts so they do not move
    microscope.render(session)  # outside the frame: the next step, refreshed on each page run
    weights.render(session)  # outside the frame too: Set reruns the page


def _live_panel(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    with pacing.tick_slot(), session.lock:
        loop = liveview.loop_for(LIVE_VIEW)
        if loop.rejoined.take():
            session.notify("warning", SESSION_LOST, kind="session_lost")
            st.rerun()  # the notice sits above the live panel
        gap = loop.take_tick()
        if gap is not None and session.running and not train_frame(session, gap):
            st.rerun()  # early stopping or divergence ended the run
        with liveview.frame(
            LIVE_VIEW,
            running=session.running,
            trained=session.trainer.step_count > 0,
            uirevision=_revision(session),
            cadence={} if fast.served() else dict.fromkeys(INSPECTION_CHARTS, INSPECTION_CADENCE),
            lock=session.lock,
            train=functools.partial(train_frame, session),
            slow_interval=pacing.slow_frame_interval(),
            fast_cadence=COMPARING_FAST_CADENCE if session.comparing else FAST_CADENCE,
        ):
            _draw_panels(session, hidden)


def train_frame(session: PlaygroundSession, gap: float) -> bool:
    """Train for one frame (`gap`: seconds since the previous one); whether the run goes on
    (early stopping or divergence end it)."""
    if not session.running:
        return False
    with pacing.tick_timer(session):
        session.tick(frame_budget(pacing.train_budget(), gap))
    return session.running


def frame_budget(budget: float, gap: float) -> float:
    """Seconds to train for this frame: the load-adaptive `budget`, or, when the server has
    its full budget (it is not loaded) and frames come slowly (a slow browser or network),
    TRAIN_SHARE of the `gap` since the last frame, up to MAX_FRAME_TRAINING, so a slow
    laptop still trains at the rate of the old 0.12 s ticks."""
    if budget < pacing.TRAIN_BUDGET:
        return budget
    return min(MAX_FRAME_TRAINING, max(budget, TRAIN_SHARE * gap))


def _revision(session: PlaygroundSession) -> str:
    """Zoom and pan survive redraws until the network is replaced (reset, new settings)."""
    return str(id(session.trainer))


def _draw_panels(session: PlaygroundSession, hidden: tuple[str, ...]) -> None:
    """One run: as it always was. Several runs: their curves overlaid, their diagrams and maps
    side by side. An earlier step on the time-travel slider: the diagrams and maps as they
    were then, the curves marked at it."""
    step = runs.shown_step(session)
    snaps = session.snapshots() if session.comparing else None
    curves = runs.curves(session, snaps) if snaps else None
    views = session.run_views(step) if snaps or step is not None else None
    # The microscope's choice, marked on the selected run's diagram and map (not at an earlier
    # step: it looks at the next step of the network as it is now).
    looked_at = microscope.focus(session) if step is None else None
    focus = "charts" not in hidden and inspection.select_focus(session.config.focus)
    if focus:  # the lesson's key chart first: in view without scrolling
        inspection.render(session, curves, step)
    left, right = st.columns([5, 4], gap="medium")
    with right:
        snap = session.trainer.snapshot(weights=False)  # metrics and status draw no weights
        metrics.render(session, snap)
        if snaps:
            runs.render_status(session, snaps)
        else:
            metrics.render_status(snap)
            output.render(session, views, step, looked_at)
        loss.render(session, curves, step)
        doctor.render(session, snaps)
    with left:
        if views is None:
            network.render(session, looked_at)
        else:
            marks = {session.selected: network.highlight(looked_at)} if looked_at else {}
            live = session if step is None else None  # fast frames: the diagrams as they are
            runs.render_networks(views, step, picks.run_clicks(session), marks, live)
    if snaps:  # the maps side by side, the page's width
        output.render(session, views, step, looked_at)
    if "charts" not in hidden and not focus:
        inspection.render(session, curves, step)
