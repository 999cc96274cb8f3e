"""Diagnose a trained run: measure, detect failure signatures, write ``RUN_DIR/diagnosis/``.

``diagnose(data)`` computes the evidence (per-term gradient statistics, empirical NTK spectra and traces, the
Gauss–Newton condition number, residual over time on a grid, error over time and its spectrum, loss-history
flatness, the NTK spread at a small and at the target coefficient) and runs the detectors of ``signatures``.
``write_diagnosis`` writes ``report.md``, ``findings.json`` and figures atomically (a temporary folder renamed
over ``diagnosis/``; nothing else in the run directory is touched).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..jsonio import dumps as strict_dumps
from ..losses import loss_terms, residual_norms
from ..precision import float64_scope
from ..models import smooth_periodic_coords
from ..problems import grid_points
from ..problems.seams import undeclared_seam_jumps
from ..sampling import sample_batch
from . import gradients as G
from . import ntk as N
from . import signatures as S

DIAGNOSIS = "diagnosis"
FRESH_SALT = 0xD1A6  # fold_in salt for the fresh evaluation points


@dataclass
class RunData:
    """What a diagnosis reads: the config, the trained model, the history rows, prediction and reference."""

    config: Any
    model: Any
    history: list[dict[str, Any]]
    prediction: np.ndarray
    reference: np.ndarray
    axes: tuple[np.ndarray, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)


def from_result(result) -> RunData:
    """``RunData`` of an in-memory ``RunResult`` (the ``--remedy auto`` probe)."""
    return RunData(result.config, result.model, result.history, np.asarray(result.prediction, float),
                   np.asarray(result.reference.values, float), tuple(result.reference.axes), result.metrics)


@dataclass
class Diagnosis:
    findings: list[S.Finding]
    evidence: dict[str, Any]  # scalars and short lists (findings.json)
    figures: dict[str, Any]  # what the figures plot (arrays)
    context: S.Context


def _cast(tree, dtype):
    return jax.tree.map(lambda x: jnp.asarray(x, dtype) if eqx.is_array(x) else x, tree)


def _probe_grid(problem, n: int) -> np.ndarray:
    """An n-per-axis grid (2-D: n × n; 1-D: 4n) of interior points of the box, for the residual map."""
    m = 4 * n if problem.dim == 1 else n
    axes = [np.linspace(lo + (hi - lo) / (2 * m), hi - (hi - lo) / (2 * m), m) for lo, hi in problem.bounds]
    return grid_points(tuple(axes))


def ntk_probe(problem, static, params, batch, coeffs, weights=None, *, x64: bool = True, conditioning: bool = True,
              cache: dict | None = None) -> dict[str, Any]:
    """Spectra of the NTK blocks, their traces (Σ of per-row squared gradient norms), and the Gauss–Newton
    condition number on ``batch`` (a subsample), in float64 when ``x64``. ``cache`` keeps the jitted Jacobian
    between calls."""
    cache = {} if cache is None else cache

    def run():
        dt = jnp.float64 if x64 else jax.tree.leaves(params)[0].dtype
        p, b, c = _cast(params, dt), _cast(batch, dt), _cast(coeffs, dt)
        jac = cache.setdefault(jnp.dtype(dt).name, N.make_jacobians(problem, static, p))
        js = {k: np.asarray(v) for k, v in jac(p, b, c).items()}
        out = {"spectra": N.ntk_spectra(js), "traces": {k: float(np.sum(j * j)) for k, j in js.items()},
               "rows": {k: int(j.shape[0]) for k, j in js.items()}, "dtype": jnp.dtype(dt).name,
               "n_params": int(next(iter(js.values())).shape[1])}
        if conditioning:
            out["gauss_newton"] = N.condition_from_jacobian(N.scaled_jacobian(js, weights))._asdict()
        return out

    if x64:
        with float64_scope():
            return run()
    return run()


def _term_evidence(problem, static, params, config, coeffs, dtype, key):
    """Per-term losses on the run's initial training points and on fresh ones, and per-term gradient statistics:
    (training batch, evidence, statistics)."""
    _, key_data = jax.random.split(key)
    sample = jax.jit(lambda k: sample_batch(problem, k, config.points, dtype))
    train_batch = sample(key_data)  # the run's initial training points (as ``train.initial_state`` draws them)
    fresh_batch = sample(jax.random.fold_in(key, FRESH_SALT))
    terms_fn = jax.jit(lambda p, b, c: loss_terms(problem, eqx.combine(p, static), b, c))
    stats = G.gradient_statistics(problem, static, params, train_batch, coeffs)
    evidence = {
        "train_losses": {k: float(v) for k, v in terms_fn(params, train_batch, coeffs).items()},
        "fresh_losses": {k: float(v) for k, v in terms_fn(params, fresh_batch, coeffs).items()},
        "grad_norms": {k: s.norm for k, s in stats.items()}, "grad_max": {k: s.max for k, s in stats.items()},
        "grad_mean": {k: s.mean for k, s in stats.items()}, "grad_std": {k: s.std for k, s in stats.items()},
        "grad_imbalance": G.imbalance(stats)["ratio"],
    }
    return train_batch, evidence, stats


def _trained_ntk(problem, static, params, train_batch, coeffs, config, sizes, x64, conditioning, evidence):
    """The empirical NTK at the trained parameters on a subsample: (subsample, Jacobian cache, spectra)."""
    sub = N.subsample(train_batch, sizes, seed=config.seed)
    jac: dict = {}  # one jitted Jacobian for the three probes (same shapes: compiled once)
    probe = ntk_probe(problem, static, params, sub, coeffs, dict(config.weights), x64=x64, conditioning=conditioning,
                      cache=jac)
    evidence["ntk"] = {"lambda_max": {b: float(v[0]) for b, v in probe["spectra"].items()},
                       "traces": probe["traces"], "rows": probe["rows"], "dtype": probe["dtype"],
                       "spread": S.ntk_spread(probe["spectra"], problem.equations)}
    if conditioning:
        evidence["gauss_newton"] = probe["gauss_newton"]
    return sub, jac, {"trained": probe["spectra"]}


def diagnose(data: RunData, *, ntk_points: int = 256, constraint_points: int = 64, slices: int = 10,
             grid: int = 64, x64: bool = True, conditioning: bool = True, available=None) -> Diagnosis:
    """Measure everything and detect the failure signatures of a trained run (see the module docstring)."""
    from ..remedies import remedy_specs
    from ..trainer import model_builder

    config, problem = data.config, data.config.build_problem()
    params, static = eqx.partition(data.model, eqx.is_array)
    dtype = jax.tree.leaves(params)[0].dtype
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    key = jax.random.PRNGKey(config.seed)
    train_batch, terms, stats = _term_evidence(problem, static, params, config, coeffs, dtype, key)
    # residual on a uniform grid: its map and its profile over time
    pts = jnp.asarray(_probe_grid(problem, grid), dtype)
    res = np.asarray(jax.jit(lambda p, x, c: _res_only(problem, static, p, x, c))(params, pts, coeffs), float)
    figures: dict[str, Any] = {"grad_stats": stats, "residual_points": np.asarray(pts), "residual": res}
    error = data.prediction - data.reference
    rel_l2 = float(np.linalg.norm(error) / np.linalg.norm(data.reference))
    evidence: dict[str, Any] = {"rel_l2": rel_l2, **terms}
    found: list[S.Finding | None] = []
    if problem.time is not None:
        found += _time_findings(problem, np.asarray(pts), res, error, data.reference, slices, figures, evidence)
    found.append(_spectrum_finding(problem, error, data, figures, evidence))
    found.append(_seam_finding(problem, static, error))
    found.append(S.training_broke_down((data.metrics or {}).get("stop_reason"), (data.metrics or {}).get("phases", ())))
    losses_ok = [v for v in (r.get("loss") for r in data.history) if isinstance(v, (int, float)) and math.isfinite(v)]
    if losses_ok:
        found += _loss_findings(problem, losses_ok, rel_l2, terms, int(train_batch["res"].shape[0]), evidence)
    found.append(S.unbalanced_terms(evidence["grad_norms"], rel_l2, terms["train_losses"]))
    sizes = {"res": ntk_points, **{c.name: constraint_points for c in problem.constraints}}
    sub, jac, spectra = _trained_ntk(problem, static, params, train_batch, coeffs, config, sizes, x64, conditioning,
                                     evidence)
    tried = [r.name for r in config.remedies] + [p.name for p in config.phases] + ["symmetric"] * config.symmetric
    ctx = S.make_context(problem, _given_params(config), available if available is not None else remedy_specs(),
                         _adam_steps(config), tried)
    if ctx.coefficient is not None:  # the NTK at initialisation, at the small and at the target coefficient
        init = eqx.partition(model_builder(config, problem)(jax.random.split(key)[0]), eqx.is_array)[0]
        probe_at = lambda c: ntk_probe(problem, static, init, sub, c, dict(config.weights), x64=x64,  # noqa: E731
                                       conditioning=conditioning, cache=jac)
        found.append(_coefficient_probe(ctx.coefficient, coeffs, dtype, probe_at, conditioning, spectra, evidence))
    figures["spectra"] = spectra
    found = [f for f in found if f is not None]
    if losses_ok and not found:  # nothing explains a high error: was the budget the limit?
        found.append(S.still_improving(losses_ok, rel_l2))
    return Diagnosis(S.with_suggestions([f for f in found if f is not None], ctx), evidence, figures, ctx)


def _coefficient_probe(coefficient, coeffs, dtype, probe_at, conditioning, spectra, evidence):
    """The NTK at initialisation at the small and the target value of the difficulty coefficient (spectra,
    evidence) and the conditioning-growth signature read from their spreads."""
    name, target, small = coefficient
    at = {}
    for label, value in (("small", small), ("target", target)):
        at[label] = probe_at({**coeffs, name: jnp.asarray(value, dtype)})
        spectra[f"init, {name}={value:g}"] = at[label]["spectra"]
    sp = {lab: S.ntk_spread(v["spectra"]) for lab, v in at.items()}  # (the DIFFICULTY problems: one equation)
    gn = {lab: v["gauss_newton"]["cond"] if conditioning else None for lab, v in at.items()}
    evidence["coefficient_probe"] = {"coef": name, "small": small, "target": target, "spread": sp,
                                     "gauss_newton_cond": gn}
    return S.conditioning_growth(name, small, target, sp["small"], sp["target"],
                                 cond_small=gn["small"], cond_target=gn["target"])


def _time_findings(problem, pts, res, error, reference, slices, figures, evidence) -> list:
    """Residual and error profiles over time slices (figures, evidence) and the two signatures read from them."""
    it = problem.time_index
    t_c, r_prof = S.time_profile(pts[:, it], res**2, problem.bounds[it], slices)
    e_t, e_prof = S.grid_time_profile(error, reference, it, slices)
    lo, hi = problem.bounds[it]
    figures.update(times=t_c, residual_profile=r_prof, error_times=lo + (hi - lo) * e_t, error_profile=e_prof)
    evidence.update(residual_profile=r_prof.tolist(), error_profile=e_prof.tolist())
    return [S.late_time_residual(t_c, r_prof), S.error_grows_in_time(t_c, e_prof, evidence["rel_l2"])]


def _spectrum_finding(problem, error, data, figures, evidence):
    """The error's spectrum against the solution's (figures, evidence) and the high-frequency signature."""
    periodic = [c in problem.periodic for c in problem.coords]
    split = S.spectral_split(error, data.reference, periodic)
    k, pe = S.radial_spectrum(error, periodic)
    _, ps = S.radial_spectrum(data.reference, periodic)
    # σ for Fourier features: the error's peak frequency in cycles per unit length along the finest axis
    nyq = max((len(a) - 1) / (2.0 * (a[-1] - a[0])) for a in data.axes if len(a) > 1)
    split_ev = {**split, "sigma": float(round(max(1.0, k[int(np.argmax(pe))] * nyq)))}
    figures.update(freq=k, error_power=pe, solution_power=ps)
    evidence["spectrum"] = split_ev
    return S.high_frequency_error(split_ev, evidence["rel_l2"])


def _seam_finding(problem, static, error):
    """The seam-error signature on the grid, told whether the initial data has a kink the model cannot represent."""
    periodic = [c in problem.periodic for c in problem.coords]
    kinks = [name for name, _, _ in undeclared_seam_jumps(problem, smooth_periodic_coords(static))]
    return S.seam_error(error, periodic, problem.coords, undeclared=kinks)


def _loss_findings(problem, losses_ok, rel_l2, terms, n_res: int, evidence) -> list:
    """Stall, loss-low-error-high and points-overfit, from the loss history and the residual on training and fresh
    points."""
    evidence["loss_decades_last_30pct"] = S.flatness(losses_ok)
    fresh = sum(terms["fresh_losses"][e] for e in problem.equations)
    train = sum(terms["train_losses"][e] for e in problem.equations)
    return [S.stall(losses_ok, rel_l2),
            S.loss_low_error_high(losses_ok[0], losses_ok[-1], rel_l2, fresh_residual=fresh, train_residual=train),
            S.points_overfit(fresh, train, rel_l2, n_res)]


def _res_only(problem, static, params, pts, coeffs):
    """PDE residual values at rows ``pts`` (a system: the root sum of squares of its equations)."""
    return residual_norms(problem, static, params, coeffs, pts)


def _given_params(config) -> dict[str, Any]:
    """The problem parameters that differ from the defaults (for the suggested command lines)."""
    from ..problems import problem_specs

    spec = problem_specs()[config.problem]
    return {k: v for k, v in config.params.items() if spec.params[k].default != v}


def _adam_steps(config) -> int:
    return sum(p.steps for p in config.phases if p.name == "adam") or 5000


# ------------------------------------------------------------------------------------------------ writing
def write_diagnosis(run_dir: Path, diag: Diagnosis, data: RunData) -> Path:
    """Write ``run_dir/diagnosis/`` (report.md, findings.json, figures) atomically; returns its path."""
    run_dir = Path(run_dir)
    target = run_dir / DIAGNOSIS
    tmp = Path(tempfile.mkdtemp(prefix=f".{DIAGNOSIS}.", suffix=".tmp", dir=run_dir))
    old = None
    try:
        figs = write_figures(tmp, diag, data)
        (tmp / "findings.json").write_text(strict_dumps(findings_json(diag, data), indent=2) + "\n")
        (tmp / "report.md").write_text(report_markdown(diag, data, figs))
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{DIAGNOSIS}.old.", dir=run_dir))
            os.rename(target, old / DIAGNOSIS)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not target.exists():
            os.rename(old / DIAGNOSIS, target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


def findings_json(diag: Diagnosis, data: RunData) -> dict[str, Any]:
    return {
        "problem": data.config.problem, "params": dict(data.config.params), "rel_l2": diag.evidence["rel_l2"],
        "findings": [f.to_dict() for f in diag.findings], "evidence": S._plain(diag.evidence),
    }


def write_figures(folder: Path, diag: Diagnosis, data: RunData) -> dict[str, str]:
    """The report's figures; returns {what: file name}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = diag.figures
    _gradients_figure(plt, f["grad_stats"], folder / "gradients.png")
    N.plot_spectra(f["spectra"], folder / "ntk_spectra.png", "empirical NTK eigenvalues (subsample)")
    _residual_figure(plt, f, data.config.build_problem(), folder / "residual.png")
    _spectrum_figure(plt, f, diag.evidence["spectrum"]["k_star"], folder / "error_spectrum.png")
    return {"gradients": "gradients.png", "ntk": "ntk_spectra.png", "residual": "residual.png",
            "spectrum": "error_spectrum.png"}


