"""Runs side by side (issue 11): the runs table (what each run changes, how it was made, a
remove button), the warning when a comparison is not controlled, the time-travel slider with
"Branch from here", and inside the live frame each run's status, network diagram and figures.

The Compare button sits with the run buttons (`panels.run_buttons`), the "Edit run" choice at
the top of the sidebar (`panels.sidebar`). Runs are named "A".."D" and keep their colour
(`charts.run_color`) on every chart.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import streamlit as st

from core.optimizers import OPTIMIZER_CLASSES
from playground import charts, liveview
from playground import widget_state as W
from playground.panels import network
from playground.panels.common import escape, fmt, plot
from playground.session import PlaygroundSession, RunView

TIME_KEY = "time_step"  # the step the slider shows, in st.session_state
NEWEST_KEY = "time_step_newest"  # the newest checkpoint when the slider was last drawn
BRANCH_SETTING, BRANCH_VALUE = "branch_setting", "branch_value"
EDIT_KEY = "edit_run"  # the run the sidebar edits (its radio)
# What a branch may change: label -> (setting, how its value is chosen). A branch carries on
# from a checkpoint's weights, so it changes training settings, not the network's shapes.
BRANCH_SETTINGS = {
    "learning rate": ("learning_rate", "number"),
    "L2 penalty": ("l2", "number"),
    "L1 penalty": ("l1", "number"),
    "optimizer": ("training.optimizer.name", "optimizer"),
}


def _then_show_selected(session: PlaygroundSession, action):
    """A callback: `action`, then the sidebar's widgets show the selected run's settings (else
    the next page run would apply the old run's widgets to the new one)."""

    def callback(*args) -> None:
        action(*args)
        _show_selected(session, st.session_state)

    return callback


def show_run(session: PlaygroundSession, name: str, state: MutableMapping) -> None:
    """Let the sidebar edit run `name`, its widgets (in `state`) showing that run's settings."""
    session.select(name)
    _show_selected(session, state)


def _show_selected(session: PlaygroundSession, state: MutableMapping) -> None:
    for key, value in W.config_to_widgets(session.config).items():
        state[key] = value
    state[EDIT_KEY] = session.selected


def on_compare(session: PlaygroundSession):
    """The Compare button's action: a new run cloned from the selected one."""
    return _then_show_selected(session, session.compare)


def render_edit_choice(session: PlaygroundSession) -> None:
    """The sidebar's choice of the run it edits (shown with two runs or more)."""
    if not session.comparing:
        return
    st.session_state[EDIT_KEY] = session.selected
    st.radio(
        "Edit run",
        session.run_names,
        key=EDIT_KEY,
        horizontal=True,
        on_change=_then_show_selected(session, lambda: session.select(st.session_state[EDIT_KEY])),
        help="The settings below are this run's; a change applies to it alone.",
    )


def render(session: PlaygroundSession) -> None:
    """The runs table, above the live frame (only when comparing)."""
    if session.comparing:
        _runs_table(session)


def render_time_travel(session: PlaygroundSession) -> None:
    """The time-travel controls while paused, below the live frame: they come and go with
    Pause and Play without moving the charts."""
    _time_travel(session)


def _runs_table(session: PlaygroundSession) -> None:
    ref = session.runs[0].name
    rows = session.run_rows()
    st.table(
        {
            "Run": [r.name for r in rows],
            f"Differs from {ref}": [r.differences for r in rows],
            "Made as": [r.origin for r in rows],
        },
        hide_index=True,
    )
    cols = st.columns(len(rows) + 2)
    for col, row in zip(cols, rows, strict=False):
        col.button(
            f"Remove {row.name}",
            key=f"remove_run_{row.name}",
            type="tertiary",
            on_click=_then_show_selected(session, session.remove_run),
            args=(row.name,),
        )
    for line in session.warnings():
        st.warning(escape(line))


def shown_step(session: PlaygroundSession) -> int | None:
    """The earlier step the slider shows, or None to show the runs as they are now."""
    step = st.session_state.get(TIME_KEY)
    if session.running or step is None or session.trainer is None:
        return None
    if step == st.session_state.get(NEWEST_KEY):  # at the slider's end: now, however far on
        return None
    return step if step < session.trainer.step_count else None


def _time_travel(session: PlaygroundSession) -> None:
    steps = session.checkpoint_steps()
    if session.running or len(steps) < 2:
        st.session_state.pop(TIME_KEY, None)
        return
    shown = st.session_state.get(TIME_KEY)
    if shown not in steps or shown == st.session_state.get(NEWEST_KEY):
        st.session_state[TIME_KEY] = steps[-1]  # a slider at its end follows the newest step
    st.session_state[NEWEST_KEY] = steps[-1]
    with st.expander("Travel back in time", expanded=True):
        st.select_slider(
            "Show step",
            steps,
            key=TIME_KEY,
            format_func=lambda s: f"{s:,}",
            help="The steps with a checkpoint: the diagram and the output map show the runs as "
            "they were there; the curves are marked at it.",
        )
        step = st.session_state[TIME_KEY]
        run = session.selected
        left, mid, right = st.columns([2, 2, 2], vertical_alignment="bottom")
        label = left.selectbox("Branch changing", tuple(BRANCH_SETTINGS), key=BRANCH_SETTING)
        name, kind = BRANCH_SETTINGS[label]
        with mid:
            value = _branch_value(session, name, kind)
        right.button(
            "Branch from here",
            key="branch_from_here",
            on_click=_then_show_selected(session, _branch),
            args=(session, step, name, value),
            help=f"A new run from run {run}'s checkpoint at step {step:,} with this one setting "
            "changed; every run goes back to that step.",
        )


def _branch(session: PlaygroundSession, step: int, name: str, value) -> None:
    if session.branch(step, {name: value}):
        st.session_state.pop(TIME_KEY, None)


def _branch_value(session: PlaygroundSession, name: str, kind: str):
    """The value widget for the setting a branch changes (a learning rate: halved)."""
    tr = session.config.training
    key = f"{BRANCH_VALUE}_{name}_{session.selected}"
    if kind == "optimizer":
        names = tuple(OPTIMIZER_CLASSES)
        return st.selectbox("New value", names, index=names.index(tr.optimizer.name), key=key)
    now = tr.optimizer.learning_rate / 2 if name == "learning_rate" else 0.0
    now = now if name != "l2" else (tr.regularization.l2 or 1e-3)
    now = now if name != "l1" else (tr.regularization.l1 or 1e-4)
    return st.number_input("New value", min_value=0.0, value=float(now), format="%.6f", key=key)


# --- inside the live frame ------------------------------------------------------------------


def render_status(session: PlaygroundSession, snaps: dict) -> None:
    """Each run's losses in one line, and a run that stopped saying so alone."""
    st.table(status_rows(snaps), hide_index=True)
    liveview.table(lambda: status_rows(session.snapshots()))  # fast frames rewrite its cells
    for name, snap in snaps.items():
        if snap.divergence.diverged:
            st.error(f"Run {name} stopped alone: training diverged: {snap.divergence.reason}")
        es = snap.early_stopping
        if es.stopped:
            restored = " The best weights were restored." if es.restored else ""
            st.info(
                f"Run {name} stopped alone: early stopping at step {es.stopped_step}: "
                f"{es.reason}.{restored}"
            )


def status_rows(snaps: dict) -> dict[str, list[str]]:
    """The runs' status table, column -> cells: each run's step, losses and accuracy."""
    rows = {"Run": [], "Step": [], "Train loss": [], "Test loss": [], "Test accuracy": []}
    for name, snap in snaps.items():
        rows["Run"].append(name)
        rows["Step"].append(f"{snap.step:,}")
        rows["Train loss"].append(fmt(snap.train_loss))
        rows["Test loss"].append(fmt(snap.val_loss))
        acc = snap.val_accuracy
        rows["Test accuracy"].append("–" if acc is None else f"{acc:.1%}")
    return rows


def curves(session: PlaygroundSession, snaps: dict) -> list[charts.RunCurves]:
    """What the overlaid charts draw of each run."""
    out = []
    for run in session.runs:
        snap = snaps[run.name]
        stopped = None
        if snap.divergence.diverged:
            stopped = snap.divergence.step
        elif snap.early_stopping.stopped:
            stopped = snap.early_stopping.stopped_step
        names = session.run_layer_names(run.name)
        out.append(charts.RunCurves(run.name, snap.history, names, stopped, run.stop_reason))
    return out


def curves_now(session: PlaygroundSession) -> list[charts.RunCurves]:
    """What the overlaid charts draw of each run, as they are now (fast frames)."""
    return curves(session, session.snapshots())


def run_title(view: RunView, step: int | None, key: str) -> str:
    """The run's name and the step shown; now (no `step`), in a span fast frames rewrite
    (`key`)."""
    name = f"**:{charts.run_color_name(view.name)}[Run {view.name}]**"
    if step is not None:
        return f"{name} as it was at step {view.step:,}"
    return f"{name} at step {liveview.marked(key, f'{view.step:,}')}"


def render_networks(
    views: list[RunView],
    step: int | None,
    on_click=None,
    marks: dict | None = None,
    live: PlaygroundSession | None = None,
) -> None:
    """Each run's network diagram, two a row. `on_click`: run name -> the callback for
    clicks on that run's diagram (`picks.run_clicks`); `marks`: run name -> the microscope's
    `Highlight`, for the run it looks at; `live`: the session whose runs fast frames redraw
    as they are then (None: as shown)."""
    per_row = 1 if len(views) == 1 else 2
    for start in range(0, len(views), per_row):
        cols = st.columns(per_row)
        for col, view in zip(cols, views[start : start + per_row], strict=False):
            with col:
                _network(view, step, per_row, on_click, (marks or {}).get(view.name), live)


def _network(view: RunView, step, per_row: int, on_click, mark, live) -> None:
    """One run's diagram under its title (the step it shows, rewritten by fast frames)."""
    title = f"diagram step {view.name}"
    st.markdown(run_title(view, step, title), unsafe_allow_html=True)
    one = per_row == 1

    def figure(shown: RunView = view):
        return network.diagram(
            shown.weights,
            shown.layer_names,
            shown.dataset,
            shown.neuron_maps,
            shown.layer_activations,
            shown.frozen,
            height=440 if one else 360,
            uirevision=f"network_{shown.name}",
            highlight=mark,
        )

    again = None
    if live is not None:
        liveview.texts(lambda: {title: f"{live.run_step(view.name):,}"})
        again = lambda: figure(live.run_view(view.name))  # noqa: E731
    key = "network_chart" if one else f"network_chart_{view.name}"
    clicks = on_click and on_click(view.name)
    plot(figure(), key, "network" if one else "run_network", on_click=clicks, again=again)
