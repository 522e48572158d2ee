"""Pick tags: what a click on a chart's point chooses, carried by the figure itself.

A trace whose points can be picked carries `meta["pick"]` = {"tag": fixed fields, "fields":
{name: customdata column}}: a click on point p sends the tag {**tag, name: customdata[p][column]}
(a one-column customdata is read as customdata[p]). The live view's browser side reads it
(`liveview.js`, `pickOf`); `tags` here reads it the same way, for tests. Three kinds:

    {"kind": "weight", "layer": block, "from": row of W, "to": column of W}   a link
    {"kind": "bias", "layer": block, "to": column of b}                         a neuron
    {"kind": "point", "index": training-set index}                              a training point

(block 0 = the first hidden layer; a maxout block's column is unit·k + piece.) Only what maps to
one real weight, bias or training point is tagged; `playground.panels.picks` checks a tag
against the network before it is used.
"""

from __future__ import annotations

import numpy as np

PICK = "pick"
WEIGHT, BIAS, POINT = "weight", "bias", "point"


def pick_meta(kind: str, columns: dict[str, int], **fixed: int) -> dict:
    """The `meta` entry of a trace whose points are picked as `kind`: `fixed` holds for every
    point, each name in `columns` comes from that customdata column of the clicked point."""
    return {PICK: {"tag": {"kind": kind, **fixed}, "fields": dict(columns)}}


def tags(trace) -> list[dict]:
    """The tag each point of `trace` sends when clicked (a dict trace or a plotly trace)."""
    meta = trace.get("meta") if isinstance(trace, dict) else trace.meta
    if not meta or PICK not in meta:
        return []
    pick = meta[PICK]
    data = np.asarray(trace["customdata"])
    rows = data.reshape(len(data), -1)
    return [
        pick["tag"] | {name: int(row[col]) for name, col in pick["fields"].items()} for row in rows
    ]
