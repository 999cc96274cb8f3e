"""Errors of a run while it trains and at its end: rel L2 against the reference (when there is one) and the PDE
residual on fresh points (always), each on the segment's part of the domain."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import keys
from ..losses import equation_residuals, point_function, residual_norms
from ..problems import Observed
from ..problems import grid_points, interior_points


def relative_l2(pred: jax.Array, ref: jax.Array) -> jax.Array:
    """‖pred − ref‖₂ / ‖ref‖₂ over the reference grid."""
    return jnp.linalg.norm(pred - ref) / jnp.linalg.norm(ref)


def make_predict(static):
    """Jitted ``predict(params, points) -> values`` for rows of points."""
    return jax.jit(lambda params, pts: jax.vmap(eqx.combine(params, static))(pts))


class Evaluator:
    """``errors(params, coeffs, segment)`` -> {"rel_l2": .. (with a reference), "res_rms_fresh": ..}.

    The residual is evaluated at ``n_fresh`` uniform points of the segment's box, new points at every call
    (keys derived from the seed and the call count): a fit to the training points alone shows up here."""

    def __init__(self, problem, static, dtype, reference, seed: int, n_fresh: int):
        self.problem, self.dtype, self.reference = problem, dtype, reference
        self.axes = reference.axes if reference is not None else problem.reference_axes()
        self.points_np = grid_points(self.axes)
        self.points = jnp.asarray(self.points_np, dtype)
        self.predict = make_predict(static)
        self.key, self.calls, self.n_fresh = keys.derive(seed, "trainer", "fresh-residual"), 0, n_fresh
        if reference is not None:
            self._error = jax.jit(self._make_error(jnp.asarray(reference.values, dtype)))
        self._residual = jax.jit(self._make_residual(problem, static))
        self._grid_residual = jax.jit(lambda params, coeffs: residual_norms(problem, static, params, coeffs,
                                                                            self.points))
        self._held_out = [(c.name, jnp.asarray(c.held_out, dtype), c.fields) for c in problem.constraints
                          if isinstance(c, Observed) and c.held_out is not None]
        self.misfit = jax.jit(lambda params, rows, fields=("u",): self._misfit(params, rows, fields),
                              static_argnums=2)
        #: the history columns it fills
        fields = tuple(f"rel_l2_{f}" for f in problem.fields) if problem.n_fields > 1 else ()
        self.columns = (("rel_l2", *fields) if reference is not None else ()) + ("res_rms_fresh", "res_max_fresh") \
            + tuple(f"{name}_heldout_rms" for name, _, _ in self._held_out)

    def _make_error(self, ref):
        """``error(params, mask) -> (rel L2 over every field, rel L2 per field)`` on the grid's masked points."""
        k = self.problem.n_fields
        ref = ref.reshape(-1, k)

        def error(params, m):
            pred = self.predict(params, self.points).reshape(-1, k) * m[:, None]
            per = jax.vmap(relative_l2, in_axes=(1, 1))(pred, ref * m[:, None])
            return relative_l2(pred.ravel(), (ref * m[:, None]).ravel()), per

        return error

    def _misfit(self, params, rows, fields):
        """RMS of prediction − observation over the observed ``fields`` of ``rows``."""
        d, pred = self.problem.dim, self.predict(params, rows[:, :self.problem.dim])
        if self.problem.n_fields == 1:
            return jnp.sqrt(jnp.mean(jnp.square(pred - rows[:, d])))
        idx = jnp.asarray([self.problem.fields.index(f) for f in fields])
        return jnp.sqrt(jnp.mean(jnp.square(pred[:, idx] - rows[:, d:])))

    def _make_residual(self, problem, static):
        def rms(params, coeffs, key, lo, hi):
            u, coeffs = point_function(eqx.combine(params, static), problem, coeffs)
            pts = interior_points(problem, key, self.n_fresh, lo, hi)
            eqs = equation_residuals(problem, u, pts, coeffs)
            r = next(iter(eqs.values())) if len(eqs) == 1 else jnp.stack(list(eqs.values()))
            return jnp.sqrt(jnp.mean(jnp.square(r))), jnp.max(jnp.abs(r))

        return rms

    def grid_residual(self, params, coeffs) -> np.ndarray:
        """The PDE residual on the evaluation grid (the figure of a run without a reference)."""
        return np.asarray(self._grid_residual(params, coeffs), np.float64).reshape([len(a) for a in self.axes])

    def mask(self, segment) -> np.ndarray | None:
        """Grid points this segment's network predicts and that lie in the domain (None: all)."""
        inside = None if self.reference is None or self.reference.inside is None else self.reference.inside.ravel()
        if segment is None or segment.region is None:
            return inside
        region = np.asarray(segment.region(self.points_np))
        return region if inside is None else region * inside

    def errors(self, params, coeffs: dict, segment=None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.reference is not None:
            m = self.mask(segment)
            m = np.ones(len(self.points_np)) if m is None else m
            total, per = self._error(params, jnp.asarray(m, self.dtype))
            out["rel_l2"] = float(total)
            if self.problem.n_fields > 1:
                out.update({f"rel_l2_{f}": float(v) for f, v in zip(self.problem.fields, per)})
        bounds = segment.bounds if segment is not None and segment.bounds else self.problem.bounds
        lo = jnp.asarray([b[0] for b in bounds], self.dtype)
        hi = jnp.asarray([b[1] for b in bounds], self.dtype)
        self.calls += 1
        rms, top = self._residual(params, coeffs, jax.random.fold_in(self.key, self.calls), lo, hi)
        out["res_rms_fresh"], out["res_max_fresh"] = float(rms), float(top)
        for name, rows, fields in self._held_out:
            out[f"{name}_heldout_rms"] = float(self.misfit(params, rows, fields))
        return out
