"""The backprop microscope: one training point and one weight through the next step, in the
engine's own numbers.

`examine(trainer, point, weight)` returns a frozen `Microscope`: the point's forward pass (each
neuron's pre-activation z and output a, and the loss), its backward pass (each neuron's delta
∂L/∂z), the chain rule for the chosen weight with every factor's value, the batch gradient the
engine uses for that weight (after the L1/L2 penalty and gradient clipping where the trainer
applies them) and the update the optimizer will make, with its rule and its state.

How the numbers stay the engine's while the run is left alone: the network is rebuilt from the
trainer's state (same config, parameters, batch-norm buffers, frozen blocks and a copy of the
dropout generator, so the copy draws the very masks the next step will draw); the engine's own
layers run forward and backward on the trainer's next batch, one layer at a time as
`Network.forward`/`backward` do, recording what passes between them; then the trainer's step
(penalty, clipping, a deep copy of the optimizer, max-norm) is applied to the copy. The trainer
is only read: its parameters, optimizer state, dropout generator, batch-norm running averages,
batch position and counters are never written.

Notation, for point i of a batch of n (the engine differentiates the batch loss
L = (1/n) Σ_i L_i):

    z   a neuron's pre-activation: the activation's input (after batch norm where there is one)
    a   its output: the activation's output (before dropout); for the output layer the head's
    u   the dense layer's output where z is not it (before batch norm; a maxout piece)
    δ   the point's delta n·∂L/∂z_i: the engine's batch delta for the point's column times n,
        which is ∂L_i/∂z, the derivative of the point's own loss, unless batch norm mixes the
        batch; then the point's values depend on the whole batch (`notes` says so)

The point's gradient of w is n times its term of the batch sum, so the batch gradient is the
mean of the points' gradients: ∂L/∂w = (1/n) Σ_i ∂L_i/∂w. A training point outside the next batch
is shown as the network sees it alone, in eval mode (no dropout, batch norm's running
statistics); its gradient does not enter the next update, which is still the batch's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core import regularizers
from core.activations import REGISTRY as ACTIVATIONS
from core.activations import make_activation, prelu_grad_x
from core.layers import ActivationLayer, BatchNorm, Dense, Dropout, Maxout, PReLU
from core.network import Network
from core.optimizers import HYPERPARAMETERS, Optimizer

Array = np.ndarray

# ∂L_i/∂z for each head: the output activation and its loss are fused (core.losses).
HEAD_GRADIENTS: dict[str, str] = {
    "sigmoid_bce": "p − y  (σ and cross-entropy fused; p = σ(z), y the label)",
    "tanh_mse": "2(a − t)(1 − a²)  (a = tanh z, target t = 2y − 1)",
    "softmax_ce": "P_k − [k = y]  (softmax and cross-entropy fused)",
    "linear_mse": "2(a − t)/K  (a = z; K outputs)",
    "linear_mae": "sign(a − t)/K  (a = z; K outputs)",
    "linear_huber": "clip(a − t, −δ, δ)/K  (a = z; K outputs)",
}

BATCH_NORM_BACKWARD = "γ/(n√(σ² + ε))·(n·∂L/∂z − Σ ∂L/∂z − x̂·Σ ∂L/∂z·x̂) over the batch"
BIAS = "bias"


@dataclass(frozen=True)
class WeightChoice:
    """One weight: W[from_unit, to_unit] of block `block` (0 = the first hidden layer, the last
    index is the output layer). from_unit = the layer's fan-in picks the bias of to_unit; in a
    maxout block to_unit is a piece column, unit·k + piece."""

    block: int
    from_unit: int
    to_unit: int


@dataclass(frozen=True)
class LayerValues:
    """One layer's neurons for the point (arrays over its units)."""

    index: int
    name: str
    activation: str
    z: Array  # pre-activation
    a: Array  # output (before dropout)
    delta: Array  # n·∂L/∂z for the point (∂L_i/∂z without batch norm)
    u: Array | None  # dense output before batch norm, or maxout pieces (None: u is z)
    delta_u: Array | None  # n·∂L/∂u
    dropout_factor: Array | None  # m/(1 − p) per unit: 0 dropped, 1/(1 − p) kept; None: none
    batch_norm: bool


