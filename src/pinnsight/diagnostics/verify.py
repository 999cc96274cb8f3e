"""Verification of a finished run without its reference: is it done, or what stands in the way?

``verify(result)`` measures, from the run alone (no reference solution is used, so a user's own problem is verified
the same way as a built-in one):

- the **validation loss**: every loss term on a fresh uniform draw of the run's point counts (weighted as trained),
  the number the escalation of ``--remedy auto`` ranks its attempts by;
- the **generalisation ratio**: the mean squared PDE residual on fresh points over the one on the training points
  at the end (a run that fits its points and not the PDE has a ratio ≫ 1: more or resampled points);
- the **convergence of the last phase**: the decades the loss fell over the last ``part`` of that phase's history
  rows (still falling at the end of its budget — by ≥ ``STILL_FALLING`` decades, or at all while the validation
  loss is above ``FAR`` × the initial loss — unconverged; flat while that far: stalled);
- the stop reason (``nan`` / ``diverged``).

Each problem found is an ``Issue`` (name, why, evidence); an empty list means verified. The thresholds are module
constants, the same for every problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..losses import pointwise_residuals
from ..sampling import sample_batch
from .signatures import flatness

#: fresh-point over training-point PDE residual at which the run is taken to fit its points, not the PDE
FRESH_RATIO = 10.0
#: decades the loss must fall over the last part of the last phase for the run to count as unconverged
STILL_FALLING = 0.2
#: below this many decades the last phase is flat
FLAT = 0.02
#: a run whose validation loss is above this fraction of its initial loss is far from solved: then any fall
#: (≥ FLAT) counts as unconverged and a flat end as stalled
FAR = 1e-3
#: the last part of the last phase's history rows looked at
PART = 0.3
VERIFY_SALT = 0x5EED  # fold_in salt of the validation points (differs from the diagnosis' fresh points)


@dataclass(frozen=True)
class Issue:
    name: str  # "fresh-residual-high", "unconverged", "stalled", "broke-down"
    why: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    validation_loss: float
    checks: dict[str, Any]
    issues: tuple[Issue, ...]

    @property
    def verified(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        return {"validation_loss": self.validation_loss, "checks": self.checks,
                "issues": [{"name": i.name, "why": i.why, **({"evidence": i.evidence} if i.evidence else {})}
                           for i in self.issues]}


def validation_loss(result, salt: int = VERIFY_SALT) -> float:
    """Every loss term on fresh uniform points (the run's point counts), weighted as the run trained. A stitched
    solution (time windows: ``segment_models`` with their ``segment_regions``) answers each row with the network
    of the segment whose region holds it, as its prediction does; the last network answers the rest."""
    config, problem = result.config, result.problem
    models = result.artifacts.get("segment_models") or [result.model]
    regions = result.artifacts.get("segment_regions") or [None] * len(models)
    params, static = eqx.partition(result.model, eqx.is_array)
    dtype = jax.tree.leaves(params)[0].dtype
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    batch = jax.jit(lambda k: sample_batch(problem, k, config.points, dtype))(
        jax.random.fold_in(jax.random.PRNGKey(config.seed), salt))
    squares = jax.jit(lambda p, b, c: {k: jnp.square(r) for k, r in
                                       pointwise_residuals(problem, eqx.combine(p, static), b, c).items()})
    rows = {k: np.array(v) for k, v in squares(params, batch, coeffs).items()}
    for model, region in zip(models, regions):
        if region is None:
            continue
        own = {k: np.array(v) for k, v in squares(eqx.filter(model, eqx.is_array), batch, coeffs).items()}
        for k in rows:
            mask = np.asarray(region(np.asarray(batch[k])))
            rows[k][mask] = own[k][mask]
    return float(sum(config.weights.get(k, 1.0) * float(np.mean(v)) for k, v in rows.items()))


def _last_phase_rows(history: list[dict]) -> list[dict]:
    rows = [r for r in history if r.get("phase") not in (None, "init")]
    if not rows:
        return []
    last = rows[-1]["phase"]
    tail = []
    for r in reversed(rows):
        if r["phase"] != last:
            break
        tail.append(r)
    return tail[::-1]


def _fresh_ratio(history: list[dict], equations: tuple[str, ...]) -> float | None:
    """(fresh-point RMS PDE residual)² over the training-point PDE loss at the last row that has both."""
    for r in reversed(history):
        rms, train = r.get("res_rms_fresh"), sum(r.get(f"{e}_loss") or 0.0 for e in equations)
        if rms is not None and rms == rms and train > 0:
            return float(rms) ** 2 / train
    return None


def verify(result) -> Verdict:
    """The verdict on ``result`` (a ``RunResult``): validation loss, checks and the issues found."""
    history, equations = result.history, tuple(result.problem.equations)
    val = validation_loss(result)
    start = next((r["loss"] for r in history if r.get("loss") is not None), math.nan)
    tail = _last_phase_rows(history)
    fell = flatness([r["loss"] for r in tail], PART) if len(tail) >= 4 else math.nan
    ratio = _fresh_ratio(history, equations)
    stop = result.metrics.get("stop_reason")
    checks = {"initial_loss": start, "last_phase": tail[-1]["phase"] if tail else None,
              "last_phase_decades_fallen": fell, "fresh_over_train_residual": ratio, "stop_reason": stop}
    issues = []
    if stop in ("nan", "diverged"):
        issues.append(Issue("broke-down", f"training stopped with '{stop}'"))
    if ratio is not None and ratio >= FRESH_RATIO:
        issues.append(Issue("fresh-residual-high", f"the PDE residual on fresh points is {ratio:.3g}× the one on "
                            "the training points: the run fits its points, not the PDE", {"ratio": ratio}))
    far = start == start and val > FAR * start
    if fell == fell and (fell >= STILL_FALLING or (far and fell >= FLAT)) and stop in ("budget", None):
        issues.append(Issue("unconverged", f"the loss fell {fell:.2f} decades over the last {PART:.0%} of the last "
                            "phase and its budget ran out", {"decades_fallen": fell}))
    elif fell == fell and fell < FLAT and far:
        issues.append(Issue("stalled", f"the last phase is flat ({fell:.3f} decades over its last {PART:.0%}) while "
                            f"the validation loss {val:.3g} is still {val / start:.2g} of the initial loss",
                            {"decades_fallen": fell, "validation_over_initial": val / start}))
    checks = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in checks.items()}
    return Verdict(val, checks, tuple(issues))