def _gradients_figure(plt, grad_stats, path: Path) -> None:
    """Histograms of |∂L_i/∂θ_j| per loss term."""
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for term, s in grad_stats.items():
        centres = np.sqrt(s.edges[:-1] * s.edges[1:])
        ax.step(centres, s.hist[1:-1], where="mid", label=f"{term} (‖g‖={s.norm:.2e})")
    ax.set_xscale("log")
    ax.set_xlabel("|∂L_i/∂θ_j|")
    ax.set_ylabel("parameters")
    ax.set_title("gradient histograms per loss term (unweighted)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _residual_map(fig, a, problem, pts, r) -> None:
    """|residual| on the uniform grid: an image in 2-D, a curve in 1-D."""
    if problem.dim == 2:
        n = int(round(math.sqrt(len(r))))
        im = a.imshow(np.log10(r.reshape(n, n) + 1e-30), origin="lower", aspect="auto",
                      extent=[*problem.bounds[1], *problem.bounds[0]], cmap="magma")
        a.set_xlabel(problem.coords[1])
        a.set_ylabel(problem.coords[0])
        fig.colorbar(im, ax=a, label="log10 |residual|")
    else:
        a.semilogy(pts[:, 0], r + 1e-30)
        a.set_xlabel(problem.coords[0])
        a.set_ylabel("|residual|")
    a.set_title("PDE residual on a uniform grid")


def _residual_figure(plt, f, problem, path: Path) -> None:
    """The residual map and, for an evolution problem, residual and error over time slices."""
    ncol = 2 if "times" in f else 1
    fig, axes = plt.subplots(1, ncol, figsize=(6 * ncol, 4), squeeze=False, constrained_layout=True)
    _residual_map(fig, axes[0][0], problem, f["residual_points"], np.abs(f["residual"]))
    if "times" in f:
        b = axes[0][1]
        b.semilogy(f["times"], f["residual_profile"], "o-", label="mean squared residual")
        b.semilogy(f["error_times"], f["error_profile"], "s-", label="relative RMS error")
        b.set_xlabel(problem.time)
        b.set_title("over time slices")
        b.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _spectrum_figure(plt, f, k_star: float, path: Path) -> None:
    """Power spectra of the error and of the reference solution."""
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    ax.semilogy(f["freq"], f["solution_power"] + 1e-300, "k-", label="reference solution")
    ax.semilogy(f["freq"], f["error_power"] + 1e-300, "r-", label="error")
    ax.axvline(k_star, color="gray", ls="--", lw=1, label="99 % of the solution")
    ax.set_xlabel("normalised frequency (1 = Nyquist)")
    ax.set_ylabel("power")
    ax.set_title("spectrum of the error vs the solution")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple, np.ndarray)):
        arr = np.asarray(v, float).ravel()
        return "[" + ", ".join(f"{x:.2e}" for x in arr[:12]) + (", …" if arr.size > 12 else "") + "]"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


