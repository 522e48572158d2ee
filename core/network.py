"""The network: hidden blocks (Dense|Maxout → BatchNorm? → activation → Dropout?) and an output
block (Dense → head).

Parameters live in `Network.params` under keys "i.W", "i.b", "i.gamma", "i.beta", "i.alpha" for
block i (the output block is i = len(hidden)); W is (fan_in, units), or (fan_in, units·k) for a
maxout block with k pieces per unit (columns j·k … j·k+k−1 belong to unit j). A maxout block still
applies its configured activation after the max (choose "linear" for plain maxout).

Every parameter is a view into one flat array `flat_params`, and every gradient a view into
`flat_grads` at the same offsets, so an elementwise optimizer, a gradient norm or a finiteness check
can be one operation on the flat arrays (`slices[key]` locates a key). Parameters are therefore
updated in place; `params` and `grads` are `ArrayDict`s whose item assignment copies into the
existing array, so `params[k] = new_value` is safe too.

Internally every layer works feature-major, (features, n); the public methods take and return the
usual (n, features) arrays.
"""

from __future__ import annotations

import numpy as np

from core.activations import make_activation
from core.config import MAX_PARAMETERS, ConfigError, LayerConfig, NetworkConfig
from core.initializers import init_weights
from core.layers import (
    ActivationLayer,
    BatchNorm,
    Dense,
    Dropout,
    FlatStorage,
    Layer,
    Maxout,
    PReLU,
    plain_backward,
    plain_forward,
)
from core.losses import Head, accuracy, make_head

Array = np.ndarray


class ArrayDict(dict):
    """A dict of fixed arrays: `d[key] = value` copies value into the existing array.

    The network's arrays are shared with (and partly views into) its layers, so rebinding a key
    would silently detach it; copying keeps them linked. Shapes must match.
    """

    def __setitem__(self, key: str, value) -> None:
        target = self.get(key)
        if target is None:
            super().__setitem__(key, value)
        elif value is not target:
            _copy_into(key, target, value)

    def update(self, other=(), **kwargs) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value


def _copy_into(key: str, target: Array, value) -> None:
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"shape mismatch for {key!r}: expected {target.shape}, got {value.shape}")
    np.copyto(target, value, casting="same_kind")


def _flat_slice(flat: Array, view: Array) -> slice:
    """Where the contiguous `view` sits inside `flat`."""
    start = (view.ctypes.data - flat.ctypes.data) // flat.itemsize
    return slice(start, start + view.size)


class Block:
    """One layer as the UI sees it: its layers, parameter keys and last activations (read only)."""

    def __init__(self, index: int, name: str, activation: str, units: int, kind: str = "dense"):
        self.index, self.name, self.activation, self.units, self.kind = (
            index,
            name,
            activation,
            units,
            kind,
        )
        self.weight_key, self.bias_key = f"{index}.W", f"{index}.b"
        self.layers: list[Layer] = []
        self.param_keys: list[str] = []
        self.frozen = False
        self._act = None  # the layer whose output is `last_output` (activation layer or head)

    def add(self, layer: Layer) -> Layer:
        self.layers.append(layer)
        self.param_keys += [f"{self.index}.{name}" for name in layer.params]
        return layer

    @property
    def last_output(self) -> Array | None:
        """(n, units) post-activation output of the last training forward (before dropout)."""
        Y = self._act.Y
        return None if Y is None else Y.T


def count_parameters(config: NetworkConfig, n_inputs: int, n_outputs: int) -> int:
    """Trainable parameters of the network `config` would build (without building it)."""
    total, fan_in = 0, n_inputs
    for layer in config.hidden:
        columns = layer.units * (layer.maxout_pieces if layer.kind == "maxout" else 1)
        total += (fan_in + 1) * columns
        total += 2 * layer.units if layer.batch_norm else 0
        total += layer.units if layer.activation == "prelu" else 0
        fan_in = layer.units
    return total + (fan_in + 1) * n_outputs