@dataclass(frozen=True)
class ChainStep:
    """One link of the chain rule: `factor` (None where the step is not a product) multiplies
    the running derivative into `value`, which is `value_symbol`."""

    symbol: str  # e.g. ∂a/∂z
    formula: str
    factor: float | None
    value_symbol: str  # e.g. ∂L/∂z
    value: float


@dataclass(frozen=True)
class GradientStage:
    """What the trainer does to the batch gradient before the optimizer sees it."""

    label: str
    formula: str
    value: float


@dataclass(frozen=True)
class UpdatePreview:
    """The optimizer's update of the weight at the next step, computed on copies."""

    optimizer: str
    label: str
    rule: tuple[str, ...]
    learning_rate: float
    settings: tuple[tuple[str, float], ...]  # (label, value) of its other hyperparameters
    t: int | None  # updates of this parameter so far, this one included (Adam's bias correction)
    gradient: float  # g, as handed to the optimizer
    state_before: tuple[tuple[str, float], ...]
    state_after: tuple[tuple[str, float], ...]
    worked: tuple[tuple[str, str, float], ...]  # (name, formula, value), e.g. Adam's m̂, v̂
    weight_before: float
    weight_after_optimizer: float
    max_norm_scale: float | None  # the unit's max-norm factor (None: max-norm off or a bias)
    weight_after: float

    @property
    def change(self) -> float:
        return self.weight_after - self.weight_before


@dataclass(frozen=True)
class Microscope:
    """Everything the microscope shows for one point and one weight at the next step."""

    step: int  # the step these numbers belong to (steps taken + 1)
    point: int  # index into the training set
    in_batch: bool
    batch_points: tuple[int, ...]  # training-set indices of the next batch
    inputs: Array  # the point's input features
    input_names: tuple[str, ...]
    target: Array  # its label (classification) or target values
    layers: tuple[LayerValues, ...]  # hidden layers, then the output layer
    point_loss: float  # L_i
    batch_loss: float  # L, the engine's batch loss
    weight: WeightChoice
    weight_label: str
    weight_value: float
    chain: tuple[ChainStep, ...]
    point_gradient: float  # ∂L_i/∂w (n × the point's term of the batch sum)
    batch_gradient: float  # the engine's ∂L/∂w of the data loss, the batch mean
    gradient_stages: tuple[GradientStage, ...]  # penalty and clipping where applied
    update: UpdatePreview | None  # None: no update (frozen block, stopped or diverging run)
    notes: tuple[str, ...]

    @property
    def batch_size(self) -> int:
        return len(self.batch_points)


@dataclass(frozen=True)
class NextStep:
    """What the trainer's next step will use: the batch, the learning rate and the pipeline."""

    step: int
    X: Array  # the batch (n, d)
    y: Array
    indices: tuple[int, ...]  # their training-set indices
    X_train: Array
    y_train: Array
    input_names: tuple[str, ...]
    learning_rate: float
    l1: float
    l2: float
    grad_clip: float
    max_norm: float
    update_keys: tuple[str, ...]  # the optimizer's update keys ("a+b": a packed run)
    weight_keys: tuple[str, ...]  # live weight matrices (penalty and max-norm)
    stopped: str  # why training has stopped ("" if it has not)


def next_step(trainer) -> NextStep:
    """What `trainer.step()` will use next, read without changing anything (the one place that
    knows the trainer's batch order and step pipeline)."""
    t = trainer
    a = t._pos * t._batch
    idx = t._order[a : a + t._batch]
    names = tuple(t.dataset.feature_names) or tuple(f"x{j + 1}" for j in range(t._X.shape[1]))
    return NextStep(
        step=t.step_count + 1,
        X=t._X[idx],
        y=t._y[idx],
        indices=tuple(int(i) for i in idx),
        X_train=t._X,
        y_train=t._y,
        input_names=names,
        learning_rate=float(t.lr),
        l1=t.l1,
        l2=t.l2,
        grad_clip=t.grad_clip,
        max_norm=t.max_norm,
        update_keys=tuple(t._upd_keys),
        weight_keys=tuple(t._weight_keys),
        stopped=t.stop_reason if t.stopped else "",
    )


