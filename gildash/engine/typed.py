"""Model dataclasses rebuilt from untrusted JSON, checked against their own type hints.

A value of the wrong type, a non-finite float, an int where a bool belongs (or the reverse) or a string
outside a Literal raises TypedError naming the field; unknown keys are ignored, missing ones take the
field's default. `Any` fields are made safe with safejson.plain (finite, bounded depth). Never imports
textual.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from gildash.engine.safejson import plain

T = TypeVar("T")


class TypedError(ValueError):
    """A JSON value that does not fit the field it is meant for (one line, names the field)."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(
    cls: type[T],
    data: Any,
    where: str = "",
    converters: Mapping[str, Callable[[Any], Any]] | None = None,
) -> T:
    """An instance of the dataclass cls from a JSON object; TypedError when any field does not fit.

    converters: fields with a reader of their own (it raises ValueError or TypeError on a bad value).
    """
    name = where or cls.__name__
    if not isinstance(data, Mapping):
        raise TypedError(f"{name}: expected an object")
    hints = _hints(cls)  # type: ignore[arg-type]
    own = converters or {}
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in own and f.name in data:
            kwargs[f.name] = own[f.name](data[f.name])
        elif f.name in data:
            kwargs[f.name] = coerce(data[f.name], hints[f.name], f"{name}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypedError(f"{name}.{f.name}: missing")
    return cls(**kwargs)


_SCALARS: dict[Any, tuple[Callable[[Any], bool], str]] = {
    bool: (lambda v: isinstance(v, bool), "true or false"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),  # a bool is no count
    str: (lambda v: isinstance(v, str), "a string"),
}
"""Scalar hints: (does the JSON value fit, what was expected)."""


def coerce(value: Any, hint: Any, where: str) -> Any:
    """value checked (and converted: lists to tuples, ints to floats) against the type hint."""
    if hint is Any:
        return plain(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypedError(f"{where}: expected a number")
        number = float(value)
        if not math.isfinite(number):
            raise TypedError(f"{where}: not a finite number")
        return number
    scalar = _SCALARS.get(hint)
    if scalar is not None:
        fits, what = scalar
        if not fits(value):
            raise TypedError(f"{where}: expected {what}")
        return value
    if hint is type(None):
        if value is not None:
            raise TypedError(f"{where}: expected null")
        return None
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except TypedError:
                continue
        raise TypedError(f"{where}: unexpected value")
    if origin is typing.Literal:
        if not isinstance(value, str | int) or isinstance(value, bool) or value not in args:
            raise TypedError(f"{where}: expected one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypedError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise TypedError(f"{where}: expected {len(args)} items")
        return tuple(coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise TypedError(f"{where}: expected an object")
        value_hint = args[1] if len(args) == 2 else Any
        return {str(k): coerce(v, value_hint, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    return plain(value)  # a hint this checker does not know: at least JSON-safe
