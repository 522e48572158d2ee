"""Lays out metrics, messages and figures. Thin: figures come from playground.charts."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.telemetry import Snapshot
from playground import charts, liveview
from playground.charts import CAPTIONS
from playground.session import PlaygroundSession

PLOT_CONFIG = {"displayModeBar": False, "responsive": True}
SAMPLE_IMAGES = 24  # test images shown with their predicted class
NOTICE_STYLE = {"info": st.info, "warning": st.warning, "error": st.error}


def _plot(fig, key: str, caption: str) -> None:
    if not liveview.plot(fig, key):  # outside the live view: an ordinary chart
        st.plotly_chart(fig, key=key, config=PLOT_CONFIG, theme=None)
    st.caption(CAPTIONS[caption])


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}g}"


def render_title(session: PlaygroundSession) -> None:
    if session.config.title:
        st.markdown(f"**{_escape(session.config.title)}**")
        st.caption(_escape(session.config.notes))


def _escape(text: str) -> str:
    """User-supplied text is shown as text, never as HTML or Markdown."""
    for ch in "\\`*_{}[]<>()#+-.!|~$":
        text = text.replace(ch, "\\" + ch)
    return text


def render_notices(session: PlaygroundSession) -> None:
    """Each message with a close button: it stays until dismissed or replaced by its kind."""
    for notice in list(session.notices):
        text, close = st.columns([14, 1], vertical_alignment="center")
        with text:
            NOTICE_STYLE.get(notice.level, st.info)(_escape(notice.text))
        close.button(
            "✕",
            key=f"dismiss_notice_{notice.id}",
            help="Dismiss this message",
            type="tertiary",
            on_click=session.dismiss,
            args=(notice.id,),
        )


def render_metrics(session: PlaygroundSession, snap: Snapshot) -> None:
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Steps", f"{snap.step:,}")
    top[1].metric("Epoch", f"{snap.epoch:,}")
    top[2].metric("Learning rate", f"{snap.learning_rate:.3g}")
    bottom[0].metric("Train loss", _fmt(snap.train_loss))
    bottom[1].metric("Test loss", _fmt(snap.val_loss))
    if snap.val_accuracy is not None:
        bottom[2].metric("Test accuracy", f"{snap.val_accuracy:.1%}")
    else:
        bottom[2].metric("Batch loss", _fmt(snap.batch_loss))
    measured = snap.eval_step
    if measured is not None and measured != snap.step:
        st.caption(
            f"Train and test figures measured at step {measured:,} (at each epoch end, and "
            "when you pause or step)."
        )
    if session.running and session.steps_per_second:
        st.caption(f"Training at about {session.steps_per_second:,.0f} steps per second.")


def render_run_status(snap: Snapshot) -> None:
    if snap.divergence.diverged:
        st.error(f"Training diverged: {snap.divergence.reason}")
    es = snap.early_stopping
    if es.stopped:
        restored = " The best weights were restored." if es.restored else ""
        st.info(f"Early stopping at step {es.stopped_step}: {es.reason}.{restored}")


def render_output(session: PlaygroundSession) -> None:
    dataset = session.dataset
    if dataset.image_shape is not None:
        _render_image_predictions(session)
        return
    if dataset.raw_dim is None:
        _render_tabular_predictions(session)
        return
    show_test = st.toggle("Show test data", key="show_test")
    discretize = st.toggle("Discretize output", key="discretize") if dataset.raw_dim == 2 else False
    out = session.output_map()
    fig = charts.output_figure(
        dataset,
        out.xs,
        out.values,
        out.ys,
        classes=out.classes,
        std=out.std,
        show_test=show_test,
        discretize=discretize,
    )
    _plot(fig, "output_chart", "output")


def _render_image_predictions(session: PlaygroundSession) -> None:
    dataset = session.dataset
    X, y = dataset.X_test[:SAMPLE_IMAGES], dataset.y_test[:SAMPLE_IMAGES]
    pred = session.test_classes(SAMPLE_IMAGES)
    fig = charts.sample_grid(X, y, pred, dataset.image_shape, dataset.class_names)
    _plot(fig, "samples_chart", "samples")


def _render_tabular_predictions(session: PlaygroundSession) -> None:
    """Tabular data has no input plane: a confusion matrix, or predicted vs true values."""
    dataset = session.dataset
    if dataset.task == "regression":
        fig = charts.predicted_vs_actual(dataset.y_test, session.test_predictions()[:, 0])
        _plot(fig, "predicted_chart", "predicted")
        return
    fig = charts.confusion_matrix(dataset.y_test, session.test_classes(), dataset.class_names)
    _plot(fig, "tabular_confusion_chart", "confusion")


def render_loss(session: PlaygroundSession) -> None:
    log_y = st.toggle("Log-scale loss", key="log_loss")
    snap = session.trainer.snapshot(weights=False)
    fig = charts.loss_curves(snap.history, snap.early_stopping, snap.divergence, log_y=log_y)
    _plot(fig, "loss_chart", "loss")


def render_network(session: PlaygroundSession) -> None:
    snap = session.trainer.snapshot()
    maps = session.neuron_maps()
    fig = charts.network_diagram(
        snap.weights,
        session.layer_names,
        session.dataset.feature_names,
        maps and maps.neurons,
        input_maps=maps and maps.inputs,
        activations=session.layer_activations,
    )
    _plot(fig, "network_chart", "network")


INSPECT_VIEWS = ("Gradients", "Activations", "Weights", "Update ratio")
INSPECT_VIEW_KEY = "inspect_view"
IMAGE_VIEWS = ("Confusion", "First layer")


def render_inspect(session: PlaygroundSession) -> None:
    """One inspection view at a time: each redraw remounts its charts in the browser."""
    st.subheader("Inside the network")
    views = INSPECT_VIEWS + (IMAGE_VIEWS if session.dataset.image_shape is not None else ())
    if st.session_state.get(INSPECT_VIEW_KEY) not in views:
        st.session_state[INSPECT_VIEW_KEY] = views[0]
    view = st.segmented_control("View", views, key=INSPECT_VIEW_KEY, label_visibility="collapsed")
    _INSPECT[view or views[0]](session, session.trainer.snapshot(weights=False))


def _gradients_view(session: PlaygroundSession, snap) -> None:
    names = session.layer_names
    left, right = st.columns(2)
    with left:
        _plot(charts.gradient_norms(snap.history, names), "gradients_chart", "gradients")
    with right:
        fig = charts.gradient_heatmap(snap.history, names)
        _plot(fig, "gradient_heatmap_chart", "gradient_heatmap")


def _activations_view(session: PlaygroundSession, snap) -> None:
    fig = charts.activation_distributions(snap.histograms, snap.layers, cols=4)
    _plot(fig, "activations_chart", "activations")


def _weights_view(session: PlaygroundSession, snap) -> None:
    fig = charts.weight_distributions(snap.history, session.layer_names, cols=4)
    _plot(fig, "weights_chart", "weights")


def _update_ratio_view(session: PlaygroundSession, snap) -> None:
    fig = charts.update_ratios(snap.history, session.layer_names)
    _plot(fig, "update_ratio_chart", "update_ratio")


def _confusion_view(session: PlaygroundSession, snap) -> None:
    dataset = session.dataset
    fig = charts.confusion_matrix(dataset.y_test, session.test_classes(), dataset.class_names)
    _plot(fig, "confusion_chart", "confusion")


def _first_layer_view(session: PlaygroundSession, snap) -> None:
    fig = charts.first_layer_weights(session.trainer.weights()[0][0], session.dataset.image_shape)
    _plot(fig, "first_layer_chart", "first_layer")


_INSPECT = {
    "Gradients": _gradients_view,
    "Activations": _activations_view,
    "Weights": _weights_view,
    "Update ratio": _update_ratio_view,
    "Confusion": _confusion_view,
    "First layer": _first_layer_view,
}
