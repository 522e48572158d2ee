"""Views and chart builders draw only what they are handed: model outputs (maps over the plane,
Monte-Carlo bands, predictions and their classes) come from core.predictions via the session,
so no drawing code runs the network, asks its head for a class, or rebuilds an input grid."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND = ROOT / "playground"

# Attributes that reach the model or recompute its inputs: the network and its head, the
# passes, the head's class rule, and the dataset's grid and feature transform.
MODEL_ATTRIBUTES = frozenset(
    {
        "network",
        "head",
        "predict",
        "predict_mc_dropout",
        "predict_class",
        "probabilities",
        "probability",
        "forward",
        "logits",
        "neuron_outputs",
        "grid",
        "transform",
    }
)
MODEL_MODULES = ("core.network", "core.losses", "core.layers", "core.trainer", "core.predictions")


def drawing_modules() -> list[Path]:
    """Every module that lays out or builds figures: views, panels, the live loop and charts."""
    files = [PLAYGROUND / "live.py"]
    for folder in ("charts", "panels"):
        files += sorted((PLAYGROUND / folder).glob("*.py"))
    return [f for f in files if f.exists()]


def model_uses(source: str) -> list[str]:
    """Where `source` reaches the model: `x.<model attribute>` and imports of model modules."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in MODEL_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(MODEL_MODULES):
            found.append(f"line {node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.startswith(MODEL_MODULES)
            ]
    return found


def test_the_drawing_modules_are_found():
    names = {f.relative_to(PLAYGROUND).as_posix() for f in drawing_modules()}
    assert {"live.py", "charts/output.py", "charts/network_diagram.py"} <= names


@pytest.mark.parametrize("path", drawing_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_drawing_code_never_reaches_the_model(path):
    assert model_uses(path.read_text()) == []


def test_the_check_sees_each_kind_of_use():
    source = (
        "import core.network\nfrom core.losses import make_head\n"
        "y = session.trainer.network.predict(X)\nc = head.predict_class(y)\n"
    )
    uses = model_uses(source)
    assert len(uses) == 5, uses
