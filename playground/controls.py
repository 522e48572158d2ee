"""Sidebar widgets. Thin: every value lives in session state under widget_state keys."""

from __future__ import annotations

import secrets

import streamlit as st

from core import config as C
from core.datasets import DATASETS, FEATURES
from core.early_stopping import MONITOR_LABELS
from core.losses import HEADS
from core.optimizers import (
    HYPERPARAMETERS,
    OPTIMIZER_CLASSES,
    describe_defaults,
    optimizer_defaults,
)
from core.schedules import SCHEDULES
from playground import widget_state as W
from playground.presets import preset_names, preset_title

LEARNING_RATES = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
RATES = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def _number(path: str, label: str, **kwargs) -> None:
    """A number box for the config field at `path`, within the config's own limits."""
    lo, hi = C.limits(path)
    if not C.field_metadata(path).get("integer"):
        kwargs.setdefault("format", "%g")
    _number_box(st, label, lo, hi, W.key(path), **kwargs)


def _number_box(where, label: str, lo, hi, key: str, **kwargs) -> None:
    """A number box whose default is the value it shows: Streamlit's browser side falls back
    to a number box's default when it loses the box's state (seen after a reconnect to a
    restarted server), and the default default is the minimum, which the next click would
    then apply (10 points, 1 unit per layer). The value still comes from session state."""
    value = st.session_state.get(key)
    if value is not None:
        kwargs["value"] = type(lo)(min(max(value, lo), hi))
    where.number_input(label, lo, hi, key=key, **kwargs)


def _slider(path: str, label: str, **kwargs) -> None:
    """A slider over the config field at `path`, within the config's own limits."""
    st.slider(label, *C.limits(path), key=W.key(path), **kwargs)


def _label(registry):
    """format_func for a select box over a registry's names: each entry's own label."""
    return lambda name: registry[name].label


def _options_with(options: tuple, value) -> list:
    """Slider options that always include the current value (a URL may carry any valid one)."""
    return sorted(set(options) | {value})


def _fmt_rate(x: float) -> str:
    return f"{x:g}"


def render_presets(on_preset) -> None:
    names = ("",) + preset_names()
    st.selectbox(
        "Preset",
        names,
        key="preset_choice",
        format_func=lambda n: "Choose a lesson…" if not n else preset_title(n),
        on_change=on_preset,
        help="Classroom experiments. Loading one replaces the data, network and settings.",
    )


def render_data(config: C.PlaygroundConfig, on_regenerate) -> None:
    st.selectbox(
        "Dataset",
        C.choices("data.dataset"),
        key=W.key("data.dataset"),
        format_func=_label(DATASETS),
    )
    name = config.data.dataset
    dataset = DATASETS[name]
    if dataset.generated:
        _slider("data.noise", "Noise (%)", step=5.0)
        _number("data.n_points", "Points", step=50)
    if name == "blobs":
        _slider("data.n_classes", "Classes (k)")
    if name == "mnist":
        st.selectbox("Images", C.choices("data.mnist_subset"), key=W.key("data.mnist_subset"))
    _slider("data.train_fraction", "Training share", step=0.05)
    if dataset.has_plane:
        st.multiselect(
            "Input features",
            C.choices("data.features"),
            key=W.key("data.features"),
            format_func=_label(FEATURES),
        )
    _number("data.seed", "Seed")
    st.button(
        "Regenerate data",
        icon=":material/refresh:",
        on_click=on_regenerate,
        help="New data with a new random seed",
        width="stretch",
    )
    st.checkbox("Standardize inputs", key=W.key("data.standardize"))


def render_network(config: C.PlaygroundConfig) -> None:
    n = len(config.network.hidden)
    st.markdown(f"**{n} hidden layer{'s' if n != 1 else ''}**")
    st.button(
        "Add layer",
        width="stretch",
        key="add_layer",
        icon=":material/add:",
        help="Add a hidden layer (a copy of the last one)",
        on_click=W.add_layer,
        args=(st.session_state, C.MAX_HIDDEN_LAYERS),
        disabled=n >= C.MAX_HIDDEN_LAYERS,
    )
    st.button(
        "Remove layer",
        width="stretch",
        key="remove_layer",
        icon=":material/remove:",
        help="Remove the last hidden layer",
        on_click=W.remove_layer,
        args=(st.session_state,),
        disabled=n == 0,
    )
    for i in range(n):
        _render_layer(i)
    heads = C.OUTPUT_HEADS[config.network.task]
    if len(heads) > 1:
        st.selectbox("Output and loss", heads, key=W.key("network.head"), format_func=_label(HEADS))
    if config.network.head == "linear_huber":
        _number("network.huber_delta", "Huber delta")
    st.selectbox("Weight initialisation", C.choices("network.init"), key=W.key("network.init"))
    if config.network.init in ("constant", "normal"):
        _number("network.init_scale", "Init value / sigma")
    acts = {layer.activation for layer in config.network.hidden}
    if "leaky_relu" in acts:
        _number("network.leaky_slope", "Leaky ReLU slope")
    if "elu" in acts:
        _number("network.elu_alpha", "ELU alpha")


