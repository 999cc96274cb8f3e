"""Residual-based attention (``rba``; Anagnostopoulos, Toscano, Stergiopulos, Karniadakis, CMAME 421 (2024) 116805).

Each row i of a chosen loss term carries a multiplier λ_i ≥ 0 (no gradient flows through it) and the term enters
the loss as mean_i((λ_i r_i)²) — the multiplier inside the square, as in the paper, so the loss stays a weighted
sum of squares of residual rows and the Gauss–Newton / natural-gradient phases can run beside it (their residual
rows are multiplied by λ too, through ``Remedy.rows``). The paper's update, once per optimizer step, is

    λ_i ← γ λ_i + η |r_i| / max_j |r_j|         (γ = ``decay`` = 0.999, η = ``eta`` = 0.01; 0 ≤ λ ≤ η / (1 − γ)).

Here λ lives in the traced coefficients (``coeffs["rba:<term>"]``, one (N,) array per term: new values never
retrace) and is updated by the host between jitted chunks: after k steps with RBA active (k ≥ ``every``; the
steps of the chunks since the last update) one update applies the formula k times with the residual of the
chunk's last iterate held fixed, in closed form

    λ ← γ^k λ + η (1 − γ^k) / (1 − γ) · |r| / max|r|,

which is exact for k identical residuals and differs from the paper's per-step rule only in that the residual
of the k steps is frozen at their end. |r_i| is the residual at row i (a row of k values, as some constraints
have: its Euclidean norm); max over the term's rows. ``terms``: ``pde`` (default: the PDE equations, each its own
multipliers; what the paper uses in forward problems), ``all`` (every term, constraints too, as the variational
vRBA of Toscano et al. 2025 allows), or term names joined by ``+`` (``res+bc``).
``init``: the start of λ. λ = 0 is the start of PINA's RBAPINN and, as far as we could check (not against the
authors' code itself), of the paper's; it works there because λ is updated before each gradient step. Here the
first update comes after the first chunk, so λ = 0 would leave the term out of the loss for a whole chunk — the
default is therefore ``init=1`` (the first chunk trains the plain loss); ``init=0`` gives the paper's start.
``during=adam`` (default) updates λ during first-order phases only and holds it fixed (still applied) in the
others, whose curvature memory a changing loss would invalidate.

Points replaced (``rad``, ``adaptive-sampling``, ``rar``, time windows): λ belongs to the rows it was computed
on, so ``coeffs`` also holds those rows (``rba:<term>:points``); a step whose batch rows differ from them uses
λ = ``init`` (an exact reset from the first step on the new points, inside the jitted loss), and the next
update restarts from ``init`` on the new rows (new shape when RAR grew the batch; that compiles the step once
more). Every segment (curriculum stage, time window) starts from ``init``. With ``adam:fresh=1`` (new rows
every step) λ never applies: RBA needs fixed points. History: ``rba_max_<term>`` and
``rba_mean_<term>`` (λ after each update), ``rba_loss_<term>`` (the attention-weighted mean square; the
``<term>_loss`` columns stay the plain mean squares). In a chain with ``causal``, list ``rba`` after it.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..losses import pointwise_residuals, scale_rows
from ..sampling import sample_batch
from ._base import NO_CHANGE, Changes, Remedy, RemedySpec, choice, positive, register_remedy


def lam_key(term: str) -> str:
    return f"rba:{term}"


def points_key(term: str) -> str:
    return f"rba:{term}:points"


# ------------------------------------------------------------------------------------------ pure formulas
def rba_update(lam, magnitude, decay: float, eta: float, steps: int = 1):
    """k = ``steps`` updates λ ← γ λ + η |r| / max|r| with the same |r|, in closed form:
    γ^k λ + η (1 − γ^k)/(1 − γ) · |r| / max|r| (jnp or NumPy arrays; max|r| = 0 gives no increment)."""
    xp = jnp if isinstance(lam, jax.Array) or isinstance(magnitude, jax.Array) else np
    g = decay**steps
    top = xp.max(magnitude)
    scaled = magnitude / xp.where(top > 0, top, 1.0)
    return g * lam + eta * (1.0 - g) / (1.0 - decay) * scaled


def row_magnitudes(values: jax.Array) -> jax.Array:
    """|r_i| per row: the absolute value of (N,) residuals, the Euclidean norm of each row of (N, k) ones."""
    if values.ndim == 1:
        return jnp.abs(values)
    return jnp.sqrt(jnp.sum(jnp.square(jnp.reshape(values, (values.shape[0], -1))), axis=1))


def attention_rows(problem, terms: tuple[str, ...], init: float):
    """``rows(batch, coeffs) -> {term: λ in use}`` (no gradient): the stored λ where the batch rows are those it
    was computed on, else ``init`` everywhere (points replaced, a new shape, or none stored yet)."""

    def rows(batch, coeffs):
        out = {}
        for t in terms:
            pts = batch[problem.batch_key(t)]
            lam, owner = coeffs.get(lam_key(t)), coeffs.get(points_key(t))
            fresh = jnp.full((pts.shape[0],), init, pts.dtype)
            if lam is None or owner is None or owner.shape != pts.shape or lam.shape != fresh.shape:
                out[t] = fresh
            else:
                out[t] = jax.lax.stop_gradient(jnp.where(jnp.all(owner == pts), lam, fresh))
        return out

    return rows


def attention_reduce(rows, terms: tuple[str, ...]):
    """The in-loss transform: the chosen terms' rows times λ enter ``base``; the record keeps the plain mean
    squares of those terms and adds ``rba_loss_<term>`` (the attention-weighted ones)."""

    def reduce(base):
        def reduction(residuals, batch, coeffs):
            scaled = scale_rows(residuals, rows(batch, coeffs))
            contributions, record = base(scaled, batch, coeffs)
            plain = {t: jnp.mean(jnp.square(residuals[t])) for t in terms}
            weighted = {f"rba_loss_{t}": jnp.mean(jnp.square(scaled[t])) for t in terms}
            return contributions, {**record, **plain, **weighted}

        return reduction

    return reduce


# --------------------------------------------------------------------------------------------- remedy
class RbaState(NamedTuple):
    seen: int  # segment step at the last call of ``update``
    active: int  # steps with RBA active since the last update of λ
    updates: int
    resets: int  # updates that found new rows (and restarted from init)


def chosen_terms(spec: str, problem) -> tuple[str, ...]:
    if spec == "pde":
        return tuple(problem.equations)
    if spec == "all":
        return tuple(problem.term_names)
    return tuple(t.strip() for t in spec.split("+"))


def make_advance(problem, static, rows, terms, decay: float, eta: float):
    """Jitted ``advance(params, batch, coeffs, k) -> ({term: new λ}, {term: reset})``: k closed-form updates
    from the λ in use (``init`` on new rows); a non-finite new value keeps the old one."""

    @jax.jit
    def advance(params, batch, coeffs, k):
        res = pointwise_residuals(problem, eqx.combine(params, static), batch, coeffs)
        current = rows(batch, coeffs)
        new, reset = {}, {}
        for t in terms:
            lam = rba_update(current[t], row_magnitudes(res[t]), decay, eta, k)
            new[t] = jnp.where(jnp.isfinite(lam), lam, current[t])
            owner = coeffs.get(points_key(t))
            pts = batch[problem.batch_key(t)]
            reset[t] = jnp.asarray(True) if owner is None or owner.shape != pts.shape else ~jnp.all(owner == pts)
        return new, reset

    return advance


def build(options, setup) -> Remedy:
    problem, init = setup.problem, options["init"]
    terms = chosen_terms(options["terms"], problem)
    decay, eta, every = options["decay"], options["eta"], options["every"]
    rows = attention_rows(problem, terms, init)
    advance = make_advance(problem, setup.static, rows, terms, decay, eta)
    shapes = jax.eval_shape(lambda k: sample_batch(problem, k, setup.config.points, setup.dtype), setup.key)
    only_first_order = options["during"] == "adam"

    def init_hook(segment):
        coeffs = {}
        for t in terms:  # the shapes the step is traced with; NaN rows never equal the batch's: λ = init in use
            shape = shapes[problem.batch_key(t)].shape
            coeffs[lam_key(t)] = jnp.full((shape[0],), init, setup.dtype)
            coeffs[points_key(t)] = jnp.full(shape, jnp.nan, setup.dtype)
        return Changes(coeffs=coeffs, log=_columns({t: coeffs[lam_key(t)] for t in terms})), RbaState(0, 0, 0, 0)

    def update(state, info):
        s = info.segment_step
        active = state.active + (s - state.seen if info.first_order or not only_first_order else 0)
        state = state._replace(seen=s, active=active)
        if active < every:
            return NO_CHANGE, state
        new, reset = advance(info.params, info.state.batch, info.state.coeffs, jnp.asarray(active, setup.dtype))
        reset = sorted(t for t in terms if bool(reset[t]))
        coeffs = {**{lam_key(t): v for t, v in new.items()},
                  **{points_key(t): info.state.batch[problem.batch_key(t)] for t in terms}}
        events = ({"step": info.step, "reset": reset},) if reset and state.updates > 0 else ()
        state = RbaState(s, 0, state.updates + 1, state.resets + bool(events))
        return Changes(coeffs=coeffs, log=_columns(new), events=events), state

    def summary(events, history):
        last = next((r for r in reversed(history) if f"rba_max_{terms[0]}" in r), {})
        return {"terms": list(terms), "resets": len(events),
                **{k: v for k, v in last.items() if k.startswith(("rba_max_", "rba_mean_"))}}

    return Remedy("rba", init=init_hook, update=update, reduce=attention_reduce(rows, terms), summary=summary,
                  rows=rows)


def _columns(lams) -> dict[str, float]:
    out = {}
    for t, v in lams.items():
        v = np.asarray(v, np.float64)
        out[f"rba_max_{t}"], out[f"rba_mean_{t}"] = float(v.max()), float(v.mean())
    return out


def check(options, problem):
    if not 0.0 < options["decay"] < 1.0:
        raise PinnsightError(f"remedy rba: decay={options['decay']!r} must be in (0, 1)")
    positive("rba", options, "eta", "every")
    if options["init"] not in (0.0, 1.0):
        raise PinnsightError(f"remedy rba: init={options['init']!r} must be 0 (the paper's start) or 1")
    choice("rba", options, "during", ("adam", "all"))
    if problem is None:
        return
    if options["terms"] not in ("pde", "all"):
        names = chosen_terms(options["terms"], problem)
        unknown = [t for t in names if t not in problem.term_names]
        if unknown or len(set(names)) != len(names) or not names:
            what = f"{unknown[0]!r} is not a loss term" if unknown else "names a term twice or none"
            raise PinnsightError(f"remedy rba: terms={options['terms']!r}: {what} of {problem.name} (terms: "
                                 f"{', '.join(problem.term_names)}; or pde, all)")


SPEC = register_remedy(RemedySpec(
    "rba", "residual-based attention: per-point multipliers λ ← γλ + η|r|/max|r| inside the square "
    "(Anagnostopoulos et al. 2024)",
    {"decay": 0.999, "eta": 0.01, "init": 1.0, "every": 1, "terms": "pde", "during": "adam"}, build, check,
    aliases=("residual-attention",), first_order_only=True,
    timeline=(("residual-based attention λ", ("rba_max_*", "rba_mean_*")),),
))
