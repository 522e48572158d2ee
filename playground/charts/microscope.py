"""The backprop microscope's tables and formulas: pure functions from a `core.microscope.Microscope`
to rows (lists of dicts) and LaTeX / Markdown text. No Streamlit here."""

from __future__ import annotations

import re

from core.microscope import ChainStep, Microscope

DIGITS = 6  # significant digits of the numbers written into formulas


def num(value: float | None) -> str:
    """A number as the formulas write it (DIGITS significant digits)."""
    return "–" if value is None else f"{value:.{DIGITS}g}"


def forward_rows(view: Microscope) -> list[dict]:
    """Input features, then per layer and unit: z (and u before batch norm or a maxout
    piece), a and the dropout factor, from the input side down."""
    rows = [
        {"layer": "input", "unit": name, "z": None, "a": float(x)}
        for name, x in zip(view.input_names, view.inputs, strict=True)
    ]
    for layer in view.layers:
        for j in range(len(layer.z)):
            row = {"layer": layer.name, "unit": f"#{j + 1}", "z": float(layer.z[j])}
            row["a"] = float(layer.a[j])
            if layer.batch_norm:
                row["u (before batch norm)"] = float(layer.u[j])
            if layer.dropout_factor is not None:
                row["dropout m/(1−p)"] = float(layer.dropout_factor[j])
            rows.append(row)
    return rows


def backward_rows(view: Microscope) -> list[dict]:
    """Per layer and unit, from the output back: δ = ∂L_i/∂z (and ∂L_i/∂u under batch norm)."""
    rows = []
    for layer in reversed(view.layers):
        for j in range(len(layer.delta)):
            row = {"layer": layer.name, "unit": f"#{j + 1}", "δ = ∂L/∂z": float(layer.delta[j])}
            if layer.batch_norm:
                row["∂L/∂u (before batch norm)"] = float(layer.delta_u[j])
            rows.append(row)
    return rows


_TEX = {"ã": r"\tilde{a}", "L": "L_i"}


def tex(symbol: str) -> str:
    """'∂L/∂a' as a LaTeX fraction."""
    m = re.fullmatch(r"∂(.)/∂(.)", symbol)
    if not m:
        return symbol
    top, bottom = (_TEX.get(s, s) for s in m.groups())
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _value(x: float) -> str:
    return rf"({num(x)})" if x < 0 else num(x)


def chain_latex(view: Microscope) -> list[str]:
    """The chain rule as LaTeX lines: one product with its numbers where every step is a
    product; otherwise (batch norm mixes the batch) one line per step."""
    steps: tuple[ChainStep, ...] = view.chain
    goal = tex("∂L/∂w")
    if all(s.factor is not None for s in steps[1:]):
        symbols = r" \cdot ".join(tex(s.symbol) for s in steps)
        numbers = r" \cdot ".join(
            _value(v) for v in [steps[0].value] + [s.factor for s in steps[1:]]
        )
        return [rf"{goal} = {symbols} = {numbers} = {num(view.point_gradient)}"]
    lines = [rf"{tex(steps[0].value_symbol)} = {num(steps[0].value)}"]
    for s in steps[1:]:
        if s.factor is None:
            lines.append(rf"{tex(s.value_symbol)} = \text{{(batch norm)}} = {num(s.value)}")
        else:
            lines.append(
                rf"{tex(s.value_symbol)} = {tex(s.symbol)} \cdot (\ldots) = "
                rf"{_value(s.factor)} \cdot (\ldots) = {num(s.value)}"
            )
    return lines


def chain_factors(view: Microscope) -> list[str]:
    """One Markdown line per factor: its symbol, how it is computed, and its value."""
    out = []
    for s in view.chain:
        value = s.value if s.factor is None else s.factor
        out.append(f"{s.symbol} = {s.formula} = {num(value)}")
    return out


def gradient_lines(view: Microscope) -> list[str]:
    n = view.batch_size
    lines = [
        f"this point: ∂L_i/∂w = {num(view.point_gradient)}",
        f"the batch (what the engine uses): ∂L/∂w = (1/{n}) Σ_i ∂L_i/∂w = "
        f"{num(view.batch_gradient)}",
    ]
    lines += [f"{s.label}: {s.formula} = {num(s.value)}" for s in view.gradient_stages[1:]]
    return lines


def update_lines(view: Microscope) -> list[str]:
    """The optimizer's rule and its numbers: settings, state before and after, the result."""
    u = view.update
    if u is None:
        return []
    settings = ", ".join(
        [f"lr = {num(u.learning_rate)}"] + [f"{k} = {num(v)}" for k, v in u.settings]
    )
    lines = [f"{u.label}: {settings}" + (f", t = {u.t}" if u.t is not None else "")]
    lines.append(f"g = {num(u.gradient)}")
    for (name, before), (_, after) in zip(u.state_before, u.state_after, strict=True):
        lines.append(f"{name}: {num(before)} → {num(after)}")
    lines += [f"{name} = {formula} = {num(value)}" for name, formula, value in u.worked]
    if u.max_norm_scale is not None:
        lines.append(
            f"max-norm: w ← w · {num(u.max_norm_scale)} (after the optimizer: "
            f"{num(u.weight_after_optimizer)})"
        )
    lines.append(f"w: {num(u.weight_before)} → {num(u.weight_after)}  (Δw = {num(u.change)})")
    return lines
