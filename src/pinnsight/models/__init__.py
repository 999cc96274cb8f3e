"""Network architectures, selectable by name with ``name:key=value`` options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax

from ..errors import PinnsightError
from .mlp import MLP, glorot_normal


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    options: Mapping[str, type]  # option name -> type (int/float/str)
    defaults: Mapping[str, Any]
    build: Callable[..., Any]  # build(in_size, *, key, dtype, **options)


_MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, summary: str, defaults: Mapping[str, Any], build: Callable[..., Any]) -> None:
    """Make ``build(in_size, *, key, dtype, **options)`` available as ``--model name:key=value``."""
    _MODELS[name] = ModelSpec(name, summary, {k: type(v) for k, v in defaults.items()}, dict(defaults), build)


def model_specs() -> dict[str, ModelSpec]:
    return dict(sorted(_MODELS.items()))


def resolve_model_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of model ``name`` updated with validated ``options`` (strings are parsed)."""
    if name not in _MODELS:
        raise PinnsightError(f"unknown model {name!r} (known: {', '.join(sorted(_MODELS))})")
    spec = _MODELS[name]
    resolved = dict(spec.defaults)
    for key, raw in (options or {}).items():
        if key not in spec.options:
            raise PinnsightError(f"model {name}: unknown option {key!r} (options: {', '.join(spec.options)})")
        kind = spec.options[key]
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise PinnsightError(f"model {name}: {key}={raw!r} is not a valid {kind.__name__}") from None
        if kind in (int, float) and value <= 0:
            raise PinnsightError(f"model {name}: {key}={raw!r} must be positive")
        resolved[key] = value
    return resolved


def make_model(name: str, in_size: int, *, key: jax.Array, dtype=None, **options: Any):
    """Build model ``name`` for points of dimension ``in_size`` with parameters of ``dtype``."""
    return _MODELS[name].build(in_size, key=key, dtype=dtype, **resolve_model_options(name, options))


register_model("mlp", "tanh MLP, Glorot-normal weights (default 4 × 50)", {"width": 50, "depth": 4}, MLP)

__all__ = ["MLP", "ModelSpec", "glorot_normal", "make_model", "model_specs", "register_model", "resolve_model_options"]