def examine(trainer, point: int | None = None, weight: WeightChoice | None = None) -> Microscope:
    """The microscope on `trainer`'s next step: `point` is a training-set index (None: the first
    point of the next batch), `weight` defaults to the first weight of the output layer."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return examine_step(trainer.network, trainer.optimizer, next_step(trainer), point, weight)


def examine_step(
    network: Network,
    optimizer: Optimizer,
    plan: NextStep,
    point: int | None = None,
    weight: WeightChoice | None = None,
) -> Microscope:
    """`examine` given the network, its optimizer and the next step's plan (nothing is written)."""
    point = plan.indices[0] if point is None else int(point)
    if not 0 <= point < len(plan.X_train):
        raise ValueError(f"point {point} is not a training point (0 to {len(plan.X_train) - 1})")
    weight = weight or WeightChoice(len(network.blocks) - 1, 0, 0)
    check_weight(network, weight)
    twin = clone(network)
    in_batch = point in plan.indices
    if in_batch:
        column, scale = plan.indices.index(point), float(len(plan.indices))
    else:  # alone first: the batch pass then updates the copy's batch-norm running averages
        column, scale = 0, 1.0
        seen = _passes(twin, plan.X_train[point : point + 1], plan.y_train[point : point + 1], True)
    batch = _passes(twin, plan.X, plan.y, False)
    if in_batch:
        seen = batch
    layers = _layer_values(twin, seen, column, scale, alone=not in_batch)
    chain = _chain(twin, seen, weight, column, scale, alone=not in_batch)
    block = twin.blocks[weight.block]
    key, local = _param_index(block, weight)
    data_grad = float(twin.grads[key].reshape(-1)[local])
    old = float(twin.params[key].reshape(-1)[local])
    notes: list[str] = []
    stages, update = _step(twin, optimizer, plan, block, key, local, data_grad, batch, notes)
    Z = seen["logits"][:, column : column + 1]
    point_loss = float(twin.head.forward(Z, plan.y_train[point : point + 1], False))
    point_grad = chain[-1].value
    notes[:0] = _notes(twin, plan, point, in_batch, point_grad, data_grad)
    return Microscope(
        step=plan.step,
        point=point,
        in_batch=in_batch,
        batch_points=plan.indices,
        inputs=np.array(plan.X_train[point], dtype=np.float64),
        input_names=plan.input_names,
        target=np.array(plan.y_train[point]),
        layers=layers,
        point_loss=point_loss,
        batch_loss=batch["loss"],
        weight=weight,
        weight_label=weight_label(network, weight, plan.input_names),
        weight_value=old,
        chain=chain,
        point_gradient=point_grad,
        batch_gradient=data_grad,
        gradient_stages=stages,
        update=update,
        notes=tuple(notes),
    )


# --- choosing a weight ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerWeights:
    """What a weight chooser offers for one layer: the names of its sources (inputs, then the
    bias) and of its targets (units, or maxout pieces)."""

    block: int
    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]


def weight_space(network: Network, input_names: tuple[str, ...]) -> tuple[LayerWeights, ...]:
    """Every layer's weights as a chooser lists them (the last source is the bias)."""
    out, sources = [], tuple(input_names)
    for block in network.blocks:
        dense = block.layers[0]
        pieces = dense.pieces if isinstance(dense, Maxout) else 1
        targets = tuple(
            f"{block.name} #{c // pieces + 1}" + (f" piece {c % pieces + 1}" if pieces > 1 else "")
            for c in range(dense.Wb.shape[1])
        )
        out.append(LayerWeights(block.index, block.name, sources + (BIAS,), targets))
        sources = tuple(f"{block.name} #{j + 1}" for j in range(block.units))
    return tuple(out)


def weights_of(trainer) -> tuple[LayerWeights, ...]:
    """`weight_space` of a trainer's network, with its input names."""
    return weight_space(trainer.network, next_step(trainer).input_names)


