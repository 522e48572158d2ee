"""Sidebar widgets. Thin: every value lives in session state under widget_state keys."""

from __future__ import annotations

import secrets

import streamlit as st

from core import config as C
from core.early_stopping import MONITOR_LABELS
from core.optimizers import (
    HYPERPARAMETERS,
    OPTIMIZER_CLASSES,
    describe_defaults,
    optimizer_defaults,
)
from playground import widget_state as W
from playground.presets import preset_names, preset_title

DATASET_LABELS = {
    "circle": "Circle",
    "xor": "Exclusive or (XOR)",
    "gaussian": "Two Gaussians",
    "spiral": "Spiral",
    "moons": "Two moons",
    "spiral3": "Three-arm spiral (3 classes)",
    "blobs": "Gaussian blobs (k classes)",
    "plane": "Plane (regression)",
    "multi_gaussian": "Multi-Gaussian (regression)",
    "sine": "Sine wave (1D regression)",
    "abs": "Absolute value (1D regression)",
    "step": "Step function (1D regression)",
    "poly": "Polynomial (1D regression)",
    "digits": "Digits 8x8 (1,797 images)",
    "iris": "Iris (3 classes)",
    "wine": "Wine (3 classes)",
    "breast_cancer": "Breast cancer (binary)",
    "diabetes": "Diabetes (regression)",
    "mnist": "MNIST 28x28 digits",
    "csv": "Your CSV file",
}
FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1sq": "x₁²",
    "x2sq": "x₂²",
    "x1x2": "x₁·x₂",
    "sinx1": "sin(x₁)",
    "sinx2": "sin(x₂)",
}
HEAD_LABELS = {
    "sigmoid_bce": "sigmoid + cross-entropy",
    "tanh_mse": "tanh + squared error (TF Playground)",
    "softmax_ce": "softmax + cross-entropy",
    "linear_mse": "linear + squared error",
    "linear_mae": "linear + absolute error",
    "linear_huber": "linear + Huber",
}
LEARNING_RATES = (1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
RATES = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
GENERATED = C.DATASETS_2D_CLASSIFICATION + C.DATASETS_2D_MULTICLASS + C.DATASETS_2D_REGRESSION
GENERATED += C.DATASETS_1D
TWO_D = C.DATASETS_2D_CLASSIFICATION + C.DATASETS_2D_MULTICLASS + C.DATASETS_2D_REGRESSION


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
    st.selectbox("Dataset", C.DATASETS, key=W.key("data.dataset"), format_func=DATASET_LABELS.get)
    name = config.data.dataset
    if name in GENERATED:
        st.slider("Noise (%)", 0.0, 50.0, step=5.0, key=W.key("data.noise"))
        st.number_input("Points", 10, C.MAX_GENERATED_POINTS, step=50, key=W.key("data.n_points"))
    if name == "blobs":
        st.slider("Classes (k)", 3, 6, key=W.key("data.n_classes"))
    if name == "mnist":
        st.selectbox("Images", C.MNIST_SUBSETS, key=W.key("data.mnist_subset"))
    st.slider("Training share", 0.1, 0.9, step=0.05, key=W.key("data.train_fraction"))
    if name in TWO_D:
        st.multiselect(
            "Input features",
            C.FEATURES_2D,
            key=W.key("data.features"),
            format_func=FEATURE_LABELS.get,
        )
    st.number_input("Seed", 0, 2**31 - 1, key=W.key("data.seed"))
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
        st.selectbox(
            "Output and loss", heads, key=W.key("network.head"), format_func=HEAD_LABELS.get
        )
    if config.network.head == "linear_huber":
        st.number_input("Huber delta", 1e-3, 1e3, key=W.key("network.huber_delta"))
    st.selectbox("Weight initialisation", C.INITS, key=W.key("network.init"))
    if config.network.init in ("constant", "normal"):
        st.number_input("Init value / sigma", 0.0, 10.0, key=W.key("network.init_scale"))
    acts = {layer.activation for layer in config.network.hidden}
    if "leaky_relu" in acts:
        st.number_input("Leaky ReLU slope", 0.0, 1.0, key=W.key("network.leaky_slope"))
    if "elu" in acts:
        st.number_input("ELU alpha", 0.0, 10.0, key=W.key("network.elu_alpha"))


def _render_layer(i: int) -> None:
    with st.container(border=True):
        top = st.columns([2, 3])
        top[0].number_input(f"Layer {i + 1} units", 1, C.MAX_UNITS, key=W.layer_key(i, "units"))
        top[1].selectbox("Activation", C.ACTIVATIONS, key=W.layer_key(i, "activation"))
        st.slider("Dropout", 0.0, 0.9, step=0.05, key=W.layer_key(i, "dropout"))
        st.checkbox("Batch norm", key=W.layer_key(i, "batch_norm"))
        with st.popover("Layer kind", width="stretch"):
            st.radio("Kind", C.LAYER_KINDS, key=W.layer_key(i, "kind"), horizontal=True)
            st.slider("Maxout pieces", 2, 8, key=W.layer_key(i, "maxout_pieces"))


def render_training(config: C.PlaygroundConfig, n_train: int) -> None:
    _render_optimizer(config.training.optimizer)
    st.slider(
        "Batch size", 1, max(1, min(n_train, C.MAX_BATCH_SIZE)), key=W.key("training.batch_size")
    )
    _render_schedule(config)
    reg = config.training.regularization
    _rate_slider("L1 rate", RATES, reg.l1, "training.regularization.l1")
    _rate_slider("L2 rate", RATES, reg.l2, "training.regularization.l2")
    cols = st.columns(2)
    cols[0].number_input(
        "Clip grad norm", 0.0, 1e4, format="%g", key=W.key("training.regularization.grad_clip")
    )
    cols[1].number_input(
        "Max-norm", 0.0, 100.0, format="%g", key=W.key("training.regularization.max_norm")
    )
    _render_early_stopping(config)


def _render_optimizer(opt: C.OptimizerConfig) -> None:
    """The optimizer, a caption with its defaults, then the settings it reads (registry order)."""
    st.selectbox(
        "Optimizer",
        C.OPTIMIZERS,
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
            path = f"training.optimizer.{name}"
            st.number_input(h.label, h.low, h.high, format="%g", key=W.key(path), help=h.help)


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
    st.selectbox("Learning-rate schedule", C.SCHEDULES, key=W.key("training.schedule.name"))
    name = config.training.schedule.name
    if name == "step":
        st.number_input("Every (steps)", 1, 10**7, key=W.key("training.schedule.step_size"))
    if name in ("step", "exponential"):
        st.number_input("Factor", 1e-4, 1.0, format="%g", key=W.key("training.schedule.gamma"))
    if name == "plateau":
        st.number_input(
            "Patience (evaluations)", 1, 10**5, key=W.key("training.schedule.plateau_patience")
        )


def _render_early_stopping(config: C.PlaygroundConfig) -> None:
    st.checkbox("Early stopping", key=W.key("training.early_stopping.enabled"))
    if not config.training.early_stopping.enabled:
        return
    st.selectbox(
        "Monitor",
        C.MONITORS,
        format_func=MONITOR_LABELS.get,
        key=W.key("training.early_stopping.monitor"),
    )
    cols = st.columns(2)
    cols[0].number_input("Patience", 1, 10**5, key=W.key("training.early_stopping.patience"))
    cols[1].number_input(
        "Min delta", 0.0, 10.0, format="%g", key=W.key("training.early_stopping.min_delta")
    )
    st.checkbox("Restore best weights", key=W.key("training.early_stopping.restore_best"))
    st.number_input(
        "Evaluate every (steps, 0 = each epoch)", 0, 10**6, key=W.key("training.eval_every")
    )


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1)
