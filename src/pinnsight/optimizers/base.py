"""The one optimizer protocol: every phase (Adam, L-BFGS and the second-order methods) is a ``Method``.

A method is three pure pieces on an iterate ``x`` (the parameter pytree, or its flat vector when ``flat``) and
``data = (batch, weights, coeffs)``:

- ``init(x, data) -> state``: a NamedTuple pytree of arrays with a ``value`` field (the loss at ``x``);
- ``step(x, state, data) -> (x, state, StepInfo)``: one iteration;
- ``persistent``: the state fields that survive a change of the objective (new batch, weights or coefficients,
  a new curriculum stage): Adam's moments, an inverse-Hessian approximation, a damping.

The trainer runs ``step`` in fused chunks (``make_chunk``: a ``lax.while_loop`` of up to ``max_iters``
iterations, ``max_iters`` an argument, so one compilation serves every chunk length) and reads the stop reason
from one set of codes (``REASONS``). A phase is registered with ``register_phase(PhaseSpec(...))`` and declares its
properties (first-order, needs a sum-of-squares objective, draws its own points) — nothing reads its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ..errors import PinnsightError

# ------------------------------------------------------------------------------------------- stop reasons
#: codes inside the jitted loop (index = code; "" = keep going)
REASONS = ("", "nan", "gtol", "no-progress", "damping-limit", "linesearch")
GO, NAN_CODE, GTOL_CODE, NO_PROGRESS_CODE, DAMPING_LIMIT, LINESEARCH = range(len(REASONS))
#: every stop reason a phase report can carry: the loop's codes and the host's rules
BUDGET, TARGET, STALL, NAN, DIVERGED, SKIPPED = "budget", "target", "stall", "nan", "diverged", "skipped"
STOP_REASONS = (BUDGET, TARGET, STALL, DIVERGED, SKIPPED, *REASONS[1:])
#: reasons after which the run stops (later phases and segments are skipped)
TERMINAL = (TARGET, NAN, DIVERGED)


class StepInfo(NamedTuple):
    """What one iteration reports: loss before and after, gradient norm after, work done, own stop code."""

    before: jax.Array
    after: jax.Array
    gnorm: jax.Array
    fevals: jax.Array  # objective (or residual) evaluations in this iteration
    ls_failure: jax.Array  # 1 when the line search / damping loop gave up on this iteration
    reason: jax.Array  # 0, or a method's own stop code (DAMPING_LIMIT, LINESEARCH)


def info(before, after, gnorm, fevals, ls_failure=0, reason=0) -> StepInfo:
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    return StepInfo(before, after, gnorm, i32(fevals), i32(ls_failure), i32(reason))


class Method(NamedTuple):
    """A built optimizer phase (see the module docstring)."""

    init: Callable  # (x, data) -> state
    step: Callable  # (x, state, data) -> (x, state, StepInfo)
    persistent: tuple[str, ...] = ()
    check: Callable | None = None  # host check of the initial state (raises PinnsightError)
    flat: bool = True  # x is the flat parameter vector (ravel_pytree), else the parameter pytree
    #: (state, steps taken by this phase earlier in the run) -> state; for per-step randomness that must not
    #: repeat across segments (fresh batches)
    resume_at: Callable | None = None


class PhaseContext(NamedTuple):
    """What a phase may build its method from (built once per run and phase configuration)."""

    problem: Any
    static: Any  # the non-array part of the model (eqx.partition)
    objective: Callable  # objective(params, batch, weights, coeffs) -> (total, terms)
    sum_of_squares: bool = True  # the objective is Σ_k w_k mean(r_k²) (no remedy changed the reduction)
    sample: Callable | None = None  # key -> a fresh uniform batch of the run's point counts and dtype
    key: Any = None  # PRNG key of this phase (derived from its name)
    #: ``row_scale(batch, coeffs) -> {term: (N,) factors}`` multiplying the residual rows (``Remedy.rows``), or None
    row_scale: Callable | None = None


# --------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class PhaseSpec:
    """A named optimizer phase: option defaults (types parse strings), a builder and declared properties."""

    name: str
    defaults: Mapping[str, Any]
    build: Callable[[PhaseContext, Mapping[str, Any], Callable, int], Method]  # (ctx, options, unravel, n)
    summary: str = ""
    first_order: bool = False  # gradient steps only (loss-weighting remedies update weights during it)
    needs_sum_of_squares: bool = False  # works on the residual vector: refuses remedies that change the loss
    checks: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)  # option -> valid(value)

    def is_valid(self, key: str, value: Any) -> bool:
        check = self.checks.get(key)
        return True if check is None else bool(check(value))


_PHASES: dict[str, PhaseSpec] = {}


def register_phase(spec: PhaseSpec) -> PhaseSpec:
    """Make an optimizer phase available as ``--optimizer NAME:steps=N,key=value``."""
    if not isinstance(spec.name, str) or not spec.name:
        raise PinnsightError(f"an optimizer phase needs a name, got {spec.name!r}")
    _PHASES[spec.name] = spec
    return spec


def phase_specs() -> dict[str, PhaseSpec]:
    return dict(_PHASES)


def phase_spec(name: str) -> PhaseSpec:
    if name not in _PHASES:
        raise PinnsightError(f"unknown optimizer {name!r} (known: {', '.join(_PHASES)})")
    return _PHASES[name]


# ------------------------------------------------------------------------------------------------ chunks
class Carry(NamedTuple):
    iteration: jax.Array
    x: Any
    state: Any
    reason: jax.Array
    quiet: jax.Array
    fevals: jax.Array
    ls_failures: jax.Array


def all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(tree)]))


def select(pred, new, old):
    """``new`` where ``pred`` else ``old``, leaf by leaf."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), new, old)