def check_weight(network: Network, weight: WeightChoice) -> None:
    """ValueError unless `weight` names a weight (or bias) of `network`."""
    if not 0 <= weight.block < len(network.blocks):
        raise ValueError(f"block {weight.block} is not a layer (0 to {len(network.blocks) - 1})")
    dense = network.blocks[weight.block].layers[0]
    if not 0 <= weight.from_unit <= dense.fan_in:
        raise ValueError(f"from_unit {weight.from_unit} is not 0 to {dense.fan_in} (the bias)")
    if not 0 <= weight.to_unit < dense.Wb.shape[1]:
        raise ValueError(f"to_unit {weight.to_unit} is not 0 to {dense.Wb.shape[1] - 1}")


def weight_label(network: Network, weight: WeightChoice, input_names: tuple[str, ...]) -> str:
    layer = weight_space(network, input_names)[weight.block]
    return f"{layer.sources[weight.from_unit]} → {layer.targets[weight.to_unit]}"


def _param_index(block, weight: WeightChoice) -> tuple[str, int]:
    """The parameter key of the weight and its flat index within that parameter."""
    dense = block.layers[0]
    if weight.from_unit == dense.fan_in:
        return block.bias_key, weight.to_unit
    return block.weight_key, weight.from_unit * dense.Wb.shape[1] + weight.to_unit


# --- the copy and its passes ---------------------------------------------------------------------


def clone(network: Network) -> Network:
    """A separate network in the same state: parameters, batch-norm buffers, frozen blocks and a
    copy of the dropout generator (shared by its dropout layers, as in the original)."""
    twin = Network(network.config, network.n_inputs, network.n_outputs)
    twin.load_state_dict(network.state_dict())
    memo: dict = {}
    for mine, theirs in zip(twin.blocks, network.blocks, strict=True):
        mine.frozen = theirs.frozen
        for a, b in zip(mine.layers, theirs.layers, strict=True):
            if isinstance(a, Dropout):
                a.rng = copy.deepcopy(b.rng, memo)
                a.fixed_mask = None if b.fixed_mask is None else b.fixed_mask.copy()
    return twin


def _passes(net: Network, X: Array, y: Array, alone: bool) -> dict:
    """The engine's layers forward, its head's loss, then the layers backward on X, recording
    what passes between them per layer (feature-major): `inp`/`out` forward, `grad_in`/
    `grad_out` backward. As `Network.loss(X, y, True)` then `backward()` compute them.

    alone: one point in eval mode (dropout off, batch norm with its running statistics), its own
    loss differentiated; batch norm is then affine, so its backward is the factor γ/√(var + ε).
    """
    rec: dict = {"inp": {}, "out": {}, "grad_in": {}, "grad_out": {}}
    A = np.asarray(X).T
    for block in net.blocks:
        for layer in block.layers:
            rec["inp"][id(layer)] = A
            if not (alone and isinstance(layer, Dropout)):
                A = layer.forward(A, not (alone and isinstance(layer, BatchNorm)))
            rec["out"][id(layer)] = A
    head = net.head
    rec["logits"], rec["output"] = A, head.output(A)
    rec["loss"] = float(head.forward(A, y, True))
    d = head.backward()
    for block in reversed(net.blocks):
        for layer in reversed(block.layers):
            rec["grad_in"][id(layer)] = d
            if alone and isinstance(layer, BatchNorm):
                d = d * _bn_eval_factor(layer)[:, None]
            elif not (alone and isinstance(layer, Dropout)):
                d = layer.backward(d)
            rec["grad_out"][id(layer)] = d
    return rec


def _bn_eval_factor(layer: BatchNorm) -> Array:
    """∂y/∂x of batch norm in eval mode, per unit: γ/√(running var + ε)."""
    inv_std = 1.0 / np.sqrt(layer.buffers["running_var"] + layer.eps)
    return inv_std * layer.params["gamma"]


def _maxout_piece_grads(layer: Maxout, rec: dict) -> Array:
    """∂L/∂u per piece column: the unit's delta where the piece wins the max, else 0 (as
    `Maxout.backward` routes it)."""
    dY = rec["grad_in"][id(layer)]
    dZ = np.zeros((layer.units, layer.pieces, dY.shape[1]), dY.dtype)
    np.put_along_axis(dZ, layer._win, dY[:, None], axis=1)
    return dZ.reshape(layer.units * layer.pieces, -1)