def _measurement_lines(ev: Mapping) -> list[str]:
    """The measured numbers: per-term gradients, the empirical NTK, the Gauss–Newton matrix, the coefficient probe."""
    lines = ["## Measurements", "", "Per-term gradients of the unweighted losses at the trained parameters "
              "(training points):", "", "| term | loss (train) | loss (fresh points) | ‖∇L‖ | max | mean | std |",
              "|---|---|---|---|---|---|---|"]
    for k in ev["grad_norms"]:
        lines.append(f"| {k} | {ev['train_losses'][k]:.3e} | {ev['fresh_losses'][k]:.3e} | {ev['grad_norms'][k]:.3e} "
                     f"| {ev['grad_max'][k]:.3e} | {ev['grad_mean'][k]:.3e} | {ev['grad_std'][k]:.3e} |")
    ntk = ev["ntk"]
    lines += ["", f"Empirical NTK on a subsample ({_fmt(ntk['rows'])} rows, {ntk['dtype']}):", "",
              "| block | λ_max | trace |", "|---|---|---|"]
    for b, lam in ntk["lambda_max"].items():
        lines.append(f"| K_{b} | {lam:.3e} | {ntk['traces'].get(b, sum(ntk['traces'].values())):.3e} |")
    lines += ["", f"NTK spread λ_max(K_res) / min_c λ_max(K_cc) = {ntk['spread']:.3g}."]
    if "gauss_newton" in ev:
        g = ev["gauss_newton"]
        lines += ["", f"Gauss–Newton matrix JᵀJ (rows scaled by √(w/N), {g['dtype']}): condition number "
                  f"{g['cond']:.3e} on its nonzero spectrum (eigenvalues above {g['rtol']:.1e}·λ_max), numerical "
                  f"rank {g['rank']} of {g['n_rows']} rows / {g['n_params']} parameters (λ_max {g['eig_max']:.3e}, "
                  f"λ_min {g['eig_min']:.3e}). At a rank cutoff the number mostly measures the cutoff; compare it "
                  "between runs of the same size, in float64."]
    if "coefficient_probe" in ev:
        p = ev["coefficient_probe"]
        lines += ["", f"At initialisation: NTK spread {p['spread']['small']:.3g} at {p['coef']}={p['small']:g}, "
                  f"{p['spread']['target']:.3g} at {p['coef']}={p['target']:g}."]
    return lines


