"""One optimizer phase on the host: its method compiled once per run, run in chunks, guarded.

``PhaseCompiler`` builds and jits each phase configuration once per run (curriculum stages and time windows
reuse it: no retracing) and keeps the state a phase ended with, for warm starts. ``PhaseRun`` is one phase in one
segment: it holds the iterate and the method's state, runs a chunk, and takes new data from remedies. ``Guard``
applies the host's stop rules between chunks: stall (first-order phases), divergence, and keeping the best
parameters to restore on a non-finite or diverged loss.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import keys
from ..optimizers import DIVERGED, REASONS, STALL, Method, PhaseContext, make_chunk, phase_spec, strong


class Compiled(NamedTuple):
    method: Method
    init: Any
    chunk: Any
    first_order: bool


def options_key(phase) -> tuple:
    return (phase.name, tuple(sorted(phase.options.items())))


class PhaseCompiler:
    """Built and jitted phases of one run, by configuration; the last state of each, for warm starts."""

    def __init__(self, problem, static, objective, *, sum_of_squares: bool, sample, seed: int, row_scale=None):
        self.problem, self.static, self.objective = problem, static, objective
        self.sum_of_squares, self.sample, self.seed = sum_of_squares, sample, seed
        self.row_scale = row_scale  # a remedy's per-row residual factors (Remedy.rows), for residual-vector phases
        self._compiled: dict[tuple, Compiled] = {}
        self.last_state: dict[tuple, Any] = {}
        self.steps_taken: dict[tuple, int] = {}
        #: (params, data) -> per-term losses and auxiliaries, one compilation for every phase
        self.terms_of = jax.jit(lambda p, data: objective(p, *data)[1])

    def get(self, phase, params) -> Compiled:
        k = options_key(phase)
        if k not in self._compiled:
            spec = phase_spec(phase.name)
            ctx = PhaseContext(self.problem, self.static, self.objective, self.sum_of_squares, self.sample,
                               keys.derive(self.seed, "phase", phase.name, "steps"), self.row_scale)
            x, unravel = ravel_pytree(params)
            method = spec.build(ctx, phase.options, unravel, x.size)
            self._compiled[k] = Compiled(method, jax.jit(method.init), make_chunk(method.step, phase.options),
                                         spec.first_order)
        return self._compiled[k]


def phase_weights(phase, weights: dict) -> dict:
    """The weights a phase trains with: those of its ``terms`` (all when it names none), the others 0."""
    if not phase.terms:
        return weights
    return {k: v if k in phase.terms else jnp.zeros_like(v) for k, v in weights.items()}


class PhaseRun:
    """One phase in one segment: iterate, method state, data (batch, weights, coefficients)."""

    def __init__(self, compiler: PhaseCompiler, phase, state, warm: bool):
        self.compiled = c = compiler.get(phase, state.params)
        self.key, self.compiler, self.phase = options_key(phase), compiler, phase
        if c.method.flat:
            self.x, self.unravel = ravel_pytree(state.params)
        else:
            self.x, self.unravel = state.params, lambda x: x
        self.data = (state.batch, phase_weights(phase, state.weights), state.coeffs)
        st = strong(c.init(self.x, self.data))
        if c.method.check is not None:
            c.method.check(st)
        if warm and self.key in compiler.last_state:
            st = self._keep(st, compiler.last_state[self.key])
        if c.method.resume_at is not None:
            st = c.method.resume_at(st, compiler.steps_taken.get(self.key, 0))
        self.state = st

    @classmethod
    def restored(cls, compiler: PhaseCompiler, phase, params, x, state, data) -> "PhaseRun":
        """The phase run a checkpoint saved: iterate ``x``, method state and data as they were."""
        pr = cls.__new__(cls)
        pr.compiled = compiler.get(phase, params)
        pr.key, pr.compiler, pr.phase = options_key(phase), compiler, phase
        pr.unravel = ravel_pytree(params)[1] if pr.compiled.method.flat else (lambda x: x)
        pr.x, pr.state, pr.data = x, state, data
        return pr

    def _keep(self, fresh, old):
        return fresh._replace(**{k: getattr(old, k) for k in self.compiled.method.persistent})

    @property
    def params(self):
        return self.unravel(self.x)

    @property
    def value(self) -> float:
        return float(self.state.value)

    @property
    def batch(self):
        """The batch the phase drew itself (fresh batches), else None."""
        b = getattr(self.state, "batch", ())
        return b if isinstance(b, dict) else None

    def chunk(self, n: int) -> tuple[int, str, int, int]:
        """Up to ``n`` iterations: (iterations that moved, stop reason or "", function evals, failed searches)."""
        out = self.compiled.chunk(self.x, self.state, self.data, jnp.asarray(n, jnp.int32))
        reason = REASONS[int(out.reason)]
        done = int(out.iteration) - (reason == "nan")  # the failed iteration did not move
        self.x, self.state = out.x, out.state
        self.compiler.last_state[self.key] = self.state
        self.compiler.steps_taken[self.key] = self.compiler.steps_taken.get(self.key, 0) + done
        if self.batch is not None:
            self.data = (self.batch, *self.data[1:])
        return done, reason, int(out.fevals), int(out.ls_failures)

    def terms(self):
        return self.compiler.terms_of(self.params, self.data)

    def resume(self, state, restart: bool) -> None:
        """Go on with ``state``'s batch, weights and coefficients (refresh value and gradient); re-initialise
        the method's state if ``restart``, else keep its persistent part."""
        self.data = (state.batch, phase_weights(self.phase, state.weights), state.coeffs)
        fresh = strong(self.compiled.init(self.x, self.data))
        self.state = fresh if restart else self._keep(fresh, self.state)

    def restore(self, params) -> None:
        self.x = ravel_pytree(params)[0] if self.compiled.method.flat else params


class Guard:
    """Host stop rules between chunks, and the best parameters seen (restored on nan or divergence).

    Divergence: the loss rose above both the phase's starting loss and ``factor`` × its best (a finite blow-up,
    e.g. Adam with a far too large learning rate)."""

    def __init__(self, *, stall_steps: int, stall_rtol: float, first_order: bool, factor: float, start: float,
                 params):
        self.stall_steps = stall_steps if first_order else 0
        self.stall_rtol, self.factor = stall_rtol, factor
        self.reset(0, start, params)

    @classmethod
    def restored(cls, saved: dict) -> "Guard":
        guard = cls.__new__(cls)
        guard.__dict__.update(saved)
        return guard

    def reset(self, steps: int, start: float, params) -> None:
        """Start over from loss ``start`` at ``params`` (a new phase, or new data from remedies)."""
        finite = math.isfinite(start)
        self.start = start if finite else math.inf
        self.best, self.best_params = (start, params) if finite else (math.inf, None)
        self.stall_best, self.best_step = math.inf, steps

    def observe(self, steps: int, loss: float, params) -> str | None:
        if not math.isfinite(loss):
            return None
        if loss > self.factor * self.best and loss > self.start:
            return DIVERGED
        if loss < self.best:
            self.best, self.best_params = loss, params
        if loss < self.stall_best * (1.0 - self.stall_rtol):
            self.stall_best, self.best_step = loss, steps
        elif self.stall_steps and steps - self.best_step >= self.stall_steps:
            return STALL
        return None
