"""playground/ is laid out by part of the page: app.py is a table of contents, each panel has
its own module, and the tab's state lives in one place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND = ROOT / "playground"
PANELS = ("sidebar", "run_buttons", "messages", "metrics", "output", "network", "loss")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def test_app_is_a_table_of_contents():
    """app.py defines main() alone and calls parts of the page; no logic, no figures."""
    tree = _tree(PLAYGROUND / "app.py")
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["main"]
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith(("core", "playground.charts")) for m in imported), imported
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert len(main.body) <= 12


def test_each_panel_has_its_own_module_with_a_docstring():
    for name in (*PANELS, "inspection"):
        path = PLAYGROUND / "panels" / f"{name}.py"
        assert ast.get_docstring(_tree(path)), name
        assert name in ast.get_docstring(_tree(PLAYGROUND / "panels" / "__init__.py"))


def test_the_tabs_state_keys_live_in_one_module():
    """st.session_state keys for the session, hidden sections and lesson are written once."""
    for path in PLAYGROUND.rglob("*.py"):
        if path.name == "tab.py":
            continue
        text = path.read_text()
        for literal in ('"hidden_sections"', '"preset_name"'):
            assert literal not in text, (path, literal)