def _parts(block):
    """(dense, batch norm or None, activation layer or None, dropout or None) of a block."""
    kinds = {type(x): x for x in block.layers}
    act = next((x for x in block.layers if isinstance(x, ActivationLayer | PReLU)), None)
    return block.layers[0], kinds.get(BatchNorm), act, kinds.get(Dropout)


# --- what the microscope shows ------------------------------------------------------------------


def _col(a: Array, column: int) -> Array:
    return np.array(a[:, column], dtype=np.float64)


def _layer_values(
    net: Network, rec: dict, column: int, scale: float, alone: bool
) -> tuple[LayerValues, ...]:
    out = []
    for block in net.blocks:
        dense, bn, act, drop = _parts(block)
        if act is None:  # the output layer: the head
            z, a = _col(rec["logits"], column), _col(rec["output"], column)
            delta = scale * _col(rec["grad_in"][id(dense)], column)
        else:
            z, a = _col(rec["inp"][id(act)], column), _col(rec["out"][id(act)], column)
            delta = scale * _col(rec["grad_out"][id(act)], column)
        u = delta_u = None
        if bn is not None:
            u = _col(rec["out"][id(dense)], column)
            delta_u = scale * _col(rec["grad_out"][id(bn)], column)
        elif isinstance(dense, Maxout):
            u = _col(Dense.forward(dense, rec["inp"][id(dense)], False), column)
            delta_u = scale * _col(_maxout_piece_grads(dense, rec), column)
        factor = None if drop is None or alone else _col(drop._mask, column)
        out.append(
            LayerValues(
                block.index, block.name, block.activation, z, a, delta, u, delta_u, factor,
                bn is not None,
            )
        )  # fmt: skip
    return tuple(out)


def _chain(
    net: Network, rec: dict, weight: WeightChoice, column: int, scale: float, alone: bool
) -> tuple[ChainStep, ...]:
    """∂L_i/∂w = ∂L/∂a · ∂a/∂z · ∂z/∂w for the point, each factor with its value (scaled by n
    in a batch: the point's own loss, see the module docstring)."""
    block = net.blocks[weight.block]
    dense, bn, act, drop = _parts(block)
    to, steps = weight.to_unit, []

    def at(array: Array, row: int) -> float:
        return float(array[row, column])

    if act is None:
        d = scale * at(rec["grad_in"][id(dense)], to)
        steps.append(ChainStep("∂L/∂z", HEAD_GRADIENTS[net.head.name], None, "∂L/∂z", d))
    else:
        pieces = dense.pieces if isinstance(dense, Maxout) else 1
        unit = to // pieces
        if drop is not None and not alone:
            into = scale * at(rec["grad_in"][id(drop)], unit)
            steps.append(
                ChainStep("∂L/∂ã", "Σ_k w_k·δ_k over the next layer (ã: a after dropout)", None,
                          "∂L/∂ã", into)
            )  # fmt: skip
            steps.append(
                ChainStep("∂ã/∂a", "m/(1 − p): this point's dropout draw (0 dropped, 1/(1 − p) "
                          "kept)", at(drop._mask, unit), "∂L/∂a",
                          scale * at(rec["grad_out"][id(drop)], unit))
            )  # fmt: skip
        else:
            into = scale * at(rec["grad_in"][id(act)], unit)
            steps.append(
                ChainStep("∂L/∂a", "Σ_k w_k·δ_k over the next layer's units", None, "∂L/∂a", into)
            )
        steps.append(
            ChainStep("∂a/∂z", _derivative_text(block.activation),
                      _derivative(net, act, rec, unit, column), "∂L/∂z",
                      scale * at(rec["grad_out"][id(act)], unit))
        )  # fmt: skip
        if bn is not None:
            value = scale * at(rec["grad_out"][id(bn)], unit)
            if alone:
                factor = float(_bn_eval_factor(bn)[unit])
                steps.append(ChainStep("∂z/∂u", "γ/√(running var + ε)", factor, "∂L/∂u", value))
            else:
                steps.append(ChainStep("∂z/∂u", BATCH_NORM_BACKWARD, None, "∂L/∂u", value))
        if pieces > 1:
            piece = to % pieces
            wins = float(dense._win[unit, 0, column] == piece)
            value = scale * at(_maxout_piece_grads(dense, rec), to)
            steps.append(
                ChainStep("∂z/∂u", f"1 if piece {piece + 1} wins the max, else 0", wins,
                          "∂L/∂u", value)
            )  # fmt: skip
    last = "∂u/∂w" if bn is not None or isinstance(dense, Maxout) else "∂z/∂w"
    if weight.from_unit == dense.fan_in:
        x, what = 1.0, "1 (the bias)"
    else:
        x = float(rec["inp"][id(dense)][weight.from_unit, column])
        what = "the input to this weight (the previous layer's output, after its dropout)"
    steps.append(ChainStep(last, what, x, "∂L/∂w", steps[-1].value * x))
    return tuple(steps)