def report_markdown(diag: Diagnosis, data: RunData, figs: Mapping[str, str]) -> str:
    """The findings in words with their evidence, the suggested commands, the measured numbers and figures."""
    c, ev = data.config, diag.evidence
    coef = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.params.items())
    lines = [f"# Diagnosis: {c.problem} ({coef})", "",
             f"rel L2 error {ev['rel_l2']:.3e}; model {c.model} {dict(c.model_options)}; "
             f"{data.metrics.get('steps', '?')} steps; remedies: {', '.join(map(str, c.remedies)) or 'none'}.", ""]
    from ..remedies import parse_spec

    used = {parse_spec(s)[0] for s in c.remedies}
    if "seq2seq" in used:
        lines += ["Note: this run used time windows; the parameters diagnosed are the last window's network.", ""]
    if used & {"rad", "rar", "adaptive-sampling"}:
        lines += ["Note: this run resampled its collocation points; 'training points' below are its initial draw.", ""]
    lines += ["## Findings", ""]
    if not diag.findings:
        lines += ["No failure signature detected.", ""]
    for f in diag.findings:
        lines += [f"### {f.name} ({f.severity})", "", f.message, "", "Evidence: "
                  + "; ".join(f"{k} = {_fmt(v)}" for k, v in f.evidence.items() if v is not None), ""]
        if f.suggestions:
            lines += ["Try:", ""]
            for s in f.suggestions:
                lines += [f"- {s.why}:", f"  `{s.command}`"]
            lines.append("")
    lines += _measurement_lines(ev)
    lines += ["", f"Error spectrum: {_fmt(ev['spectrum'])}.", "", "## Figures", ""]
    for what, name in figs.items():
        lines += [f"![{what}]({name})", ""]
    return "\n".join(lines)
