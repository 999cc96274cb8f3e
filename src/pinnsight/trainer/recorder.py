"""The recorder: history rows, the progress bar, remedy events and collocation snapshots of one run."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..progress import progress_enabled


class Recorder:
    """Collects what a run records while it runs; the trainer calls it, nothing else writes history."""

    def __init__(self, term_names, total_steps: int, label: str, progress: bool | None, t_start: float,
                 remedy_names=()):
        self.term_names = tuple(term_names)
        self.t_start = t_start
        self.history: list[dict[str, Any]] = []
        self.events: dict[str, list] = {name: [] for name in remedy_names}
        self.snapshots: list[tuple[int, str, np.ndarray]] = []
        self.pending: dict[str, Any] = {}  # remedy columns for the next row
        self.latest: dict[str, float] = {}  # host values of the last row's losses and auxiliaries
        self.bar = tqdm(total=total_steps, disable=not progress_enabled(progress), desc=label, unit="step",
                        dynamic_ncols=True, leave=False, file=sys.stderr)

    def row(self, step: int, phase: str, terms: Mapping[str, Any], weights: Mapping[str, Any],
            errors: Mapping[str, float | None], columns: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Append one history row: losses per term, weights, errors (None where not evaluated), columns."""
        host = {k: float(v) for k, v in terms.items()}
        losses = {k: host[k] for k in self.term_names}
        row = {"step": step, "phase": phase, "wall_s": round(time.perf_counter() - self.t_start, 4),
               "loss": sum(float(weights[k]) * v for k, v in losses.items())}
        row.update({f"{k}_loss": v for k, v in losses.items()})
        row.update({f"{k}_weight": float(w) for k, w in weights.items()})
        row.update(errors)
        row.update({**(columns or {}), **{k: v for k, v in host.items() if k not in losses}, **self.pending})
        self.pending.clear()
        self.latest = host
        self.history.append(row)
        shown = {k: f"{v:.2e}" for k, v in losses.items()}
        shown.update({k: f"{v:.2e}" for k, v in errors.items() if v is not None and k == "rel_l2"})
        self.bar.set_postfix(shown)
        return row

    def advance(self, steps: int) -> None:
        self.bar.update(steps)

    def note(self, changes, step: int, label: str, pending: bool = False) -> None:
        """A remedy's events and columns (into the last row, or the next with ``pending``), and the residual
        points when it moved them."""
        for e in changes.events:
            self.events.setdefault(e["remedy"], []).append({k: v for k, v in e.items() if k != "remedy"})
        if changes.batch is not None and "res" in changes.batch:
            self.snapshot(step, label, changes.batch["res"])
        target = self.pending if pending or not self.history else self.history[-1]
        target.update(changes.log or {})

    def snapshot(self, step: int, label: str, points) -> None:
        self.snapshots.append((step, label, np.asarray(points)))

    def close(self) -> None:
        self.bar.close()
