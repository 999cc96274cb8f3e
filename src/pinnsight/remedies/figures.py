"""Figures of what remedies did: collocation points at a few moments, and remedy columns over steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

def timeline(config) -> list[tuple[str, tuple[str, ...]]]:
    """The panels of remedies.png: what the configured remedies declare (``RemedySpec.timeline``), in order."""
    from ._base import parse_spec, remedy_specs

    out = []
    for r in config.remedies:
        out += [p for p in remedy_specs()[parse_spec(str(r))[0]].timeline if p not in out]
    return out


def pick(items: list, k: int) -> list:
    """At most ``k`` items evenly spread over ``items``, first and last included."""
    if len(items) <= k:
        return list(items)
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in idx]


def write_remedy_figures(result, directory: Path, moments: int = 4) -> list[str]:
    """``collocation.png`` (+ ``collocation.npz``), ``remedies.png`` and, for time windows, ``segments.eqx`` (the
    windows' networks, in order) in ``directory``; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    directory, written = Path(directory), []
    snaps = result.artifacts.get("snapshots") or []
    if snaps and result.problem.dim == 2:
        written += _collocation_figure(result.problem, snaps, directory, moments)
    if result.artifacts.get("segment_models"):  # one network per time window: what the stitched solution uses
        import equinox as eqx

        eqx.tree_serialise_leaves(directory / "segments.eqx", result.artifacts["segment_models"])
        written.append("segments.eqx")
    panels = _timeline_panels(result.config, result.history)
    if panels:
        written += _timeline_figure(panels, result.history, directory)
    return written


def _collocation_figure(problem, snaps, directory: Path, moments: int) -> list[str]:
    """The residual points at ``moments`` snapshots (figure) and at all of them (npz)."""
    import matplotlib.pyplot as plt

    chosen = pick(snaps, moments)
    fig, axes = plt.subplots(1, len(chosen), figsize=(4 * len(chosen), 3.6), constrained_layout=True, squeeze=False)
    for ax, (step, label, pts) in zip(axes[0], chosen):
        ax.scatter(pts[:, 1], pts[:, 0], s=2, alpha=0.6)
        ax.set_xlim(*problem.bounds[1])
        ax.set_ylim(*problem.bounds[0])
        ax.set_title(f"step {step} ({label}), N={len(pts)}", fontsize=9)
        ax.set_xlabel(problem.coords[1])
        ax.set_ylabel(problem.coords[0])
    fig.suptitle("residual points")
    fig.savefig(directory / "collocation.png", dpi=100)
    plt.close(fig)
    np.savez_compressed(directory / "collocation.npz", steps=np.array([s for s, _, _ in snaps]),
                        **{f"points_{i}": p for i, (_, _, p) in enumerate(snaps)})
    return ["collocation.png", "collocation.npz"]


def _timeline_panels(config, history) -> list:
    """(title, history columns present) of each timeline the remedies declare (``col*``: every column so named)."""
    panels = []
    for title, cols in timeline(config):
        names = [n for c in cols for n in (sorted({k for r in history for k in r if k.startswith(c[:-1])})
                                           if c.endswith("*") else [c])]
        present = [c for c in names if any(r.get(c) is not None for r in history)]
        if present:
            panels.append((title, present))
    return panels


def _timeline_figure(panels, history, directory: Path) -> list[str]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), constrained_layout=True, squeeze=False)
    for ax, (title, cols) in zip(axes[0], panels):
        for c in cols:
            pts = [(r["step"], r[c]) for r in history if r.get(c) is not None]
            ax.plot(*zip(*pts), ".-", ms=3, label=c)
        values = [r[c] for c in cols for r in history if r.get(c) is not None]
        if min(values) > 0 and max(values) > 100 * min(values):  # spans decades: causal weights, ε
            ax.set_yscale("log")
        for s in (r["step"] for r in history if r.get("stall_restart")):
            ax.axvline(s, color="red", lw=0.6, ls="--")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    fig.savefig(directory / "remedies.png", dpi=100)
    plt.close(fig)
    return ["remedies.png"]
