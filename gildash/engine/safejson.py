"""JSON that cannot fail: any value (dataclasses, tuples, sets, paths, floats, nesting of any depth) to a
plain JSON-ready value, and strict JSON text of it.

Non-finite floats become None (JSON has no Infinity/NaN); nesting deeper than MAX_DEPTH becomes a short
marker string, so neither conversion nor encoding can recurse too deep; anything else unknown becomes its
type name. Never raises on ordinary data; never imports textual.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

MAX_DEPTH = 64
"""Containers nested deeper than this are replaced by TOO_DEEP (a result value, not a data structure)."""
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"
"""What stands in for a container nested too deep."""

_MAX_INT_BITS = 14_000
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of value: dicts with str keys, lists, str, int, finite float, bool, None."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        # str() of an int beyond ~4300 digits raises (CPython's int/str conversion limit).
        return value if value.bit_length() <= _MAX_INT_BITS else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return [plain(v, depth + 1) for v in sorted(value, key=repr)]
    if isinstance(value, PurePath):
        return str(value)
    return f"<{type(value).__name__}>"


def dumps(value: Any) -> str:
    """Compact strict JSON of plain(value) (never Infinity/NaN, never a RecursionError)."""
    return _ENCODER.encode(plain(value))


def finite_floats_only(text: str) -> Any:
    """json.loads that refuses Infinity, -Infinity and NaN (ValueError), as strict JSON readers do."""
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
