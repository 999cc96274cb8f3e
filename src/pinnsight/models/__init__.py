"""Network architectures, selectable by name with ``name:key=value`` options."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax

from ..errors import PinnsightError
from ..spec import at_least, options_from_defaults, positive
from .hard_constraint import HARD_CONSTRAINT_DEFAULTS, HardConstraint, hard_constraint_model, hard_constraint_options
from .embeddings import (
    Embedded, FourierFeatures, PeriodicEmbedding, RootTime, SeamKink, Standardize, box_options, fourier_model, periodic_model,
    periodic_options, plain_model, smooth_periodic_coords,
)
from .distance import ExactDirichlet, exact_dirichlet
from .symmetry import Symmetrized, require_symmetries, symmetrized
from .linear_fourier import LinearFourier, linear_fourier_model, linear_fourier_options
from .mlp import MLP, glorot_normal
from .unknowns import Unknowns, WithUnknowns, coefficients, unknown_values
from .modified_mlp import ModifiedMLP


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    options: Mapping[str, type]  # option name -> type (int/float/str)
    defaults: Mapping[str, Any]
    build: Callable[..., Any]  # build(in_size, *, key, dtype, **options)
    from_problem: Callable[[Any, dict], dict] | None = None  # fills options from the problem (optional)


_MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str, summary: str, defaults: Mapping[str, Any], build: Callable[..., Any],
    from_problem: Callable[[Any, dict], dict] | None = None,
) -> None:
    """Make ``build(in_size, *, key, dtype, **options)`` available as ``--model name:key=value``.

    ``from_problem(problem, options) -> options`` (optional) fills options that depend on the problem (e.g.
    the periods of the periodic embedding) when ``make_model`` is given one."""
    _MODELS[name] = ModelSpec(
        name, summary, {k: type(v) for k, v in defaults.items()}, dict(defaults), build, from_problem
    )


def model_specs() -> dict[str, ModelSpec]:
    return dict(sorted(_MODELS.items()))


def resolve_model_options(name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of model ``name`` updated with validated ``options`` (strings are parsed by the one rule set of
    ``pinnsight.spec``: the type of each default; numbers finite and positive, or non-negative where the default is 0 (off); flags true/false or 1/0)."""
    if not isinstance(name, str) or name not in _MODELS:
        raise PinnsightError(f"unknown model {name!r} (known: {', '.join(sorted(_MODELS))})")
    spec = _MODELS[name]
    checks = {k: positive if spec.defaults[k] else at_least(0)
              for k, kind in spec.options.items() if kind in (int, float)}
    return options_from_defaults(spec.defaults, options, f"model {name}", checks=checks)


def make_model(name: str, in_size: int, *, key: jax.Array, dtype=None, problem=None, unknowns=None,
               exact_bc: bool = False, symmetric: bool = False, **options: Any):
    """Build model ``name`` for points of dimension ``in_size`` with parameters of ``dtype``; with a
    ``problem``, options the model derives from it (its ``from_problem``) are filled in first. ``unknowns``:
    ``name -> (initial, lo, hi)`` of coefficients trained with the network (``WithUnknowns``); ``exact_bc``: the
    problem's Dirichlet conditions imposed exactly (``distance.ExactDirichlet``); ``symmetric``: the problem's
    reflection symmetries built in (``symmetry.Symmetrized``, the group average of the network)."""
    resolved = resolve_model_options(name, options)
    spec = _MODELS[name]
    if problem is not None and spec.from_problem is not None:
        resolved = spec.from_problem(problem, resolved)
    fields = getattr(problem, "n_fields", 1) if problem is not None else 1
    if fields == 1:
        net = spec.build(in_size, key=key, dtype=dtype, **resolved)
    elif "out_size" in inspect.signature(spec.build).parameters:
        net = spec.build(in_size, key=key, dtype=dtype, out_size=fields, **resolved)
    else:
        raise PinnsightError(f"model {name} gives one field; problem {problem.name} has {fields} "
                             f"({', '.join(problem.fields)}): use mlp, modified-mlp, fourier or periodic")
    if exact_bc:
        net = exact_dirichlet(net, problem)
    if symmetric:
        net = symmetrized(net, problem)
    if not unknowns:
        return net
    initial = {k: v[0] for k, v in unknowns.items()}
    return WithUnknowns(net, Unknowns.create(initial, {k: v[1:] for k, v in unknowns.items()}, dtype))


PLAIN_DEFAULTS = {"width": 50, "depth": 4, "normalize": False, "box": ""}
register_model("mlp", "tanh MLP, Glorot-normal weights (default 4 × 50); normalize=1: inputs standardised on the box",
               PLAIN_DEFAULTS, plain_model(MLP, "mlp"), from_problem=box_options)
register_model(
    "modified-mlp", "modified MLP, Wang, Teng & Perdikaris 2021 Eqs. 43–47 (depth = hidden layers); normalize=1 too",
    PLAIN_DEFAULTS, plain_model(ModifiedMLP, "modified-mlp"), from_problem=box_options,
)
register_model(
    "fourier", "random Fourier features [cos 2πBx, sin 2πBx], B ~ N(0, σ²) fixed, then net (mlp|modified-mlp)",
    {"width": 50, "depth": 4, "sigma": 1.0, "features": 100, "net": "mlp"}, fourier_model,
)
register_model(
    "periodic", "exact periodic embedding [cos kωx, sin kωx] of periodic coords (ω = 2π/period), then net; "
    "root_time=1: a √(t − t0) input too (the √t layer of a kinked initial condition); seam=κ: the distance to "
    "each seam smoothed by diffusivity κ too (initial data kinked at the seam)",
    {"width": 50, "depth": 4, "coords": "", "period": "", "harmonics": 1, "net": "mlp", "root_time": False, "time": "",
     "seam": 0.0, "seam_at": ""},
    periodic_model,
    from_problem=periodic_options,
)
register_model(
    "linear-fourier",
    "u = Σ θ_j p_j φ_j on exact Fourier modes (K per space coord, M in time), linear in θ; preconditioned: "
    "p = Jacobi scaling of the exact operator matrix (De Ryck et al. 2024); lam = the BC/IC weight it assumes",
    {"K": 16, "M": 16, "preconditioned": "true", "lam": 1.0}, linear_fourier_model,
    from_problem=linear_fourier_options,
)
register_model(
    "hard-constraint", "N basis functions + differentiable least-squares fit of a LINEAR PDE and its constraints "
    "at enforcement points (Négiar, Mahoney, Krishnapriyan 2023)",
    HARD_CONSTRAINT_DEFAULTS, hard_constraint_model, from_problem=hard_constraint_options,
)

__all__ = [
    "Embedded", "ExactDirichlet", "FourierFeatures", "HardConstraint", "LinearFourier", "ModifiedMLP", "PeriodicEmbedding", "RootTime", "SeamKink", "Standardize",
    "Symmetrized", "MLP", "ModelSpec", "Unknowns", "WithUnknowns", "coefficients", "unknown_values", "glorot_normal", "make_model", "model_specs", "register_model", "resolve_model_options",
    "smooth_periodic_coords",
]
