"""One spec grammar and one coercion rule set, for problems, models, optimizer phases, remedies and run options.

Grammar: ``NAME[:key=value,...]`` (``parse_spec``) and repeated ``NAME=VALUE`` options (``parse_pairs``); spaces
around names, keys and values are stripped, a key given twice is an error.

Coercion (``coerce``), the same for strings from the command line and values from Python or a TOML file:

- ``float``: a number or a numeric string, finite (nan and ±inf refused); booleans are not numbers;
- ``int``: an integer, an integral float (``3.0``) or a string of one (``"3"``, ``"3.0"``); ``1.5`` and booleans
  refused; |value| < 2**63;
- ``bool``: ``True``/``False``, ``0``/``1`` or the strings ``"0"``, ``"1"``, ``"true"``, ``"false"`` (any case);
  the result is a real ``bool``;
- ``str``: a string (a number is taken as its text).

Every error is a ``PinnsightError`` of one form, ``f"{where}: {key}={raw!r} {reason}"``, e.g.
``optimizer adam: lr=nan must be finite``. Range checks (``positive``, ``non_negative``, ``between``, ``below``,
``one_of``) are callables ``value -> bool`` that carry the reason they state, usable as ``checks`` of
``options_from_defaults`` and ``check``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import PinnsightError

#: the kinds of value an option may have (the type of its default)
KINDS = (bool, int, float, str)

#: the largest magnitude an integer option may have (it must fit a 64-bit integer)
INT_LIMIT = 2**63

_TRUE = ("1", "true")
_FALSE = ("0", "false")


def fail(where: str, key: str, raw: Any, reason: str) -> PinnsightError:
    """The one error form: ``f"{where}: {key}={raw!r} {reason}"`` (returned, for ``raise``); a numpy scalar is
    shown as its Python value, a very long value shortened."""
    if type(raw).__module__ == "numpy" and hasattr(raw, "item"):
        raw = raw.item()
    text = repr(raw)
    if len(text) > 60:
        text = f"{text[:24]}…{text[-8:]} ({len(text)} characters)"
    return PinnsightError(f"{where}: {key}={text} {reason}")


# -------------------------------------------------------------------------------------------------- grammar
def parse_spec(text: Any, what: str) -> tuple[str, dict[str, str]]:
    """``"name:key=value,key=value"`` -> (name, {key: raw value}). ``what`` names the kind of spec in errors
    (``optimizer``, ``--model``, ``remedy``). Empty items (a trailing comma) are skipped."""
    if not isinstance(text, str):
        raise PinnsightError(f"{what} {text!r} must be a string NAME[:key=value,...]")
    name, _, rest = text.strip().partition(":")
    name = name.strip()
    if not name:
        raise PinnsightError(f"{what} {text!r} has no name (expected NAME[:key=value,...])")
    raw: dict[str, str] = {}
    for item in rest.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise PinnsightError(f"{what} {name}: option {item.strip()!r} is not of the form key=value")
        if key in raw:
            raise PinnsightError(f"{what} {name}: option {key!r} given twice ({key}={raw[key]}, {key}={value})")
        raw[key] = value
    return name, raw


def format_spec(name: str, options: Mapping[str, Any]) -> str:
    """The spec string ``name:key=value,...`` of ``options`` (just ``name`` without options)."""
    if not options:
        return name
    return f"{name}:" + ",".join(f"{k}={format_value(v)}" for k, v in options.items())


def format_value(value: Any) -> str:
    """A value as written in a spec: booleans 1/0, floats in their shortest exact form (``2`` for 2.0), the rest
    as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value)


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options (``-p beta=30 -p nu=1``) -> {name: raw value}; a name given twice is an
    error (a later value would otherwise silently win)."""
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise PinnsightError(f"{what} {item!r} is not of the form NAME=VALUE")
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise PinnsightError(f"{what} {item!r} is not of the form NAME=VALUE")
        if name in out:
            raise PinnsightError(f"{what} {name!r} given twice ({name}={out[name]}, {name}={value})")
        out[name] = value
    return out


# ------------------------------------------------------------------------------------------------- coercion
def coerce(value: Any, kind: type, where: str, key: str) -> Any:
    """``value`` as ``kind`` (bool, int, float or str) by the one rule set (module docstring); PinnsightError in
    the one form otherwise."""
    if kind is bool:
        return _to_bool(value, where, key)
    if kind is int:
        return _to_int(value, where, key)
    if kind is float:
        return _to_float(value, where, key)
    if kind is str:
        return _to_str(value, where, key)
    raise PinnsightError(f"{where}: {key} has a default of unsupported type {kind.__name__} "
                         f"(options are {', '.join(k.__name__ for k in KINDS)})")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")  # numpy booleans too


def _to_bool(value, where, key) -> bool:
    if _is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(int(value))
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise fail(where, key, value, "is not a valid bool (true/false or 1/0)")


def _to_float(value, where, key) -> float:
    if _is_bool(value):
        raise fail(where, key, value, "is not a number (booleans are not numbers)")
    if isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise fail(where, key, value, "is not a number") from None
    elif isinstance(value, numbers.Real):
        try:
            out = float(value)
        except OverflowError:
            raise fail(where, key, value, "must be finite") from None
    else:
        raise fail(where, key, value, "is not a number")
    if not math.isfinite(out):
        raise fail(where, key, value, "must be finite")
    return out


def _to_int(value, where, key, limit: bool = True) -> int:
    if _is_bool(value):
        raise fail(where, key, value, "is not an integer (booleans are not numbers)")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, (str, numbers.Real)):
        out = None
        if isinstance(value, str):
            try:
                out = int(value.strip())  # exact for long integer strings
            except ValueError:
                pass
        if out is None:
            try:
                number = float(value.strip() if isinstance(value, str) else value)
            except (TypeError, ValueError, OverflowError):
                raise fail(where, key, value, "is not an integer") from None
            if not math.isfinite(number):
                raise fail(where, key, value, "is not an integer (must be finite)")
            if not number.is_integer():
                raise fail(where, key, value, "is not an integer")
            out = int(number)
    else:
        raise fail(where, key, value, "is not an integer")
    if limit and not -INT_LIMIT < out < INT_LIMIT:
        raise fail(where, key, value, "is out of range (an integer option must be below 2**63 in magnitude)")
    return out


def _to_str(value, where, key) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, numbers.Real) and not _is_bool(value):
        return format_value(value)
    raise fail(where, key, value, "is not a string")


# ---------------------------------------------------------------------------------------------------- ranges
class Check:
    """A range check: ``check(value) -> bool``, with the reason it states when the value fails it."""

    def __init__(self, test: Callable[[Any], bool], reason: str):
        self.test, self.reason = test, reason

    def __call__(self, value: Any) -> bool:
        return bool(self.test(value))

    def __repr__(self) -> str:
        return f"Check({self.reason!r})"


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


positive = Check(lambda v: v > 0, "is out of range (must be positive)")
non_negative = Check(lambda v: v >= 0, "is out of range (must be non-negative)")


def between(lo: float, hi: float, *, low_open: bool = False, high_open: bool = False) -> Check:
    """lo ≤ v ≤ hi, either end open on request; the reason reads ``must be in [lo, hi)``."""
    def test(v):
        return (v > lo if low_open else v >= lo) and (v < hi if high_open else v <= hi)

    brackets = ("(" if low_open else "[") + f"{_num(lo)}, {_num(hi)}" + (")" if high_open else "]")
    return Check(test, f"is out of range (must be in {brackets})")


def at_least(lo: float) -> Check:
    return Check(lambda v: v >= lo, f"is out of range (must be ≥ {_num(lo)})")


def below(hi: float, text: str | None = None) -> Check:
    """v < hi (``text`` writes the bound, e.g. ``"2**32"``)."""
    return Check(lambda v: v < hi, f"is out of range (must be < {text or _num(hi)})")


def one_of(*choices: Any) -> Check:
    return Check(lambda v: v in choices, f"is not one of {', '.join(map(str, choices))}")


def all_of(*checks: Callable[[Any], bool]) -> Check:
    """Every check in turn; the reason is that of the first one failed (see ``check``)."""
    return _AllOf(checks)


class _AllOf(Check):
    def __init__(self, checks):
        self.checks = tuple(checks)
        super().__init__(lambda v: all(c(v) for c in self.checks), "is out of range")

    def failing(self, value):
        return next((c for c in self.checks if not c(value)), None)


def check(value: Any, test: Callable[[Any], bool] | None, where: str, key: str, raw: Any = None) -> Any:
    """``value`` if it passes ``test`` (a ``Check`` or any ``value -> bool``), else the one error with the check's
    reason (``is out of range`` for a plain callable); ``raw`` is what the user wrote (default: ``value``)."""
    if test is None:
        return value
    if isinstance(test, _AllOf):
        failed = test.failing(value)
        if failed is not None:
            raise fail(where, key, value if raw is None else raw, getattr(failed, "reason", "is out of range"))
        return value
    if not test(value):
        raise fail(where, key, value if raw is None else raw, getattr(test, "reason", "is out of range"))
    return value


def value(raw: Any, kind: type, where: str, key: str, test: Callable[[Any], bool] | None = None) -> Any:
    """``coerce`` then ``check``: one typed, range-checked value (an integer's own range is checked before the
    general limit, so a huge seed is told the seed's range)."""
    if kind is int and test is not None:
        check(_to_int(raw, where, key, limit=False), test, where, key, raw)
    return check(coerce(raw, kind, where, key), test, where, key, raw)


def options_from_defaults(defaults: Mapping[str, Any], raw: Mapping[str, Any] | None, where: str, *,
                          checks: Mapping[str, Callable[[Any], bool]] | None = None,
                          also: Iterable[str] = ()) -> dict[str, Any]:
    """``defaults`` updated with ``raw`` options, each coerced to the type of its default and range-checked by
    ``checks[key]`` (if any). An unknown key is an error listing the known options (``also``: extra names that
    are valid elsewhere, listed first, e.g. an optimizer's ``steps``)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PinnsightError(f"{where}: options must be a mapping of key=value, got {raw!r}")
    checks = checks or {}
    out = dict(defaults)
    for key, given in raw.items():
        if key not in defaults:
            known = ", ".join([*also, *defaults]) or "none"
            raise PinnsightError(f"{where}: unknown option {key!r} (options: {known})")
        out[key] = value(given, type(defaults[key]), where, key, checks.get(key))
    return out