class Network:
    """A feed-forward net built from a NetworkConfig; see the module docstring for the layout."""

    def __init__(self, config: NetworkConfig, n_inputs: int, n_outputs: int, seed: int = 0):
        n_params = count_parameters(config, n_inputs, n_outputs)
        if n_params > MAX_PARAMETERS:
            raise ConfigError(
                "network.hidden", f"{n_params:,} parameters", f"at most {MAX_PARAMETERS:,}"
            )
        self.config, self.n_inputs, self.n_outputs = config, n_inputs, n_outputs
        self.dtype = np.dtype(config.dtype).type
        self._init_rng = np.random.default_rng(seed)
        self._storage = FlatStorage(n_params, self.dtype)
        self.dropout_rng = np.random.default_rng([seed, 1])
        self.blocks: list[Block] = []
        fan_in = n_inputs
        for i, layer_cfg in enumerate(config.hidden):
            self.blocks.append(self._hidden_block(i, layer_cfg, fan_in))
            fan_in = layer_cfg.units
        self.head: Head = make_head(config.head, self.dtype, config.huber_delta)
        self.blocks.append(self._output_block(len(config.hidden), fan_in))
        self.blocks[0].layers[0].input_grad = False  # dL/dX of the data is never needed
        assert self._storage.full, "count_parameters disagrees with the layers built"
        self.flat_params, self.flat_grads = self._storage.params, self._storage.grads
        for i in config.frozen:
            self.blocks[i].frozen = True
        self.params, self.grads, self.buffers = ArrayDict(), ArrayDict(), ArrayDict()
        for block in self.blocks:
            for layer in block.layers:
                for name in layer.params:
                    self.params[f"{block.index}.{name}"] = layer.params[name]
                    self.grads[f"{block.index}.{name}"] = layer.grads[name]
                for name, buf in getattr(layer, "buffers", {}).items():
                    self.buffers[f"{block.index}.{name}"] = buf
        self.weight_keys = [b.weight_key for b in self.blocks]
        self.slices = {key: _flat_slice(self.flat_params, p) for key, p in self.params.items()}
        layers = [layer for block in self.blocks for layer in block.layers]
        self._forwards = [layer.forward for layer in layers]
        self._backwards = [layer.backward for layer in reversed(layers)]
        self._dropouts = [layer for layer in layers if isinstance(layer, Dropout)]
        self._plain = self._plain_pairs()
        self._train_Z: Array | None = None  # logits of the last training pass (see `backward`)

    def _plain_pairs(self) -> list[tuple[Dense, ActivationLayer, bool]] | None:
        """(Dense, activation, scratch) per hidden block if every hidden block is just Dense then
        activation (the common net, trained through the inlined `plain_forward`/`plain_backward`),
        else None. scratch: the activation is not the identity, so its input may be a buffer."""
        pairs = []
        for block in self.blocks[:-1]:
            if [type(layer) for layer in block.layers] != [Dense, ActivationLayer]:
                return None
            dense, act = block.layers
            pairs.append((dense, act, act.name != "linear"))
        return pairs

    # --- construction --------------------------------------------------------------------------

    def _weights(self, fan_in: int, units: int, activation: str, columns: int | None = None):
        cfg = self.config
        return init_weights(
            cfg.init,
            fan_in,
            units,
            self._init_rng,
            scale=cfg.init_scale,
            activation=activation,
            dtype=self.dtype,
            columns=columns,
        )

    def _hidden_block(self, i: int, lc: LayerConfig, fan_in: int) -> Block:
        cfg, dt = self.config, self.dtype
        block = Block(i, f"hidden {i + 1}", lc.activation, lc.units, lc.kind)
        if lc.kind == "maxout":
            W = self._weights(fan_in, lc.units, lc.activation, lc.units * lc.maxout_pieces)
            block.add(Maxout(W, lc.maxout_pieces, alloc=self._storage))
        else:
            W = self._weights(fan_in, lc.units, lc.activation)
            block.add(Dense(W, alloc=self._storage))
        if lc.batch_norm:
            block.add(BatchNorm(lc.units, dt, alloc=self._storage))
        if lc.activation == "prelu":
            block._act = block.add(PReLU(lc.units, cfg.prelu_init, dt, alloc=self._storage))
        else:
            act = make_activation(lc.activation, dt, cfg.leaky_slope, cfg.elu_alpha)
            block._act = block.add(ActivationLayer(act))
        if lc.dropout > 0:
            block.add(Dropout(lc.dropout, self.dropout_rng, dt))
        return block

    def _output_block(self, i: int, fan_in: int) -> Block:
        block = Block(i, "output", self.config.head, self.n_outputs)
        W = self._weights(fan_in, self.n_outputs, self.head.activation)
        block.add(Dense(W, alloc=self._storage))
        block._act = self.head
        return block

    # --- the hot path ----------------------------------------------------------------------------

    def _check(self, X) -> Array:
        if X.__class__ is not Array:
            X = np.asarray(X)
        shape = X.shape
        if len(shape) != 2 or shape[1] != self.n_inputs:
            raise ValueError(f"expected X of shape (n, {self.n_inputs}), got {X.shape}")
        return X

    def _logits(self, X: Array, training: bool) -> Array:
        """Feature-major logits Z (n_outputs, n) of the output layer (X already checked).

        A training pass records its Z: `backward` accepts only the head's loss on that Z."""
        A = X.T
        if not training:
            for forward in self._forwards:
                A = forward(A, False)
            return A
        if self._plain is not None:
            Z = plain_forward(self._plain, self.blocks[-1].layers[0], A)
        else:
            for forward in self._forwards:
                A = forward(A, True)
            Z = A
        self._train_Z = Z
        return Z

    def logits(self, X, training: bool) -> Array:
        """Feature-major logits Z (n_outputs, n): the output layer before the head.

        `head.forward(Z, y, training)` gives the loss and `head.output(Z)` the prediction, so one
        pass serves both. training=True caches what backward needs (then call
        head.forward(Z, y, True) on this very Z before backward). An X stored feature-major
        (X = Xt.T with Xt C-contiguous) saves the transposing copy into the first layer.
        """
        return self._logits(self._check(X), training)

    def forward(self, X, training: bool) -> Array:
        """The head's output (n, n_outputs). training=True uses batch statistics and dropout and
        caches the pass, but has no loss: a `backward` right after it raises."""
        Z = self._logits(self._check(X), training)
        if training:
            self.head.Z, self.head.dZ = Z, None  # the output the UI reads; no loss gradient
        return self.head.output(Z).T

    def loss(self, X, y, training: bool = False) -> float:
        """Mean data loss (no regularization). By default a measurement in eval mode, with no
        side effect; training=True is a training pass (batch statistics, dropout, batch-norm
        running averages updated) that caches dL/dθ's ingredients for `backward`."""
        return self.head.forward(self._logits(self._check(X), training), y, training)

    def backward(self) -> None:
        """Fill self.grads with dL/dθ (mean over the batch) of the last training pass, which must
        be a loss: loss(X, y, training=True), or head.forward(logits(X, True), y, True)."""
        head = self.head
        d = head.backward()
        if d is None or head.Z is not self._train_Z:
            raise RuntimeError(
                "backward() needs the loss of the last training pass: call "
                "loss(X, y, training=True) right before backward() (a later training forward "
                "or logits(X, True) without its loss would pair the wrong caches)"
            )
        if self._plain is not None:
            plain_backward(self._plain, self.blocks[-1].layers[0], d)
            return
        for backward in self._backwards:
            d = backward(d)

    @property
    def min_batch(self) -> int:
        """The smallest training batch every layer learns from (2 with batch norm, else 1)."""
        return max(layer.MIN_BATCH for block in self.blocks for layer in block.layers)

    # --- evaluation ------------------------------------------------------------------------------

    def predict(self, X) -> Array:
        """Eval-mode output (n, n_outputs): batch norm uses running stats, dropout is off."""
        return np.ascontiguousarray(self.forward(X, training=False))

    def accuracy(self, X, y) -> float | None:
        """Fraction correct (classification heads) or None (regression)."""
        return accuracy(self.config.head, self.predict(X), y)

    def predict_mc_dropout(self, X, n_passes: int, seed: int) -> tuple[Array, Array]:
        """Mean and std over n_passes eval passes with dropout kept on (Monte Carlo dropout).

        Without dropout every pass is the same: one pass, and a std of exactly zero.
        """
        if n_passes < 1:
            raise ValueError(f"n_passes must be at least 1, got {n_passes}")
        if not self._dropouts:
            out = self.predict(X)
            return out, np.zeros_like(out)
        rng = np.random.default_rng(seed)
        saved = [(d.rng, d.mc) for d in self._dropouts]
        try:
            for d in self._dropouts:
                d.rng, d.mc = rng, True
            outs = np.stack([self.forward(X, training=False) for _ in range(n_passes)])
        finally:
            for d, (r, mc) in zip(self._dropouts, saved, strict=True):
                d.rng, d.mc = r, mc
        return outs.mean(axis=0), outs.std(axis=0)

    def neuron_outputs(self, X) -> list[Array]:
        """Eval mode, one pass: each hidden block's post-activation output (n, units), then the
        head output (n, n_outputs)."""
        A = self._check(X).T
        outs = []
        for block in self.blocks:
            for layer in block.layers:
                A = layer.forward(A, training=False)
                if layer is block._act:
                    outs.append(np.ascontiguousarray(A.T))
        outs.append(np.ascontiguousarray(self.head.output(A).T))
        return outs

    # --- state -----------------------------------------------------------------------------------

    def n_parameters(self) -> int:
        return sum(p.size for p in self.params.values())

    def state_dict(self) -> dict[str, Array]:
        """Copies of all parameters and buffers (batch-norm running mean/var)."""
        return {k: v.copy() for k, v in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state: dict[str, Array]) -> None:
        """Copy `state` into the network; keys and shapes must match exactly."""
        own = {**self.params, **self.buffers}
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"state dict mismatch: missing keys {missing}, unexpected {unexpected}"
            )
        for key, value in state.items():
            if np.shape(value) != own[key].shape:
                raise ValueError(
                    f"shape mismatch for {key!r}: network has {own[key].shape}, "
                    f"state has {np.shape(value)}"
                )
        for key, value in state.items():
            _copy_into(key, own[key], value)
