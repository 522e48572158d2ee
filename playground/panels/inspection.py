"""Inside the network: one inspection view (gradients, activations, weights, update ratios; for
images also the confusion matrix and the first layer's weights), or "All" of them at once, each
updated in every frame that redraws the inspection charts. With several runs the gradient norms
and update ratios of every run share one chart (one colour per run); the other views show the
run the sidebar edits."""

from __future__ import annotations

import streamlit as st

from core.telemetry import Snapshot
from playground import charts
from playground.panels.common import plot
from playground.session import PlaygroundSession

CHART_KEYS = (  # every chart this panel draws, by its key on the page
    "gradients_chart",
    "gradient_heatmap_chart",
    "activations_chart",
    "weights_chart",
    "update_ratio_chart",
    "confusion_chart",
    "first_layer_chart",
)

VIEW_KEY = "inspect_view"  # the selected view, in st.session_state
FOCUS_KEY = "focus_shown"  # the config focus whose view was last selected


def _gradients(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    names = session.layer_names
    left, right = st.columns(2)
    with left:
        if runs is not None:
            fig = charts.run_layer_lines(
                runs, "grad_norm", marker_step=step, uirevision="gradients"
            )
            plot(fig, "gradients_chart", "run_gradients")
        else:
            fig = charts.gradient_norms(snap.history, names, marker_step=step)
            plot(fig, "gradients_chart", "gradients")
    with right:
        fig = charts.gradient_heatmap(snap.history, names, marker_step=step)
        plot(fig, "gradient_heatmap_chart", "gradient_heatmap")


def _activations(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    seen = session.inspected_at(step)
    if step is not None:
        st.caption(_recorded_at(seen.step, step))
    fig = charts.activation_distributions(seen.histograms, seen.layers, cols=4)
    plot(fig, "activations_chart", "activations")


def _recorded_at(recorded: int | None, step: int) -> str:
    if recorded is None:
        return f"No activations were recorded by step {step:,}."
    return f"The activations as recorded at step {recorded:,} (the last record by step {step:,})."


def _weights(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    fig = charts.weight_distributions(snap.history, session.layer_names, cols=4, marker_step=step)
    plot(fig, "weights_chart", "weights")


def _update_ratio(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    if runs is not None:
        fig = charts.run_layer_lines(
            runs, "update_ratio", marker_step=step, uirevision="update_ratio"
        )
        plot(fig, "update_ratio_chart", "run_update_ratio")
        return
    fig = charts.update_ratios(snap.history, session.layer_names, marker_step=step)
    plot(fig, "update_ratio_chart", "update_ratio")


def _confusion(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    dataset = session.dataset
    classes = session.test_classes(step=step)
    fig = charts.confusion_matrix(dataset.y_test, classes, dataset.class_names)
    plot(fig, "confusion_chart", "confusion")


def _first_layer(session: PlaygroundSession, snap: Snapshot, runs=None, step=None) -> None:
    first = session.first_layer_weights(step)
    fig = charts.first_layer_weights(first, session.dataset.image_shape)
    plot(fig, "first_layer_chart", "first_layer")


VIEWS = {  # every dataset
    "Gradients": _gradients,
    "Activations": _activations,
    "Weights": _weights,
    "Update ratio": _update_ratio,
}
IMAGE_ONLY = {"Confusion": _confusion, "First layer": _first_layer}  # image datasets
INSPECT_VIEWS, IMAGE_VIEWS = tuple(VIEWS), tuple(IMAGE_ONLY)
ALL = "All"  # every view at once, one after the other
RUN_SIDEBAR_VIEWS = ("Activations", "Weights", *IMAGE_ONLY)  # with runs: the run edited only


def render(
    session: PlaygroundSession,
    runs: list[charts.RunCurves] | None = None,
    step: int | None = None,
) -> None:
    """One inspection view at a time. `runs`: every run's curves, for the views that overlay
    them; `step`: the step the time-travel slider shows (curves marked there, the activations
    as recorded then, confusion and first layer from the checkpoint)."""
    st.subheader("Inside the network")
    shown = VIEWS | (IMAGE_ONLY if session.dataset.image_shape is not None else {})
    names = (*shown, ALL)
    if st.session_state.get(VIEW_KEY) not in names:
        st.session_state[VIEW_KEY] = names[0]
    view = st.segmented_control("View", names, key=VIEW_KEY, label_visibility="collapsed")
    snap = session.trainer.snapshot(weights=False)
    if view != ALL:
        _draw_view(view or names[0], shown, session, snap, runs, step)
        return
    st.caption("Every view at once, each as it shows alone.")
    for name in shown:
        st.markdown(f"**{name}**")
        _draw_view(name, shown, session, snap, runs, step)


def _draw_view(name: str, shown: dict, session: PlaygroundSession, snap, runs, step) -> None:
    if runs is not None and name in RUN_SIDEBAR_VIEWS:
        st.caption(f"Run {session.selected}, the run the sidebar edits.")
    shown[name](session, snap, runs, step)


def select_focus(focus: str) -> bool:
    """True if the config names a focus chart (an inspection view, e.g. "update_ratio" for
    "Update ratio"). When the focus changes (a lesson is loaded), that view is selected once;
    the student may pick another view afterwards."""
    if st.session_state.get(FOCUS_KEY) != focus:
        st.session_state[FOCUS_KEY] = focus
        if focus:
            st.session_state[VIEW_KEY] = focus.replace("_", " ").capitalize()
    return bool(focus)