def _derivative_text(name: str) -> str:
    """The registry's derivative of `name`: d/dx f(x) = f'(x), read at x = z, y = a."""
    fact = ACTIVATIONS[name]
    return f"d/dx [{fact.formula}] = {fact.derivative}  (x = z, y = a)"


def _derivative(net: Network, act, rec: dict, unit: int, column: int) -> float:
    """The activation's local derivative at the point, by the registry's own rule."""
    z = rec["inp"][id(act)][unit, column : column + 1]
    a = rec["out"][id(act)][unit, column : column + 1]
    if isinstance(act, PReLU):
        return float(prelu_grad_x(z, act.params["alpha"][unit])[0])
    cfg = net.config
    rule = make_activation(act.name, net.dtype, cfg.leaky_slope, cfg.elu_alpha)
    return float(rule.df(z, a)[0])


# --- the step: penalty, clipping, optimizer, max-norm (on the copy) ------------------------------


def _update_arrays(net: Network, keys: tuple[str, ...]) -> tuple[dict, dict]:
    """The copy's arrays under the trainer's update keys (a packed key: its flat run)."""
    params, grads = {}, {}
    for key in keys:
        if key in net.params:
            params[key], grads[key] = net.params[key], net.grads[key]
            continue
        members = key.split("+")
        start, stop = net.slices[members[0]].start, net.slices[members[-1]].stop
        params[key], grads[key] = net.flat_params[start:stop], net.flat_grads[start:stop]
    return params, grads


def _update_key(net: Network, keys: tuple[str, ...], key: str, local: int) -> tuple[str, int]:
    """The update key holding parameter `key` and the element's offset within it."""
    for update_key in keys:
        members = update_key.split("+")
        if key in members:
            return update_key, net.slices[key].start + local - net.slices[members[0]].start
    raise KeyError(key)


def _slot_values(optimizer: Optimizer, update_key: str, offset: int) -> dict[str, float] | None:
    store = optimizer._store.get(update_key)
    if store is None:
        return None
    return {name: float(a.reshape(-1)[offset]) for name, a in store.items()}


