"""Figures of a run: prediction / reference / |error| maps and loss curves (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_solution(result, path: Path) -> None:
    """Prediction, reference and absolute error over the reference grid (2-D) or along the axis (1-D)."""
    problem, ref = result.problem, result.reference
    pred, exact = _in_domain(ref.inside, result.prediction), _in_domain(ref.inside, ref.values)
    err = np.abs(pred - exact)
    title = f"{problem.name} " + " ".join(f"{k}={v:g}" for k, v in problem.coefficients.items())
    title += f" — rel L2 {result.metrics['rel_l2']:.2e}"
    if problem.dim == 1:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
        a.plot(ref.axes[0], exact, "k-", label="reference")
        a.plot(ref.axes[0], pred, "r--", label="prediction")
        a.legend()
        b.semilogy(ref.axes[0], err + 1e-300)
        b.set_title("|error|")
        a.set_xlabel(b.set_xlabel(problem.coords[0]).get_text())
    elif problem.dim == 2:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
        vmin, vmax = float(np.nanmin(exact)), float(np.nanmax(exact))
        for ax, data, name, kw in (
            (axes[0], pred, "prediction", {"vmin": vmin, "vmax": vmax, "cmap": "rainbow"}),
            (axes[1], exact, "reference", {"vmin": vmin, "vmax": vmax, "cmap": "rainbow"}),
            (axes[2], err, "|prediction − reference|", {"cmap": "viridis"}),
        ):
            _map(fig, ax, data, name, ref.axes, problem.coords, kw, space=problem.time is None)
    else:
        return
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_prediction_residual(problem, axes, prediction, residual, path: Path) -> None:
    """For a run without a reference: the prediction and |PDE residual| over the grid ``axes`` (one 1-D array per
    coordinate; ``prediction`` and ``residual`` hold values on it, shaped as the grid or flat in C order) — two
    maps for a 2-D problem, two curves along the axis for a 1-D one; nothing is written for more dimensions."""
    axes = tuple(np.asarray(a, float) for a in axes)
    shape = tuple(len(a) for a in axes)
    inside = problem.inside_grid(axes)
    pred = _in_domain(inside, np.asarray(prediction, float).reshape(shape))
    res = _in_domain(inside, np.abs(np.asarray(residual, float)).reshape(shape))
    rms = float(np.sqrt(np.nanmean(res**2)))
    title = f"{problem.name} " + " ".join(f"{k}={v:g}" for k, v in problem.coefficients.items())
    title += f" — no reference; residual RMS {rms:.2e} on the grid"
    floor = max(float(np.nanmin(res[res > 0])) if np.any(res > 0) else 1.0, 1e-300)
    if problem.dim == 1:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
        a.plot(axes[0], pred, "r-")
        a.set_title("prediction")
        b.semilogy(axes[0], np.maximum(res, floor))
        b.set_title("|residual|")
        a.set_xlabel(b.set_xlabel(problem.coords[0]).get_text())
    elif problem.dim == 2:
        fig, panels = plt.subplots(1, 2, figsize=(10.5, 4), constrained_layout=True)
        top = max(float(np.nanmax(res)), floor * 10)
        for ax, data, name, kw in (
            (panels[0], pred, "prediction", {"cmap": "rainbow"}),
            (panels[1], np.maximum(res, floor), "|residual|",
             {"cmap": "viridis", "norm": matplotlib.colors.LogNorm(vmin=max(floor, top * 1e-8), vmax=top)}),
        ):
            _map(fig, ax, data, name, axes, problem.coords, kw, space=problem.time is None)
    else:
        return
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _in_domain(inside, values) -> np.ndarray:
    """``values`` with the grid points outside the domain (``inside`` False) blank (NaN); all kept for a box."""
    values = np.asarray(values, float)
    if inside is None:
        return values
    return np.where(inside.reshape(inside.shape + (1,) * (values.ndim - inside.ndim)), values, np.nan)


def _map(fig, ax, data, name, axes, coords, kw, space: bool = False) -> None:
    """One field over a 2-D grid ``axes`` (first axis the rows of ``data``): image, title, axis names, colour
    bar. Two space coordinates (``space``) are drawn to scale, the first across; otherwise (space and time) the
    second coordinate runs across and the image fills the panel."""
    (v0, v1), (n0, n1) = axes, coords
    if space:
        data, (v0, v1), (n0, n1) = np.asarray(data).T, (v1, v0), (n1, n0)
    im = ax.imshow(data, origin="lower", extent=[v1[0], v1[-1], v0[0], v0[-1]], aspect="equal" if space else "auto",
                   interpolation="nearest", **kw)
    ax.set_title(name)
    ax.set_xlabel(n1)
    ax.set_ylabel(n0)
    fig.colorbar(im, ax=ax, shrink=0.8 if space else 1.0)


def plot_losses(history: list[dict[str, Any]], path: Path) -> None:
    """Per-term losses (log scale) and, where evaluated, the relative L2 error against steps."""
    if not history:
        return
    steps = np.array([r["step"] for r in history], float)
    terms = [k[: -len("_loss")] for k in history[0] if k.endswith("_loss")]
    weights = [k for k in history[0] if k.endswith("_weight")]
    varying = [k for k in weights if len({r.get(k) for r in history}) > 1]
    n = 3 if varying else 2
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.8), constrained_layout=True)
    for t in terms:
        axes[0].semilogy(steps, [max(r[f"{t}_loss"], 1e-300) for r in history], label=t)
    axes[0].semilogy(steps, [max(r["loss"], 1e-300) for r in history], "k--", lw=1, label="weighted total")
    axes[0].set_title("loss terms")
    for r0, r1 in zip(history, history[1:]):
        if r0["phase"] != r1["phase"] and r0["phase"] != "init":
            for ax in axes:
                ax.axvline(r0["step"], color="grey", lw=0.5, ls=":")
    axes[0].legend()
    ev = [(r["step"], r["rel_l2"]) for r in history if r.get("rel_l2") is not None]
    if ev:
        axes[1].semilogy(*zip(*ev), "o-", ms=3)
    axes[1].set_title("relative L2 error")
    for k in varying:
        axes[2].semilogy(steps, [r[k] for r in history], label=k)
    if varying:
        axes[2].set_title("loss weights")
        axes[2].legend()
    for ax in axes:
        ax.set_xlabel("step")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_unknowns(history: list[dict[str, Any]], truths: dict[str, float | None], path: Path) -> bool:
    """The unknown coefficients over steps (``unknown_<name>`` history columns), the truth dashed where known;
    False (nothing written) when the run has no unknowns."""
    names = [k[len("unknown_"):] for k in (history[0] if history else {}) if k.startswith("unknown_")]
    if not names:
        return False
    steps = np.array([r["step"] for r in history], float)
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), constrained_layout=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(steps, [r[f"unknown_{name}"] for r in history], label="identified")
        if truths.get(name) is not None:
            ax.axhline(truths[name], color="k", ls="--", lw=1, label=f"truth {truths[name]:.6g}")
        ax.set_title(f"unknown {name}")
        ax.set_xlabel("step")
        ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_system(problem, axes, prediction, reference, path: Path, residual=None) -> bool:
    """A system's fields, one row each: prediction, reference and |error| (or, without a reference, prediction and
    |residual| in one row) over a 2-D grid; a time-dependent 2-D problem is shown at its final time. ``prediction``
    and ``reference``: grid + (fields,). False (nothing written) when there is no 2-D view."""
    axes = tuple(np.asarray(a, float) for a in axes)
    inside = problem.inside_grid(axes)
    pred = _in_domain(inside, prediction)
    ref = None if reference is None else _in_domain(inside, reference)
    residual = None if residual is None else _in_domain(inside, residual)
    keep = [i for i in range(problem.dim) if not (problem.dim == 3 and problem.coords[i] == problem.time)]
    if len(keep) != 2:
        return False
    if problem.dim == 3:  # the final time
        it = problem.coords.index(problem.time)
        pred, ref = np.take(pred, -1, axis=it), None if ref is None else np.take(ref, -1, axis=it)
        residual = None if residual is None else np.take(np.asarray(residual), -1, axis=it)
    plane, names = (axes[keep[0]], axes[keep[1]]), (problem.coords[keep[0]], problem.coords[keep[1]])
    space = problem.time not in names
    rows = problem.n_fields if ref is not None else 1
    cols = 3 if ref is not None else problem.n_fields + (residual is not None)
    fig, grid = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), constrained_layout=True, squeeze=False)
    for i, f in enumerate(problem.fields):
        if ref is None:
            _map(fig, grid[0][i], pred[..., i], f"{f} (prediction)", plane, names, {"cmap": "rainbow"}, space)
            continue
        lo, hi = float(np.nanmin(ref[..., i])), float(np.nanmax(ref[..., i]))
        _map(fig, grid[i][0], pred[..., i], f"{f} prediction", plane, names, {"vmin": lo, "vmax": hi, "cmap": "rainbow"}, space)
        _map(fig, grid[i][1], ref[..., i], f"{f} reference", plane, names, {"vmin": lo, "vmax": hi, "cmap": "rainbow"}, space)
        _map(fig, grid[i][2], np.abs(pred[..., i] - ref[..., i]), f"|{f} error|", plane, names, {"cmap": "viridis"}, space)
    if ref is None and residual is not None:
        _map(fig, grid[0][-1], np.abs(residual), "|residual|", plane, names, {"cmap": "viridis"}, space)
    when = f" at {problem.time} = {axes[problem.coords.index(problem.time)][-1]:g}" if problem.dim == 3 else ""
    fig.suptitle(f"{problem.name}{when}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _tri_panel(fig, ax, tri, values, name: str, coords, kw) -> None:
    """One panel on the triangulation ``tri``: values at its vertices, Gouraud-shaded, to scale."""
    im = ax.tripcolor(tri, values, shading="gouraud", **kw)
    ax.set_aspect("equal")
    ax.set_title(name)
    ax.set_xlabel(coords[0])
    ax.set_ylabel(coords[1])
    fig.colorbar(im, ax=ax, shrink=0.8)


def plot_mesh(problem, evaluation, path: Path) -> None:
    """The run on the evaluation mesh's nodes (``nodes.NodeEvaluation``), one row per field: prediction,
    reference and |error| with a reference; else prediction per field and |PDE residual| in one row."""
    from matplotlib.tri import Triangulation

    nodes = evaluation.nodes
    tri = Triangulation(nodes.points[:, 0], nodes.points[:, 1], nodes.triangles)
    k = problem.n_fields
    pred = evaluation.prediction.reshape(-1, k)
    ref = None if nodes.reference is None else nodes.reference.reshape(-1, k)
    rows, cols = (k, 3) if ref is not None else (1, k + 1)
    fig, grid = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), constrained_layout=True, squeeze=False)
    for i, f in enumerate(problem.fields):
        if ref is None:
            _tri_panel(fig, grid[0][i], tri, pred[:, i], f"{f} prediction", problem.coords, {"cmap": "rainbow"})
            continue
        scale = {"vmin": float(ref[:, i].min()), "vmax": float(ref[:, i].max()), "cmap": "rainbow"}
        _tri_panel(fig, grid[i][0], tri, pred[:, i], f"{f} prediction", problem.coords, scale)
        _tri_panel(fig, grid[i][1], tri, ref[:, i], f"{f} reference", problem.coords, scale)
        _tri_panel(fig, grid[i][2], tri, np.abs(pred[:, i] - ref[:, i]), f"|{f} error|", problem.coords,
                   {"cmap": "viridis"})
    if ref is None:
        _tri_panel(fig, grid[0][-1], tri, np.abs(evaluation.residual), "|residual|", problem.coords,
                   {"cmap": "viridis"})
    err = evaluation.errors.get("rel_l2")
    note = f"rel L2 {err:.2e} on {len(pred)} nodes" if err is not None else f"no reference; {len(pred)} nodes"
    fig.suptitle(f"{problem.name} on the evaluation mesh — {note}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
