"""The main area's panels now live one module each in `playground/panels/`; this module keeps
the names callers of the former single views module import (the inspection views and the text
escape)."""

from __future__ import annotations

from playground.panels.common import escape as _escape
from playground.panels.inspection import IMAGE_VIEWS, INSPECT_VIEWS
from playground.panels.inspection import VIEW_KEY as INSPECT_VIEW_KEY

__all__ = ["IMAGE_VIEWS", "INSPECT_VIEWS", "INSPECT_VIEW_KEY", "_escape"]