def _step(twin, optimizer, plan, block, key, local, data_grad, batch, notes):
    """The trainer's step after backward, on the copy: the gradient's stages and the update."""
    stages = [GradientStage("batch gradient", "(1/n) Σ_i ∂L_i/∂w", data_grad)]
    if plan.stopped:
        notes.append(f"Training has stopped ({plan.stopped}): Step makes no update.")
        return tuple(stages), None
    if not np.isfinite(batch["loss"]):
        notes.append("The batch loss is not finite: the engine stops here and makes no update.")
        return tuple(stages), None
    live = key in "+".join(plan.update_keys).split("+")

    def grad() -> float:
        return float(twin.grads[key].reshape(-1)[local])

    if plan.l1 or plan.l2:
        regularizers.add_penalty_grad(twin.grads, twin.params, plan.weight_keys, plan.l1, plan.l2)
        if key in plan.weight_keys:
            stages.append(
                GradientStage(f"+ penalty (l1 {plan.l1:g}, l2 {plan.l2:g})",
                              "g + l1·sign(w) + l2·w", grad())
            )  # fmt: skip
    params, grads = _update_arrays(twin, plan.update_keys)
    flat = [g.reshape(-1) for g in grads.values()]
    sq = sum(float(np.dot(g, g)) for g in flat)
    if not np.isfinite(sq):
        notes.append("A gradient is not finite: the engine stops here and makes no update.")
        return tuple(stages), None
    if plan.grad_clip:
        norm = float(np.sqrt(sq))
        if norm > plan.grad_clip:
            for g in flat:
                g *= plan.grad_clip / norm
        if live:
            stages.append(
                GradientStage(f"× min(1, c/‖g‖), c = {plan.grad_clip:g}, ‖g‖ = {norm:.4g}",
                              "clipping by the global norm of all live gradients", grad())
            )  # fmt: skip
    if not live:
        notes.append(f"{block.name} is frozen: the optimizer leaves its weights unchanged.")
        return tuple(stages), None
    update_key, offset = _update_key(twin, plan.update_keys, key, local)
    before = _slot_values(optimizer, update_key, offset)
    g = grad()
    w_before = float(twin.params[key].reshape(-1)[local])
    mine = copy.deepcopy(optimizer)
    mine.step(params, grads, plan.learning_rate, plan.update_keys)
    w_optimizer = float(twin.params[key].reshape(-1)[local])
    after = _slot_values(mine, update_key, offset) or {}
    before = before or dict.fromkeys(after, 0.0)  # slots start at zero on first use
    t = mine.t.get(update_key)
    cls, cfg = type(mine), mine.cfg
    worked = tuple(
        (name, formula, float(f(before, after, g, cfg, t)))
        for name, (formula, f) in cls.worked.items()
    )
    scale = None
    if plan.max_norm:
        if key == block.weight_key and key in plan.weight_keys:
            W = twin.params[key]
            column = W[:, local % W.shape[1]]
            norm = np.sqrt((column * column).sum())
            scale = float(np.minimum(1.0, plan.max_norm / np.maximum(norm, 1e-12)))
        regularizers.apply_max_norm(twin.params, plan.weight_keys, plan.max_norm)
    update = UpdatePreview(
        optimizer=cls.name,
        label=cls.label,
        rule=cls.update_rule,
        learning_rate=plan.learning_rate,
        settings=tuple(
            (HYPERPARAMETERS[k].label, float(getattr(cfg, k)))
            for k in cls.defaults
            if k != "learning_rate"
        ),
        t=t,
        gradient=g,
        state_before=tuple(before.items()),
        state_after=tuple(after.items()),
        worked=worked,
        weight_before=w_before,
        weight_after_optimizer=w_optimizer,
        max_norm_scale=scale,
        weight_after=float(twin.params[key].reshape(-1)[local]),
    )
    return tuple(stages), update


def _notes(twin, plan, point, in_batch, point_grad, batch_grad) -> list[str]:
    """Plain statements about what the numbers mean here."""
    n = len(plan.indices)
    blocks = twin.blocks
    has_bn = any(_parts(b)[1] is not None for b in blocks)
    has_dropout = any(_parts(b)[3] is not None for b in blocks)
    if not in_batch:
        return [
            f"Point {point} is not in the next batch: it is shown alone, as the network "
            "predicts it (no dropout, batch norm with its running statistics). Its gradient "
            f"does not enter this step's update, which averages the batch's {n} points."
        ]
    notes = [
        f"Point {point} is number {plan.indices.index(point) + 1} of the next batch of {n}: "
        "its values are that batch's pass, deltas scaled by n to the point's own loss."
    ]
    if has_bn:
        notes.append(
            "Batch norm: this point's values depend on the whole batch (its mean and "
            "variance forward, its sums backward), so its gradient is n × its share of the "
            "batch's gradient, not that of its own loss alone."
        )
    if has_dropout:
        notes.append("Dropout: the masks shown are the ones this step draws.")
    if n > 1 and abs(point_grad - batch_grad) > 1e-12 * max(1.0, abs(batch_grad)):
        notes.append(
            f"This point's gradient ({point_grad:.4g}) differs from the batch gradient "
            f"({batch_grad:.4g}) the engine uses: the mean over the batch's {n} points."
        )
    return notes