def make_chunk(step: Callable, options: Mapping[str, Any]) -> Callable:
    """Jitted ``chunk(x, state, data, max_iters) -> Carry``: up to ``max_iters`` iterations of ``step``.

    Stops early on a non-finite loss or iterate (``nan``; the carry keeps the last finite iterate), a method's
    own reason, gradient norm ≤ ``gtol`` (options without ``gtol``: never), or ``patience`` consecutive
    iterations that lowered the loss by no more than ``ftol``·|loss| (``no-progress``; without ``patience``: never).
    """
    gtol = options.get("gtol", -1.0)
    ftol, patience = options.get("ftol", 0.0), options.get("patience", 0)

    def chunk(x, state, data, max_iters):
        def body(c: Carry) -> Carry:
            x, st, inf = step(c.x, c.state, data)
            finite = jnp.isfinite(inf.after) & all_finite(x)
            progress = inf.before - inf.after > ftol * jnp.abs(inf.before)
            quiet = jnp.where(progress, 0, c.quiet + 1).astype(jnp.int32)
            reason = jnp.select(
                [~finite, inf.gnorm <= gtol, inf.reason > 0, (patience > 0) & (quiet >= patience)],
                [jnp.int32(NAN_CODE), jnp.int32(GTOL_CODE), inf.reason, jnp.int32(NO_PROGRESS_CODE)],
                jnp.int32(GO),
            )
            return Carry(c.iteration + 1, select(finite, x, c.x), select(finite, st, c.state), reason, quiet,
                         c.fevals + inf.fevals, c.ls_failures + inf.ls_failure)

        zero = jnp.zeros((), jnp.int32)
        return jax.lax.while_loop(
            lambda c: (c.iteration < max_iters) & (c.reason == GO), body, Carry(zero, x, state, zero, zero, zero, zero)
        )

    return jax.jit(chunk)


def strong(tree):
    """Drop weak types (optax initialises some scalars weakly typed), so the state a jitted init returns has the
    types a chunk returns and the second call does not retrace."""
    return jax.tree.map(lambda v: jnp.asarray(v, dtype=jnp.result_type(v)), tree)
