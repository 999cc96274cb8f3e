"""Failure signatures: small pure functions of measured numbers that return a ``Finding`` (or None).

Each detector states its rule and thresholds in its docstring; the numbers it used go into ``evidence``.
``suggest`` turns a finding into remedies with the exact command line to try (one table, shared with
``--remedy auto``). Helpers that compute the profiles the detectors read (residual and error over time
slices, error spectrum, loss-history flatness) are here too, pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..problems.seams import diffusivity, kinked_seams, undeclared_seam_jumps

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Suggestion:
    """One remedy to try: a ``--remedy`` spec and/or other ``pinnsight train`` arguments, why, the command."""

    why: str
    spec: str | None = None  # remedy spec string NAME[:key=value,...]
    args: tuple[str, ...] = ()  # other train arguments, e.g. ("--weight", "ic=100") or ("--model", "fourier:...")
    command: str = ""
    recipe: str | None = None  # a whole recipe of ``RECIPES`` (precision, model, phases), not a remedy alone


@dataclass(frozen=True)
class Finding:
    """A detected failure signature: what, how bad, in words, the numbers behind it, what to try."""

    name: str
    severity: str  # info | warning | critical
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    suggestions: tuple[Suggestion, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = _plain(dict(self.evidence))
        d["suggestions"] = [asdict(s) | {"args": list(s.args)} for s in self.suggestions]
        return d


def _plain(x):
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in np.asarray(x).tolist()] if isinstance(x, np.ndarray) else [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else str(float(x))
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


# ----------------------------------------------------------------------------------- profiles (pure numpy)
def time_profile(t: np.ndarray, values: np.ndarray, bounds: tuple[float, float], slices: int = 10
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(slice centres, mean of ``values`` per slice) over ``slices`` equal slices of ``bounds`` (nan if empty)."""
    t, values = np.asarray(t, float), np.asarray(values, float)
    edges = np.linspace(bounds[0], bounds[1], slices + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, slices - 1)
    sums = np.bincount(idx, weights=values, minlength=slices)
    counts = np.bincount(idx, minlength=slices)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (edges[:-1] + edges[1:]), np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def grid_time_profile(error: np.ndarray, solution: np.ndarray, time_axis: int, slices: int = 10
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(slice index centres in [0, 1], relative RMS error per time slice) of fields on the reference grid: the RMS
    of ``error`` over the points of a slice divided by the RMS of ``solution`` over the whole grid."""
    e = np.moveaxis(np.asarray(error, float), time_axis, 0)
    n = e.shape[0]
    scale = np.sqrt(np.mean(np.square(solution))) or 1.0
    groups = np.array_split(np.arange(n), slices)
    prof = np.array([np.sqrt(np.mean(np.square(e[g]))) / scale for g in groups])
    return np.array([(g[0] + g[-1]) / 2 / max(n - 1, 1) for g in groups]), prof


def early_late_ratio(profile: np.ndarray, part: float = 1 / 3) -> tuple[float, float, float]:
    """(mean of the first ``part`` of the profile, of the last ``part``, late / early) ignoring nans."""
    p = np.asarray(profile, float)
    k = max(1, int(round(part * p.size)))
    early, late = float(np.nanmean(p[:k])), float(np.nanmean(p[-k:]))
    ratio = late / early if early > 0 else (math.inf if late > 0 else 1.0)
    return early, late, ratio


def _window(n: int, periodic: bool) -> np.ndarray:
    return np.ones(n) if periodic or n < 3 else np.hanning(n)


def radial_spectrum(field: np.ndarray, periodic: Sequence[bool], bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(normalised frequency bin centres in [0, 1], power per bin) of an N-d field on a uniform grid.

    Non-periodic axes get a Hann window (the same for any field, so spectra compare). The normalised frequency of
    a mode is max_i |k_i| / (n_i / 2) (1 = the grid's Nyquist frequency). A system's fields (one more, trailing
    axis than ``periodic`` names): the sum of the fields' powers."""
    f = np.asarray(field, float)
    if f.ndim == len(periodic) + 1:
        spectra = [radial_spectrum(f[..., i], periodic, bins) for i in range(f.shape[-1])]
        return spectra[0][0], np.sum([p for _, p in spectra], axis=0)
    for ax, per in enumerate(periodic):
        shape = [1] * f.ndim
        shape[ax] = f.shape[ax]
        f = f * _window(f.shape[ax], per).reshape(shape)
    power = np.abs(np.fft.fftn(f)) ** 2
    freqs = [np.abs(np.fft.fftfreq(n)) * 2.0 for n in f.shape]  # |k| / (n/2)
    mesh = np.meshgrid(*freqs, indexing="ij")
    r = np.max(np.stack(mesh), axis=0)
    edges = np.linspace(0.0, 1.0 + 1e-12, bins + 1)
    idx = np.clip(np.searchsorted(edges, r.ravel(), side="right") - 1, 0, bins - 1)
    return 0.5 * (edges[:-1] + edges[1:]), np.bincount(idx, weights=power.ravel(), minlength=bins)


def spectral_split(error: np.ndarray, solution: np.ndarray, periodic: Sequence[bool], energy: float = 0.99,
                   bins: int = 32) -> dict[str, float]:
    """Where the error's energy sits relative to the solution's: k* = the smallest normalised frequency below which
    ``energy`` of the solution's power lies; returns k*, the error's power fraction above k*, and the
    power-weighted mean frequency (centroid) of error and solution."""
    k, ps = radial_spectrum(solution, periodic, bins)
    _, pe = radial_spectrum(error, periodic, bins)
    cum = np.cumsum(ps) / max(ps.sum(), 1e-300)
    i = int(np.searchsorted(cum, energy))
    i = min(i, bins - 1)
    above = float(pe[i + 1:].sum() / max(pe.sum(), 1e-300))
    return {"k_star": float(k[i]), "error_fraction_above": above,
            "error_centroid": float((k * pe).sum() / max(pe.sum(), 1e-300)),
            "solution_centroid": float((k * ps).sum() / max(ps.sum(), 1e-300))}


def flatness(losses: Sequence[float], part: float = 0.3, edge: float = 0.25) -> float:
    """Decades the loss fell over the last ``part`` of the history: log10 of the median of the window's first
    ``edge`` over the median of its last ``edge`` (robust to Adam's spikes). nan if too short."""
    x = np.asarray([v for v in losses if v is not None and np.isfinite(v) and v > 0], float)
    n = int(round(part * x.size))
    if n < 4:
        return math.nan
    w = x[-n:]
    k = max(1, int(round(edge * n)))
    return float(np.log10(np.median(w[:k]) / np.median(w[-k:])))


# ---------------------------------------------------------------------------------------------- detectors
def loss_low_error_high(initial_loss: float, final_loss: float, rel_l2: float, *, fresh_residual: float | None = None,
                        train_residual: float | None = None, drop: float = 1e-3, abs_loss: float = 1e-4,
                        error_tol: float = 0.1, fresh_ratio: float = 10.0) -> Finding | None:
    """Loss low but error high: rel L2 > ``error_tol`` while either the loss fell to ≤ max(``abs_loss``,
    ``drop`` · initial loss), or the mean squared PDE residual on fresh uniform points is ≥ ``fresh_ratio`` × the
    one on the training points (the network fits the collocation points, not the PDE; FINDINGS.md: LM at β = 50
    reached loss 4e-10 with rel L2 1.34)."""
    if not rel_l2 > error_tol:
        return None
    small = final_loss <= max(abs_loss, drop * initial_loss)
    ratio = fresh_residual / train_residual if fresh_residual is not None and train_residual else None
    overfit = ratio is not None and ratio >= fresh_ratio
    if not (small or overfit):
        return None
    parts = []
    if small:
        parts.append(f"the loss fell from {initial_loss:.2e} to {final_loss:.2e}")
    if overfit:
        parts.append(f"the PDE residual on fresh random points is {ratio:.3g}× the one on the training points")
    return Finding(
        "loss-low-error-high", "critical",
        f"Loss low but error high: {' and '.join(parts)}, yet the relative L2 error is {rel_l2:.3g}. The network "
        "satisfies the training points without solving the problem (a trivial or wrong solution).",
        {"initial_loss": initial_loss, "final_loss": final_loss, "rel_l2": rel_l2, "fresh_residual": fresh_residual,
         "train_residual": train_residual, "fresh_over_train": ratio},
    )


def points_overfit(fresh_residual: float | None, train_residual: float | None, rel_l2: float, n_points: int, *,
                   ratio: float = 100.0, error_tol: float = 0.1) -> Finding | None:
    """The error is moderate (≤ ``error_tol``; above it ``loss_low_error_high`` names the failure) but the mean
    squared PDE residual on fresh uniform points is ≥ ``ratio`` × the one on the ``n_points`` training points: the
    network fits its collocation points, and they, not the optimizer, limit the error."""
    if fresh_residual is None or not train_residual or rel_l2 > error_tol:
        return None
    r = fresh_residual / train_residual
    if r < ratio:
        return None
    return Finding(
        "points-overfit", "warning",
        f"The PDE residual on fresh random points is {r:.3g}× the one on the {n_points} training points: the network "
        f"fits its collocation points, and they likely limit the error (relative L2 {rel_l2:.3g}): a longer run "
        "would mostly lower the loss; more points, or resampling them during training, address the gap.",
        {"fresh_residual": fresh_residual, "train_residual": train_residual, "fresh_over_train": r,
         "n_points": n_points, "rel_l2": rel_l2},
    )


def training_broke_down(stop_reason: str | None, phases: Sequence[Mapping[str, Any]] = ()) -> Finding | None:
    """The run stopped because its loss blew up: ``diverged`` (finite, above the phase's start and 1e4 × its best)
    or ``nan`` (non-finite loss or parameters). The trainer kept the best parameters it saw."""
    if stop_reason not in ("diverged", "nan"):
        return None
    phase = next((p for p in phases if p.get("stop_reason") == stop_reason), {})
    what = ("the loss diverged (it rose far above its best while staying finite)" if stop_reason == "diverged"
            else "the loss or the parameters became non-finite (NaN or inf)")
    return Finding(
        stop_reason if stop_reason == "diverged" else "non-finite", "critical",
        f"Training broke down: in phase {phase.get('name', '?')} after {phase.get('steps', '?')} steps {what}. "
        "The best parameters seen were kept and later phases skipped. Lower the learning rate (adam:lr=...) or the "
        "step of the phase, or train in float64 (--x64).",
        {"stop_reason": stop_reason, "phase": phase.get("name"), "steps": phase.get("steps"),
         "start_loss": phase.get("start_loss"), "end_loss": phase.get("end_loss")},
    )


def late_time_residual(times: np.ndarray, profile: np.ndarray, *, ratio: float = 10.0) -> Finding | None:
    """Residual concentrated at late times: the mean squared residual over the last third of the time slices is
    ≥ ``ratio`` × the one over the first third (causality: Wang, Sankaran & Perdikaris 2022, Sec. 2)."""
    early, late, r = early_late_ratio(profile)
    if not r >= ratio:
        return None
    return Finding(
        "late-time-residual", "warning" if r < 100 * ratio else "critical",
        f"The PDE residual is concentrated at late times: its mean square over the last third of the time span is "
        f"{r:.3g}× the one over the first third. Later times are being fitted before earlier ones are resolved.",
        {"times": np.asarray(times), "residual_profile": np.asarray(profile), "early": early, "late": late,
         "late_over_early": r},
    )


def error_grows_in_time(times: np.ndarray, profile: np.ndarray, rel_l2: float, *, ratio: float = 10.0,
                        error_tol: float = 0.1) -> Finding | None:
    """Error grows along time: rel L2 > ``error_tol`` and the relative RMS error over the last third of the time
    slices ≥ ``ratio`` × the one over the first third — the initial condition is met but not propagated (the
    causality violation of Wang, Sankaran & Perdikaris 2022, Fig. 1)."""
    early, late, r = early_late_ratio(profile)
    if not (rel_l2 > error_tol and r >= ratio):
        return None
    return Finding(
        "error-grows-in-time", "critical",
        f"The error grows with time: relative RMS error {early:.2e} over the first third of the time span and "
        f"{late:.2e} over the last third ({r:.3g}×), rel L2 {rel_l2:.3g}. The solution is right near t = 0 and "
        "lost later: information from the initial condition is not propagated (causality).",
        {"times": np.asarray(times), "error_profile": np.asarray(profile), "early": early, "late": late,
         "late_over_early": r, "rel_l2": rel_l2},
    )


def high_frequency_error(split: Mapping[str, float], rel_l2: float, *, fraction: float = 0.5,
                         error_tol: float = 1e-2) -> Finding | None:
    """Error dominated by high frequencies (spectral bias; Rahaman et al. 2019, Wang, Wang & Perdikaris 2021):
    rel L2 > ``error_tol`` and ≥ ``fraction`` of the error's power lies above k*, the frequency below which 99 % of
    the solution's power lies (``spectral_split``)."""
    if not (rel_l2 > error_tol and split["error_fraction_above"] >= fraction):
        return None
    return Finding(
        "high-frequency-error", "warning",
        f"The error is dominated by high frequencies: {100 * split['error_fraction_above']:.0f} % of its power lies "
        f"above normalised frequency {split['k_star']:.2f}, below which 99 % of the solution's power lies "
        f"(error centroid {split['error_centroid']:.2f} vs solution {split['solution_centroid']:.2f}). "
        "The network misses fine scales (spectral bias).",
        {**split, "rel_l2": rel_l2},
    )


def seam_error(error: np.ndarray, periodic: Sequence[bool], names: Sequence[str], *, undeclared: Sequence[str] = (),
               ratio: float = 10.0, fraction: float = 0.5) -> Finding | None:
    """Error at the seam of a periodic coordinate: the first and last ``max(1, n // 64)`` grid lines of that axis
    hold ≥ ``fraction`` of the squared error and their RMS error is ≥ ``ratio`` × the rest's. ``undeclared``: the
    coordinates whose initial data has a kink the model's periodic embedding cannot represent
    (``problems.seams.undeclared_seam_jumps``); measured on reaction ρ = 5, docs/benchmarks.md."""
    sq = np.asarray(error, float) ** 2
    sq = sq.reshape(*sq.shape[: len(periodic)], -1).sum(axis=-1) if sq.ndim > len(periodic) else sq
    total = float(sq.sum())
    for axis, (per, name) in enumerate(zip(periodic, names)):
        n = sq.shape[axis]
        k = max(1, n // 64)
        if not per or n < 4 * k or total <= 0.0:
            continue
        lines = np.moveaxis(sq, axis, 0)
        edge = float(lines[:k].sum() + lines[-k:].sum())
        rest = total - edge
        share = edge / total
        r = math.sqrt((edge / (2 * k)) / max(rest / (n - 2 * k), 1e-300))
        if share >= fraction and r >= ratio:
            kink = name in undeclared
            why = ("the initial data jumps in slope there and the model is periodic with every derivative: it cannot "
                   "represent the kink" if kink else "a kink or layer of the solution at the seam (the problem's own "
                   "when its periodic condition declares it)")
            return Finding(
                "seam-error", "warning",
                f"The error sits at the seam of the periodic coordinate {name}: the {k} grid line(s) at each end "
                f"hold {100 * share:.0f} % of the squared error, their RMS error {r:.3g}× the rest's — {why}.",
                {"coord": name, "share": share, "ratio": r, "lines": k, "undeclared_kink": kink},
            )
    return None


def stall(losses: Sequence[float], rel_l2: float, *, part: float = 0.3, decades: float = 0.1,
          error_tol: float = 0.1) -> Finding | None:
    """Stalled training: rel L2 > ``error_tol`` and the loss fell by less than ``decades`` decades over the last
    ``part`` of the history (``flatness``)."""
    fell = flatness(losses, part)
    if math.isnan(fell) or not (rel_l2 > error_tol and fell < decades):
        return None
    return Finding(
        "stall", "critical" if rel_l2 > 0.5 else "warning",
        f"Training stalled: over the last {100 * part:.0f} % of the history the loss fell by {fell:.3f} decades "
        f"while the relative L2 error is still {rel_l2:.3g}. More steps of the same will not help.",
        {"decades_fallen": fell, "window": part, "rel_l2": rel_l2, "final_loss": float(losses[-1])},
    )


def still_improving(losses: Sequence[float], rel_l2: float, *, part: float = 0.3, decades: float = 0.1,
                    error_tol: float = 0.1) -> Finding | None:
    """Unsolved but still improving: rel L2 > ``error_tol`` while the loss fell by ≥ ``decades`` decades over the
    last ``part`` of the history (the complement of ``stall``): the budget, not a failure mode, may be the limit."""
    fell = flatness(losses, part)
    if math.isnan(fell) or not (rel_l2 > error_tol and fell >= decades):
        return None
    return Finding(
        "still-improving", "info",
        f"The error is still high (rel L2 {rel_l2:.3g}) but the loss fell by {fell:.2f} decades over the last "
        f"{100 * part:.0f} % of the history: training had not converged; a longer run may help.",
        {"decades_fallen": fell, "window": part, "rel_l2": rel_l2},
    )


def unbalanced_terms(norms: Mapping[str, float], rel_l2: float | None = None, losses: Mapping[str, float] | None = None,
                     *, ratio: float = 30.0, error_tol: float = 1e-2, satisfied: float = 1e-3) -> Finding | None:
    """Loss terms out of balance: the largest per-term gradient norm ‖∇θ L_i‖ is ≥ ``ratio`` × the smallest
    (Wang, Teng & Perdikaris 2021, Sec. 2.3: the small term is barely trained), in a run that is not solved
    (rel L2 > ``error_tol``, when given). Gradient-descent rates go like ‖∇L‖², so 30 (1.5 decades) means ~1000×
    slower progress on the smallest term. Calibration (4 × 50 / 3 × 20 tanh MLPs): convection β = 1 at
    initialisation 8, β = 30 at initialisation 63; Helmholtz (a = 1, 4) after 150 Adam steps 34, where its NTK
    spread λ_max(K_res)/λ_max(K_bc) is ≈ 1e4. A term whose gradient is small because its loss is (given
    ``losses``) below ``satisfied`` is met, not starved (solutions and data are O(1) here; reaction ρ = 10's periodic
    term after 150 steps: ‖∇L‖ 74× smaller, loss 5e-5), and is not counted."""
    positive = {k: v for k, v in norms.items() if v > 0 and (losses is None or losses.get(k, 1.0) >= satisfied)}
    if len(positive) < 2 or (rel_l2 is not None and not rel_l2 > error_tol):
        return None
    hi, lo = max(positive, key=positive.get), min(positive, key=positive.get)
    r = positive[hi] / positive[lo]
    if not r >= ratio:
        return None
    return Finding(
        "unbalanced-terms", "critical" if r >= 1000 else "warning",
        f"Loss terms are out of balance: ‖∇L_{hi}‖ = {positive[hi]:.2e} is {r:.3g}× ‖∇L_{lo}‖ = {positive[lo]:.2e} "
        f"({math.log10(r):.1f} orders of magnitude); gradient descent barely trains the {lo!r} term.",
        {"grad_norms": dict(norms), "largest": hi, "smallest": lo, "ratio": r, "rel_l2": rel_l2,
         "losses": dict(losses) if losses is not None else None},
    )


def conditioning_growth(coef: str, small: float, target: float, spread_small: float, spread_target: float, *,
                        cond_small: float | None = None, cond_target: float | None = None, spread: float = 50.0,
                        growth: float = 10.0) -> Finding | None:
    """Exploding NTK eigenvalue spread as the coefficient grows: the spread λ_max(K_rr) / min_c λ_max(K_cc)
    (how much faster the residual modes train than the slowest constraint's; Wang, Yu & Perdikaris 2022, Sec. 4)
    is ≥ ``spread`` at the target coefficient and ≥ ``growth`` × its value at the small coefficient. The
    Gauss–Newton condition numbers are reported as evidence (at initialisation they sit at the numerical-rank
    cutoff and barely move with the coefficient; see ``ntk``). Calibration (convection, 4 × 50 tanh MLP at
    initialisation, 256 residual + 64 + 64 constraint points, float64; ``benchmarks/ntk_spread.py``): spread 0.7 at
    β = 1, 6.8 at β = 5, 27 at β = 10, 107 at β = 20, 242 at β = 30, 675 at β = 50 (≈ β²); reaction ρ = 5: 370,
    ρ = 10: 1.5e3. The vanilla failures of Krishnapriyan et al. (2021) start between β = 10 and 20."""
    g = spread_target / spread_small if spread_small > 0 else math.inf
    if not (spread_target >= spread and g >= growth):
        return None
    return Finding(
        "conditioning-growth", "critical" if spread_target >= 10 * spread else "warning",
        f"The problem gets ill-conditioned as {coef} grows: the NTK eigenvalue spread λ_max(K_rr)/λ_max(K_constraint) "
        f"is {spread_target:.3g} at {coef}={target:g} against {spread_small:.3g} at {coef}={small:g} ({g:.3g}×). "
        "The residual dominates and the initial/boundary conditions train orders of magnitude slower.",
        {"coef": coef, "small": small, "target": target, "spread_small": spread_small, "spread_target": spread_target,
         "growth": g, "gn_cond_small": cond_small, "gn_cond_target": cond_target},
    )


#: a constraint block whose largest NTK eigenvalue is below this fraction of the largest block's is met identically
#: (e.g. periodicity by a periodic embedding: its rows are round-off) and is left out of the spread
IDENTICALLY_MET = 1e-12


def ntk_spread(spectra: Mapping[str, np.ndarray], equations: tuple[str, ...] = ("res",)) -> float:
    """λ_max(K_res) / min over constraints c of λ_max(K_cc), from descending spectra (``ntk.ntk_spectra``); a
    system's ``equations``: the largest of theirs on top. Constraints met identically by the model
    (``IDENTICALLY_MET``) are not divided by."""
    lead = {k: float(np.max(v)) for k, v in spectra.items() if k != "all" and np.size(v)}
    floor = IDENTICALLY_MET * max(lead.values(), default=0.0)
    cons = [v for k, v in lead.items() if k not in equations and v > floor]
    tops = [lead[k] for k in equations if k in lead]
    return max(tops) / min(cons) if cons and tops else math.nan  # (no block of the equations: undefined)


# ---------------------------------------------------------------------------------------------- remedies
#: The coefficient that makes each registered problem hard, and a small value where it is easy.
DIFFICULTY = {"convection": ("beta", 1.0), "reaction": ("rho", 1.0), "reaction-diffusion": ("rho", 1.0),
              "wave": ("c", 1.0)}
#: Weighting remedies in order of preference when terms are unbalanced (whichever are registered).
WEIGHTING = ("lra", "ntk", "inverse-dirichlet")


@dataclass(frozen=True)
class Context:
    """What ``suggest`` needs to know about the run: the problem and its parameters, its difficulty coefficient
    (name, target, small value) if any, time coordinate, terms, and which remedies are registered."""

    problem: str
    params: Mapping[str, Any] = field(default_factory=dict)
    coefficient: tuple[str, float, float] | None = None
    has_time: bool = True
    terms: tuple[str, ...] = ("res",)
    available: frozenset[str] = frozenset()
    adam_steps: int = 5000
    periodic: bool = False  # the problem has periodic coordinates whose initial data the exact periodic embedding
    # can represent (recipes then use it; reaction's Gaussian u0 has a slope kink at the seam: a plain network)
    tried: frozenset[str] = frozenset()  # the remedies and optimizer phases the diagnosed run already used
    kinked: bool = False  # time-dependent, and the initial data jumps in slope across a seam the problem declares
    # periodic in slope (Allen–Cahn's x² cos πx: a kink of the problem itself, whose layer grows like √t)
    mirrored: bool = False  # the problem declares reflection symmetries (``--symmetric`` builds them in)
    seam_kappa: float | None = None  # where kinked: the diffusivity along the kinked coordinate, read from the
    # residual (``problems.seams.diffusivity``), that rounds the kink (the periodic model's ``seam`` input)


def make_context(problem, params: Mapping[str, Any], available, adam_steps: int = 5000, tried=()) -> Context:
    """A ``Context`` from a built Problem and the parameters the user gave."""
    coef = None
    if problem.name in DIFFICULTY:
        name, small = DIFFICULTY[problem.name]
        target = float(problem.coefficients[name])
        if target > small:
            coef = (name, target, small)
    periodic = [problem.coords.index(c) for c in problem.periodic]
    smooth = bool(periodic) and not undeclared_seam_jumps(problem, periodic)
    kinks = kinked_seams(problem, smooth)
    kappa = diffusivity(problem, kinks[0]) if kinks else None
    return Context(problem.name, dict(params), coef, problem.time is not None, tuple(problem.term_names),
                   frozenset(available), adam_steps, smooth, frozenset(tried), bool(kinks), bool(problem.symmetries),
                   kappa)


#: the √t input where initial data is kinked (the problem's own kink, a parabolic layer at the seam)
ROOT_TIME_EVIDENCE = ("a √t input follows the layer a kinked initial condition starts at the seam (Allen–Cahn, the "
                      "record recipe, seeds 0–2: 9.9e-6 / 2.1e-5 / 1.5e-5 against 1.2e-5 / 2.5e-5 / 1.0e-4 without)")

#: the seam-kink input where the residual also gives the diffusivity that rounds the kink
SEAM_EVIDENCE = ("the distance to the seam smoothed by the equation's diffusivity is an input of the network, so the "
                 "kink of the initial data and its rounding are one feature's multiple (Allen–Cahn, the record "
                 "recipe with the √t input too, seeds 0–2: 7.5e-7 / 2.5e-6 / 1.0e-6 against 9.9e-6 / 2.1e-5 / 1.5e-5 "
                 "without it)")


#: where a symmetric network helps: an error the loss does not see, at a feature the mirror pins (a shock, a seam)
MIRROR_FINDINGS = ("loss-low-error-high", "points-overfit", "seam-error")
MIRROR_EVIDENCE = ("build the problem's mirror symmetry into the network (its group average), on half the points: "
                   "the shock or the seam kink is then centred by construction ({})")
MIRROR_MEASURED = "Burgers, the record recipe on seeds 0–2: 1.4e-7 / 6.9e-7 / 1.1e-5 → 5.6e-9 / 1.1e-8 / 4.9e-8"


def mirror(ctx: Context, finding: str) -> Suggestion | None:
    """``--symmetric`` where the problem declares a symmetry and ``finding`` is an error the mirror can pin."""
    if not ctx.mirrored or finding not in MIRROR_FINDINGS:
        return None
    return _sug(ctx, MIRROR_EVIDENCE.format(MIRROR_MEASURED), None, ("--symmetric",))


def train_command(ctx: Context, specs: Sequence[str] = (), args: Sequence[str] = ()) -> str:
    """``pinnsight train PROBLEM -p k=v ... [--remedy SPEC ...] [ARGS ...]``."""
    parts = ["pinnsight", "train", ctx.problem]
    for k, v in ctx.params.items():
        parts += ["-p", f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"]
    for s in specs:
        parts += ["--remedy", s]
    return " ".join([*parts, *args])


def curriculum_spec(coef: str, target: float, small: float) -> str:
    """At most 4 stages, each doubling the coefficient up to the target (start = max(small, target/8)): the NTK
    spread grows like the coefficient squared, so each stage sees it grow ≈ 4× (convection: 3.75/7.5/15/30, close
    to FINDINGS.md's working 1/5/10/20/30); the Adam state is carried across stages (a restart undid the previous
    stage in FINDINGS.md)."""
    stages = int(min(4, 1 + math.ceil(math.log2(target / small))))
    start = max(small, target / 2 ** (stages - 1))
    return f"curriculum:coef={coef},start={start:g},stages={stages},spacing=geometric,keep_optimizer=1"


def _sug(ctx: Context, why: str, spec: str | None = None, args: Sequence[str] = ()) -> Suggestion:
    return Suggestion(why, spec, tuple(args), train_command(ctx, [spec] if spec else [], args))


def _seam_input(ctx: Context) -> Suggestion:
    """The √t input, and with a diffusivity read from the residual the seam-kink input too, for a kinked seam."""
    model = "periodic:width=30,depth=3,harmonics=3,root_time=1"
    if ctx.seam_kappa is None:
        return _sug(ctx, ROOT_TIME_EVIDENCE, None, ("--model", model))
    return _sug(ctx, SEAM_EVIDENCE, None, ("--model", f"{model},seam={ctx.seam_kappa:.6g}"))


@dataclass(frozen=True)
class Recipe:
    """A whole training recipe: precision, network, points, optimizer phases (``(name, steps)``) and fixed term
    weights, with the evidence that it works. ``args`` renders it as ``pinnsight train`` arguments."""

    name: str
    x64: bool
    model: tuple[str, tuple[tuple[str, Any], ...]]
    points: tuple[tuple[str, int], ...]
    phases: tuple[tuple[str, int], ...]
    evidence: str
    weights: tuple[tuple[str, float], ...] = ()

    @property
    def args(self) -> tuple[str, ...]:
        name, opts = self.model
        out = ["--x64"] if self.x64 else []
        out += ["--model", name + (":" + ",".join(f"{k}={v}" for k, v in opts) if opts else "")]
        for term, n in self.points:
            out += ["--points", f"{term}={n}"]
        for term, w in self.weights:
            out += ["--weight", f"{term}={w:g}"]
        for phase, steps in self.phases:
            out += ["--optimizer", f"{phase}:steps={steps}"]
        return tuple(out)


#: Second-order recipes measured in docs/benchmarks.md (2 CPU cores, float64).
RECIPES = {
    "curriculum-lm": Recipe(
        "curriculum-lm", True, ("periodic", (("width", 20), ("depth", 3))), (("res", 1500), ("ic", 256)),
        (("gauss-newton", 300),),
        "a dense Levenberg–Marquardt phase at each curriculum stage, float64, small periodic network (measured: "
        "convection β = 30 to 5.3e-4 over 3 seeds)"),
    "natural-gradient": Recipe(
        "natural-gradient", True, ("mlp", (("width", 30), ("depth", 3))), (), (("adam", 1000), ("natural-gradient", 500)),
        "Adam, then energy natural gradient (Gauss–Newton steps with a line search), float64, small network "
        "(measured: Helmholtz and Klein–Gordon to 3e-4 over 3 seeds, 10× below the weighting papers)"),
    "natural-gradient-periodic": Recipe(
        "natural-gradient-periodic", True, ("periodic", (("width", 30), ("depth", 3))), (),
        (("adam", 1000), ("natural-gradient", 500)),
        "Adam, then energy natural gradient, float64, small network with the exact periodic embedding (measured: "
        "Allen–Cahn to 1.9e-2 with this recipe, 9.6e-4 with 4000 points; reaction ρ = 5 to 7.7e-4 with a 3 × 20 "
        "net and 1000 iterations)"),
    "resampled-quasi-newton": Recipe(
        "resampled-quasi-newton", True, ("mlp", (("width", 30), ("depth", 3))), (("res", 10000),),
        (("adam", 2000), ("ssbroyden", 8000)),
        "many residual points, resampled where the residual is large every 500 iterations inside a long self-scaled "
        "Broyden phase, float64, small network (measured with 24 000 / 16 000 / 8000 SSBroyden iterations: Burgers "
        "to 1.4e-7, Helmholtz to 1.8e-6, reaction ρ = 5 to 7.4e-7; the verification's 'longer' step extends it)"),
    "marching-quasi-newton": Recipe(
        "marching-quasi-newton", True, ("periodic", (("width", 30), ("depth", 3))), (("res", 4000),),
        (("adam", 1000), ("ssbroyden", 4000)),
        "march in time windows, each Adam then a long self-scaled Broyden phase, float64, small periodic network, "
        "initial condition weighted 100 (measured: convection β = 50 to 8.9e-6–1.6e-5 over 3 seeds in 6–7 min, "
        "1.3e-6–2.6e-6 with 6000 per window; Allen–Cahn 1.6e-5 with 3000; KdV 1.7e-4 with 6000)",
        weights=(("ic", 100.0),)),
}
#: the remedy spec a recipe trains with (recipes without one: none)
RECIPE_SPECS = {"resampled-quasi-newton": "rad:every=500"}


def lm_curriculum_spec(coef: str, target: float, small: float) -> str:
    """The curriculum of the measured curriculum + LM recipe: linear stages ≈ 5 apart in the coefficient from
    ``small`` (β = 30: 7 stages 1, 5.8, …, 30; stages 1/5/10/20 gave rel L2 1.06 at β = 30 with LM)."""
    return f"curriculum:coef={coef},start={small:g},stages={max(2, round(target / 5.0) + 1)}"


def _network_for(args: tuple[str, ...], periodic: bool) -> tuple[str, ...]:
    """A recipe's arguments with its network made periodic (``periodic``) or plain, same size: the exact periodic
    embedding where the problem is periodic and its initial data allow (``Context.periodic``)."""
    old, new = ("mlp:", "periodic:") if periodic else ("periodic:", "mlp:")
    return tuple(new + a[len(old):] if a.startswith(old) else a for a in args)


#: findings the time-marching recipe answers on a time-dependent problem with smooth periodic data
MARCHING_FINDINGS = ("conditioning-growth", "stall", "unbalanced-terms", "error-grows-in-time", "late-time-residual",
                     "still-improving")


def marching_windows(ctx: Context) -> int:
    """Time windows of the marching recipe: 4 (Allen–Cahn, KdV), one per 10 of a difficulty coefficient above 40
    (convection β = 50: 5, the measured record)."""
    return 4 if ctx.coefficient is None else max(4, math.ceil(ctx.coefficient[1] / 10 - 1e-9))


def marching(ctx: Context, finding: str) -> Suggestion | None:
    """The time-marching quasi-Newton recipe (the records of convection β = 50, Allen–Cahn and KdV), for
    ``MARCHING_FINDINGS`` on a time-dependent problem whose initial data the periodic embedding represents
    (``Context.periodic``); None elsewhere (Burgers, a Gaussian's seam kink: no evidence there). Listed before
    ``second_order``'s recipe, so ``--remedy auto`` adopts it first and a run that used it is offered the other."""
    if finding not in MARCHING_FINDINGS or not (ctx.has_time and ctx.periodic and "seq2seq" in ctx.available):
        return None
    r = RECIPES["marching-quasi-newton"]
    spec = f"seq2seq:windows={marching_windows(ctx)}"
    # no √t input here: with it this recipe (1 harmonic, SSBroyden 4000) gave Allen–Cahn 2.2e-5 against 1.5e-5;
    # a kinked seam with a diffusivity read from the residual: the seam-kink input (Context.seam_kappa)
    args = _with_seam_input(r.args, ctx.seam_kappa)
    return Suggestion(r.evidence, spec, args, train_command(ctx, [spec], args), recipe=r.name)


def _with_seam_input(args: tuple[str, ...], kappa: float | None) -> tuple[str, ...]:
    """A recipe's arguments with ``seam=kappa`` added to its periodic network (unchanged for ``kappa`` None)."""
    if kappa is None:
        return args
    return tuple(f"{a},seam={kappa:.6g}" if a.startswith("periodic:") else a for a in args)


#: unsolved-probe findings the resampled quasi-Newton recipe answers where no coefficient or time marching does
RESAMPLED_FINDINGS = ("unbalanced-terms", "stall", "loss-low-error-high", "still-improving")


def second_order(ctx: Context, finding: str) -> tuple[Suggestion, ...]:
    """The measured second-order recipes for ``finding``, best first, listed after the first-order remedies:
    curriculum + Levenberg–Marquardt when the coefficient's conditioning grows; elsewhere, for an unsolved probe
    (``RESAMPLED_FINDINGS``), many points resampled where the residual is large under a long SSBroyden phase (the
    records of Burgers, Helmholtz and reaction ρ = 5: 2.2e-8, 2.5e-6, 5.5e-7, against 3.3e-4 for Adam → natural
    gradient on Helmholtz), then Adam → natural gradient (offered to a run that already used the first).
    ``--remedy auto`` adopts the first unless ``second_order=0``; the exact periodic embedding where the problem is
    periodic and its data allow (``Context.periodic``)."""
    c = ctx.coefficient
    if finding in ("conditioning-growth", "stall") and c and "curriculum" in ctx.available:
        r = RECIPES["curriculum-lm"]
        spec = lm_curriculum_spec(*c)
        args = _network_for(r.args, ctx.periodic)
        return (Suggestion(r.evidence, spec, args, train_command(ctx, [spec], args), recipe=r.name),)
    if finding not in RESAMPLED_FINDINGS:
        return ()
    out = []
    if "rad" in ctx.available:
        r = RECIPES["resampled-quasi-newton"]
        spec = RECIPE_SPECS[r.name]
        args = _network_for(r.args, ctx.periodic)
        out.append(Suggestion(r.evidence, spec, args, train_command(ctx, [spec], args), recipe=r.name))
    r = RECIPES["natural-gradient-periodic" if ctx.periodic else "natural-gradient"]
    out.append(Suggestion(r.evidence, None, r.args, train_command(ctx, [], r.args), recipe=r.name))
    return tuple(out)


def _rad(ctx: Context, every: int, why: str) -> list[Suggestion]:
    """RAD resampling every ``every`` steps, where it is registered."""
    return [_sug(ctx, why, f"rad:every={every}")] if "rad" in ctx.available else []


def _plain_network(ctx: Context) -> Suggestion:
    return _sug(ctx, "a network without the periodic embedding keeps only the problem's periodic condition and can "
                     "represent the kink (reaction ρ = 5: 1.2e-4 → 7.4e-7)", None, ("--model", "mlp:width=30,depth=3"))


def _curriculum(ctx: Context) -> Suggestion | None:
    """Training at an easy coefficient first, when the problem has one and curriculum is available."""
    c = ctx.coefficient
    if not c or "curriculum" not in ctx.available:
        return None
    return _sug(ctx, f"train at {c[0]}={c[2]:g} first and raise it to {c[1]:g} in stages (Krishnapriyan et al. 2021)",
                curriculum_spec(*c))


def suggest(finding: Finding, ctx: Context) -> tuple[Suggestion, ...]:
    """Remedies to try for ``finding``, best first, each with its command line."""
    out: list[Suggestion] = []
    curriculum = _curriculum(ctx)
    every = max(100, ctx.adam_steps // 10)
    if finding.name == "conditioning-growth" and curriculum:
        out.append(curriculum)
    elif finding.name in ("error-grows-in-time", "late-time-residual") and ctx.has_time:
        if "causal" in ctx.available:
            out.append(_sug(ctx, "weight the residual of later times by how well earlier times are solved "
                                 "(Wang, Sankaran & Perdikaris 2022)", "causal"))
        if "seq2seq" in ctx.available:
            out.append(_sug(ctx, "march in time windows, each starting from the last (Krishnapriyan et al. 2021)",
                            "seq2seq:windows=5"))
    elif finding.name == "unbalanced-terms":
        for name in WEIGHTING:
            if name in ctx.available:
                out.append(_sug(ctx, f"balance the terms adaptively ({name} weighting)", name))
        lo, r = finding.evidence["smallest"], finding.evidence["ratio"]
        w = 10.0 ** min(4, max(1, round(math.log10(r) / 2)))  # halfway in decades: ‖∇L‖ ∝ w, do not overshoot
        out.append(_sug(ctx, f"raise the weight of the starved term {lo!r} (fixed)", None, ("--weight", f"{lo}={w:g}")))
    elif finding.name == "loss-low-error-high":
        out += _rad(ctx, every, "resample collocation points where the residual is large (Wu et al. 2023)")
        if curriculum:
            out.append(curriculum)
    elif finding.name == "points-overfit":
        out += _rad(ctx, every, "resample collocation points where the residual is large (Wu et al. 2023)")
        n = int(finding.evidence["n_points"])
        out.append(_sug(ctx, f"train on more residual points ({2 * n} instead of {n})", None,
                        ("--points", f"res={2 * n}")))
    elif finding.name == "stall":
        if curriculum:
            out.append(curriculum)
        elif ctx.has_time and "causal" in ctx.available:
            out.append(_sug(ctx, "causal weighting over time slices", "causal"))
        out += _rad(ctx, every, "resample collocation points where the residual is large")
    elif finding.name == "seam-error" and finding.evidence.get("undeclared_kink"):
        out.append(_plain_network(ctx))
    elif finding.name == "seam-error" and ctx.kinked:
        out.append(_seam_input(ctx))
    elif finding.name == "still-improving":
        out.append(_sug(ctx, "train longer (twice the Adam steps)", None, ("--steps", str(2 * ctx.adam_steps))))
    elif finding.name == "high-frequency-error":
        sigma = max(1.0, float(finding.evidence.get("sigma", 1.0)))
        out.append(_sug(ctx, "random Fourier features let an MLP fit fine scales (Wang, Wang & Perdikaris 2021)",
                        None, ("--model", f"fourier:sigma={sigma:g}")))
    out += [s for s in (marching(ctx, finding.name), *second_order(ctx, finding.name), mirror(ctx, finding.name))
            if s is not None]
    return tuple(out)


def _uses(suggestion: Suggestion) -> frozenset[str]:
    """The remedies and optimizer phases a suggestion adds (its spec's remedy, its recipe's phases)."""
    names = {suggestion.spec.split(":")[0]} if suggestion.spec else set()
    names |= {"symmetric"} if "--symmetric" in suggestion.args else set()
    if suggestion.recipe is not None:
        names |= {name for name, _ in RECIPES[suggestion.recipe].phases if name != "adam"}
    return frozenset(names)


def untried(suggestions: Sequence[Suggestion], ctx: Context) -> tuple[Suggestion, ...]:
    """The suggestions that add something the run did not use already; when none is left, the next step up:
    twice the budget (a run that used the remedies has not converged with them)."""
    fresh = tuple(s for s in suggestions if not (_uses(s) and _uses(s) <= ctx.tried))
    if fresh or not suggestions:
        return fresh
    used = ", ".join(sorted(set().union(*(_uses(s) for s in suggestions))))
    return (_sug(ctx, f"the run already used {used}: train it longer (twice the Adam steps), or widen the network",
                 None, ("--steps", str(2 * ctx.adam_steps))),)


def with_suggestions(findings: Sequence[Finding], ctx: Context) -> list[Finding]:
    """The findings with their ``suggestions`` filled in (without what the run already tried), most severe first
    (stable otherwise)."""
    done = [Finding(f.name, f.severity, f.message, f.evidence, untried(suggest(f, ctx), ctx)) for f in findings]
    return sorted(done, key=lambda f: -SEVERITIES.index(f.severity))