def _render_layer(i: int) -> None:
    with st.container(border=True):
        top = st.columns([2, 3])
        lo, hi = C.limits("network.hidden.units")
        _number_box(top[0], f"Layer {i + 1} units", lo, hi, W.layer_key(i, "units"))
        top[1].selectbox(
            "Activation", C.choices("network.hidden.activation"), key=W.layer_key(i, "activation")
        )
        st.slider(
            "Dropout", *C.limits("network.hidden.dropout"), step=0.05, key=W.layer_key(i, "dropout")
        )
        st.checkbox("Batch norm", key=W.layer_key(i, "batch_norm"))
        with st.popover("Layer kind", width="stretch"):
            st.radio(
                "Kind",
                C.choices("network.hidden.kind"),
                key=W.layer_key(i, "kind"),
                horizontal=True,
            )
            pieces = C.limits("network.hidden.maxout_pieces")
            st.slider("Maxout pieces", *pieces, key=W.layer_key(i, "maxout_pieces"))


def render_training(config: C.PlaygroundConfig, n_train: int) -> None:
    _render_optimizer(config.training.optimizer)
    st.slider(
        "Batch size",
        1,
        max(1, min(n_train, C.limits("training.batch_size")[1])),
        key=W.key("training.batch_size"),
    )
    _render_schedule(config)
    reg = config.training.regularization
    _rate_slider("L1 rate", RATES, reg.l1, "training.regularization.l1")
    _rate_slider("L2 rate", RATES, reg.l2, "training.regularization.l2")
    cols = st.columns(2)
    with cols[0]:
        _number("training.regularization.grad_clip", "Clip grad norm")
    with cols[1]:
        _number("training.regularization.max_norm", "Max-norm")
    _render_early_stopping(config)


def _render_optimizer(opt: C.OptimizerConfig) -> None:
    """The optimizer, a caption with its defaults, then the settings it reads (registry order)."""
    st.selectbox(
        "Optimizer",
        C.choices("training.optimizer.name"),
        key=W.key("training.optimizer.name"),
        format_func=lambda name: OPTIMIZER_CLASSES[name].label,
        on_change=_start_from_optimizer_defaults,
        help="Picking an optimizer resets its settings to its own defaults.",
    )
    st.caption(describe_defaults(opt.name))
    rate = HYPERPARAMETERS["learning_rate"]
    _rate_slider(rate.label, LEARNING_RATES, opt.learning_rate, "training.optimizer.learning_rate")
    for name in optimizer_defaults(opt.name):
        if name != "learning_rate":
            h = HYPERPARAMETERS[name]
            _number(f"training.optimizer.{name}", h.label, help=h.help)


def _start_from_optimizer_defaults() -> None:
    """Widget callback: the newly picked optimizer starts from its own defaults."""
    name = st.session_state[W.key("training.optimizer.name")]
    for setting, value in optimizer_defaults(name).items():
        st.session_state[W.key(f"training.optimizer.{setting}")] = value


def _rate_slider(label: str, options: tuple, value: float, path: str) -> None:
    """A log-spaced rate picker; changing it mid-run does not reset the network."""
    st.select_slider(
        label,
        _options_with(options, value),
        key=W.key(path),
        format_func=_fmt_rate,
        help="Changes apply mid-run without resetting the network.",
    )


def _render_schedule(config: C.PlaygroundConfig) -> None:
    """The schedule, its formula, then the settings it reads (from its registry entry)."""
    st.selectbox(
        "Learning-rate schedule",
        C.choices("training.schedule.name"),
        key=W.key("training.schedule.name"),
        format_func=_label(SCHEDULES),
    )
    schedule = SCHEDULES[config.training.schedule.name]
    if schedule.settings:
        st.caption(f"rate = {schedule.formula}")
    for setting, label in schedule.settings.items():
        _number("training.schedule." + setting, label)


def _render_early_stopping(config: C.PlaygroundConfig) -> None:
    st.checkbox("Early stopping", key=W.key("training.early_stopping.enabled"))
    if not config.training.early_stopping.enabled:
        return
    st.selectbox(
        "Monitor",
        C.choices("training.early_stopping.monitor"),
        format_func=MONITOR_LABELS.get,
        key=W.key("training.early_stopping.monitor"),
    )
    cols = st.columns(2)
    with cols[0]:
        _number("training.early_stopping.patience", "Patience")
    with cols[1]:
        _number("training.early_stopping.min_delta", "Min delta")
    st.checkbox("Restore best weights", key=W.key("training.early_stopping.restore_best"))
    _number("training.eval_every", "Evaluate every (steps, 0 = each epoch)")


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1)
