"""A short look at an artifact: JSON as text, small arrays and data frames as tables.

Only artifacts stored as JSON, ``.npy`` or parquet, and no larger than
:data:`MAX_PREVIEW_BYTES`, are read: a pickle can run code when loaded, so the page shows
only its size and URI.
"""

from __future__ import annotations

import json
from typing import Any

from flowyml.backend import ArtifactError, ArtifactRef, FlowyMLError

__all__ = ["MAX_PREVIEW_BYTES", "preview_artifact"]

MAX_PREVIEW_BYTES = 2_000_000
MAX_ROWS = 50
MAX_COLUMNS = 20
MAX_TEXT = 20_000
_READABLE = (".json", ".npy", ".parquet")


def preview_artifact(ref: dict[str, Any]) -> dict[str, Any]:
    """The preview of the artifact a step record names.

    Args:
        ref: the step record's output entry (``uri``, ``size``, ``digest``).

    Returns:
        ``uri``, ``size`` and ``kind``: ``"json"`` (with ``text``), ``"table"`` (with
        ``columns``, ``rows`` and ``shape``), or ``"none"`` (with ``reason``).
    """
    uri = str(ref.get("uri", ""))
    size = int(ref.get("size") or 0)
    base = {"uri": uri, "size": size}
    if not uri.endswith(_READABLE):
        return {**base, "kind": "none", "reason": "not previewed: stored as a pickle"}
    if size > MAX_PREVIEW_BYTES:
        return {**base, "kind": "none", "reason": "too large to preview"}
    try:
        value = ArtifactRef.from_dict(ref).load()
    except (ArtifactError, FlowyMLError, OSError, ImportError) as exc:
        return {**base, "kind": "none", "reason": f"cannot be read: {exc}"}
    return {**base, **_describe(value)}


def _describe(value: Any) -> dict[str, Any]:
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "columns"):
        return _frame_table(value)
    if module == "numpy" and hasattr(value, "ndim"):
        return _array_table(value)
    text = json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n… (truncated)"
    return {"kind": "json", "text": text}


def _frame_table(frame: Any) -> dict[str, Any]:
    shown = frame.iloc[:MAX_ROWS, :MAX_COLUMNS]
    return {
        "kind": "table",
        "shape": list(frame.shape),
        "columns": [str(c) for c in shown.columns],
        "rows": [[_cell(v) for v in row] for row in shown.itertuples(index=False)],
    }


def _array_table(array: Any) -> dict[str, Any]:
    shape = list(array.shape)
    if array.ndim == 0:
        return {"kind": "json", "text": json.dumps(array.item(), default=str)}
    if array.ndim > 2:
        return {"kind": "none", "reason": f"array of shape {shape}, dtype {array.dtype}"}
    matrix = array.reshape(-1, 1) if array.ndim == 1 else array
    shown = matrix[:MAX_ROWS, :MAX_COLUMNS]
    return {
        "kind": "table",
        "shape": shape,
        "dtype": str(array.dtype),
        "columns": [str(i) for i in range(shown.shape[1])],
        "rows": [[_cell(v) for v in row] for row in shown.tolist()],
    }


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
