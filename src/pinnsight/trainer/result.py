"""The result of a run: the stitched prediction on the evaluation grid, metrics, artifacts."""

from __future__ import annotations

import math
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import keys
from ..evaluation import make_residual_errors
from ..models import unknown_values
from ..nodes import evaluate_on_nodes, evaluation_nodes, node_errors
from ..problems import Observed
from .setup import Run
from .state import RunResult


def stitched_prediction(run: Run, finished) -> np.ndarray:
    """The prediction on the evaluation grid: each point from the network of the segment whose region holds it
    (time windows), else from the final network."""
    ev = run.evaluator
    flat = np.array(ev.predict(run.state.params, ev.points), np.float64)
    for seg in finished:
        if seg.segment.region is not None:
            m = np.asarray(seg.segment.region(ev.points_np))
            flat[m] = np.asarray(ev.predict(seg.params, ev.points), np.float64)[m]
    inside = run.problem.inside_grid(ev.axes)
    if inside is not None:  # outside the domain: 0, as the reference there (no part of an error)
        flat[~inside.ravel()] = 0.0
    return flat.reshape([len(a) for a in ev.axes] + run.problem.field_shape)


def final_residual(run: Run, finished) -> dict[str, float]:
    """Residual RMS / max on fresh points: of the final network, or per region-owning segment combined."""
    owned = [s for s in finished if s.segment.region is not None]
    if not owned:  # every term on fresh points of the whole domain (constraints too)
        errors = make_residual_errors(run.problem, run.static, dict(run.config.points), run.dtype)
        out = errors(run.state.params, run.state.coeffs, keys.derive(run.config.seed, "trainer", "final-residual"))
        return {f"{k}_fresh": float(v) for k, v in out.items()}
    parts = [run.evaluator.errors(s.params, run.state.coeffs, s.segment) for s in owned]
    return {"res_rms_fresh": math.sqrt(sum(p["res_rms_fresh"] ** 2 for p in parts) / len(parts)),
            "res_max_fresh": max(p["res_max_fresh"] for p in parts)}


def assemble(run: Run, finished, summary, stop: str) -> RunResult:
    run.recorder.close()
    state, ref = run.state, run.evaluator.reference
    prediction = stitched_prediction(run, finished)
    final_terms = run.compiler.terms_of(state.params, (state.batch, state.weights, state.coeffs))
    metrics: dict[str, Any] = {}
    if ref is not None:  # the whole vector, and per field for a system
        metrics.update(node_errors(run.problem, prediction, ref.values))
    metrics.update({
        "residual": final_residual(run, finished),
        "wall_s": time.perf_counter() - run.t_start,
        "steps": run.step,
        "stop_reason": stop,
        "final_losses": {k: float(final_terms[k]) for k in run.problem.term_names},
        "phases": [vars(r) for r in run.reports],
        "n_params": int(sum(x.size for x in jax.tree.leaves(state.params))),
        "dtype": jnp.dtype(run.dtype).name,
    })
    metrics.update(inverse_metrics(run))
    model = eqx.combine(state.params, run.static)
    model_report = getattr(model, "report", None)
    if callable(model_report):  # models that solve in their forward pass (hard constraints): conditioning
        metrics["model"] = model_report()
    artifacts: dict[str, Any] = {}
    if ref is None:  # what the run directory shows instead of an error map
        artifacts["grid_residual"] = run.evaluator.grid_residual(state.params, state.coeffs)
    nodes = node_evaluation(run)
    if nodes is not None:  # a steady problem on a shape: the mesh nodes' errors and figure
        metrics["nodes"], artifacts["nodes"] = nodes.metrics(), nodes
    if run.remedy is not None:
        metrics["remedies"] = remedy_metrics(run, finished, summary)
        artifacts["snapshots"] = run.recorder.snapshots
        if any(s.segment.region is not None for s in finished):  # the stitched solution's networks
            artifacts["segment_models"] = [eqx.combine(s.params, run.static) for s in finished]
            artifacts["segment_regions"] = [s.segment.region for s in finished]  # the points each one answers
    return RunResult(run.config, run.problem, model, run.recorder.history, metrics, ref,
                     prediction if ref is not None else None, run.reports, artifacts,
                     axes=run.evaluator.axes, grid_prediction=prediction)


def node_evaluation(run: Run):
    """The trained network on the nodes of a mesh of the problem's domain (``nodes``), or None (a box, time)."""
    node_set = evaluation_nodes(run.problem)
    if node_set is None:
        return None
    return evaluate_on_nodes(run.problem, node_set, run.static, run.state.params, run.state.coeffs,
                             run.evaluator.predict, run.dtype)


def inverse_metrics(run: Run) -> dict:
    """metrics["unknowns"] (final value, initial, truth and relative error when known) and metrics["data"] (the
    misfit of each data term on its training and held-out observations)."""
    out: dict[str, Any] = {}
    values = unknown_values(run.state.params)
    if values:
        out["unknowns"] = {}
        for u in run.config.unknowns:
            entry = {"value": values[u.name], "initial": u.initial, "lo": u.lo, "hi": u.hi, "truth": u.truth}
            if u.truth is not None and u.truth != 0:
                entry["rel_error"] = abs(values[u.name] - u.truth) / abs(u.truth)
            out["unknowns"][u.name] = entry
    ev = run.evaluator
    for con in run.problem.constraints:
        if not isinstance(con, Observed):
            continue
        misfit = lambda r: float(ev.misfit(run.state.params, jnp.asarray(r, run.dtype), con.fields))  # noqa: E731
        entry = {"n_train": int(con.rows.shape[0]), "train_rms": misfit(con.rows), "fields": list(con.fields)}
        if con.held_out is not None:
            entry.update(n_heldout=int(con.held_out.shape[0]), heldout_rms=misfit(con.held_out))
        out.setdefault("data", {})[con.name] = entry
    return out


def remedy_metrics(run: Run, finished, summary) -> dict:
    """metrics["remedies"]: per remedy its resolved options, events and summary; the segments of a driver."""
    events = run.recorder.events
    out: dict[str, Any] = {"specs": [str(r) for r in run.config.remedies]}
    for m in run.members:
        entry = {"options": dict(m.options or {}), "events": events.get(m.name, [])}
        if m.summary is not None:
            entry.update(m.summary(events.get(m.name, []), run.recorder.history))
        out[m.name] = entry
    if finished:
        out["segments"] = [{"label": s.segment.label, **(s.segment.info or {}), "steps": s.steps, "rel_l2_end": s.rel_l2}
                           for s in finished]
    if summary is not None:
        out["driver"] = summary
    return out
