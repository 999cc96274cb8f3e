"""Peer engine: the same benchmark case trained by DeepXDE 1.15 (PyTorch backend), for accuracy and time
side by side with pinnsight in one sweep (a case with ``engine = "deepxde"``; the ``bench-peers`` extra).

The closest DeepXDE configuration to a pinnsight ``TrainConfig``: the failure-mode family residuals of
Krishnapriyan et al. (2021), Eqs. 5, 7, 8 (and diffusion), written with ``dde.grad``; ``FNN([2] + [width] *
depth + [1], "tanh", "Glorot normal")``; ``num_domain / num_initial / num_boundary`` = the ``res / ic / bc``
points (uniform "pseudo" sampling); an ``IC`` and one ``PeriodicBC`` per periodic derivative order, weighted
like pinnsight's terms; Adam with the same learning rate and the same continuous exponential decay
``lr · rate^(step / decay_steps)`` (DeepXDE's torch Adam has the default betas 0.9, 0.999); then
``torch.optim.LBFGS`` through DeepXDE with the same iteration budget and history size. The error is measured
on pinnsight's reference grid, so both engines are scored identically. What cannot be matched is listed in
the run's ``metrics.json`` under ``deviations``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PinnsightError

ENGINES = ("pinnsight", "deepxde")
#: problems the DeepXDE engine knows how to write (name -> residual builder)
DEEPXDE_PROBLEMS = ("convection", "reaction", "reaction-diffusion", "diffusion")


def check_engine_case(engine: str, problem: str, remedies, model: str, phases: list[str]) -> None:
    """PinnsightError unless a case of ``engine`` can run here (load-time validation)."""
    if engine not in ENGINES:
        raise PinnsightError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine != "deepxde":
        return
    if problem not in DEEPXDE_PROBLEMS:
        raise PinnsightError(f"engine deepxde supports the problems {', '.join(DEEPXDE_PROBLEMS)}, not {problem!r}")
    if remedies:
        raise PinnsightError("engine deepxde runs vanilla PINNs only (no remedies)")
    if model != "mlp":
        raise PinnsightError(f"engine deepxde supports model mlp only, not {model!r}")
    if any(p not in ("adam", "lbfgs") for p in phases):
        raise PinnsightError("engine deepxde supports the phases adam and lbfgs only")
    if importlib.util.find_spec("deepxde") is None or importlib.util.find_spec("torch") is None:
        raise PinnsightError("engine deepxde needs DeepXDE and PyTorch: pip install 'pinnsight[bench-peers]'")


def _residual(dde, name: str, c: dict[str, float]):
    def u_t(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1)

    def u_x(x, y):
        return dde.grad.jacobian(y, x, i=0, j=0)

    def u_xx(x, y):
        return dde.grad.hessian(y, x, i=0, j=0)

    return {
        "convection": lambda x, y: u_t(x, y) + c.get("beta", 0.0) * u_x(x, y),
        "reaction": lambda x, y: u_t(x, y) - c.get("rho", 0.0) * y * (1.0 - y),
        "reaction-diffusion": lambda x, y: (u_t(x, y) - c.get("nu", 0.0) * u_xx(x, y)
                                            - c.get("rho", 0.0) * y * (1.0 - y)),
        "diffusion": lambda x, y: u_t(x, y) - c.get("nu", 0.0) * u_xx(x, y),
    }[name]


def _import_deepxde():
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import deepxde as dde
        import torch
    return dde, torch


def _build_model(dde, config, problem):
    """DeepXDE's model of the case: (model, loss weights, deviations from pinnsight's setup)."""
    from ..problems.failure_modes import INITIAL_CONDITIONS

    with contextlib.redirect_stdout(io.StringIO()):
        dde.config.set_default_float("float64" if config.x64 else "float32")
        dde.config.set_random_seed(config.seed)
    (x0, x1), (t0, t1) = problem.bounds
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(x0, x1), dde.geometry.TimeDomain(t0, t1))
    u0 = INITIAL_CONDITIONS[problem.options["u0"]]
    periodic = next(c for c in problem.constraints if c.name == "bc")
    ic = dde.icbc.IC(geomtime, lambda x: u0(x[:, 0:1], xp=np), lambda _, on_initial: on_initial)
    bcs = [dde.icbc.PeriodicBC(geomtime, 0, lambda _, on_b: on_b, derivative_order=k)
           for k in range(periodic.derivatives + 1)]
    coeffs = {k: float(v) for k, v in problem.coefficients.items()}
    data = dde.data.TimePDE(geomtime, _residual(dde, problem.name, coeffs), [ic, *bcs],
                            num_domain=config.points["res"], num_boundary=config.points["bc"],
                            num_initial=config.points["ic"], train_distribution="pseudo")
    width, depth = config.model_options["width"], config.model_options["depth"]
    net = dde.nn.FNN([2] + [width] * depth + [1], "tanh", "Glorot normal")
    weights = [config.weights["res"], config.weights["ic"]] + [config.weights["bc"]] * len(bcs)
    deviations = [f"DeepXDE samples its own points (uniform, seed {config.seed}); periodicity has "
                  f"{len(bcs)} loss term(s) of weight {config.weights['bc']:g}"]
    return dde.Model(data, net), weights, deviations


class _PeerRun:
    """The DeepXDE run of one case: its model, history and the per-phase reports, phase by phase."""

    def __init__(self, dde, config, reference, t_start: float):
        self.dde, self.config, self.reference, self.t_start = dde, config, reference, t_start
        self.model, self.weights, self.deviations = _build_model(dde, config, config.build_problem())
        self.ref_points, self.ref_norm = reference.points(), float(np.linalg.norm(reference.values))
        self.history: list[dict[str, Any]] = []
        self.step, self.stop_reason, self.phases = 0, "budget", []

    def prediction(self) -> np.ndarray:
        return np.asarray(self.model.predict(self.ref_points), np.float64).reshape(self.reference.values.shape)

    def log(self, phase: str) -> float:
        losses = self.model.train_state.loss_train
        loss = float(np.sum(losses)) if losses is not None else math.nan
        err = float(np.linalg.norm(self.prediction() - self.reference.values) / self.ref_norm)
        self.history.append({"step": self.step, "phase": phase, "wall_s": round(time.perf_counter() - self.t_start, 4),
                             "loss": loss, "rel_l2": err})
        return err

    def adam(self, phase) -> tuple[int, str]:
        opts, config, done = phase.options, self.config, 0
        if (opts["b1"], opts["b2"]) != (0.9, 0.999):
            self.deviations.append("Adam betas: DeepXDE uses 0.9, 0.999")
        rate, every = opts["decay_rate"], opts["decay_steps"]
        self.model.compile("adam", lr=opts["lr"], decay=("lambda", lambda s: rate ** (s / every)),
                           loss_weights=self.weights, verbose=0)
        while done < phase.steps:
            n = min(config.eval_every, phase.steps - done)
            self.model.train(iterations=n, display_every=10**9, verbose=0)
            done, self.step = done + n, self.step + n
            err = self.log("adam")
            if not math.isfinite(self.history[-1]["loss"]):
                return done, "nan"
            if config.target_rel_l2 is not None and err <= config.target_rel_l2:
                return done, "target"
        return done, "budget"

    def lbfgs(self, phase) -> tuple[int, str]:
        opts, dde = phase.options, self.dde
        n_max = max(phase.steps, 1)
        maxfun = n_max * (opts["max_linesearch_steps"] + 1)  # iterations, not evaluations, are the budget
        dde.optimizers.set_LBFGS_options(maxcor=opts["memory"], ftol=opts["ftol"], gtol=opts["gtol"],
                                         maxiter=n_max, maxfun=maxfun, maxls=opts["max_linesearch_steps"])
        # DeepXDE 1.15 sets its per-call caps only at import (and runs up to 1000 more iterations per
        # call than asked): one call with the whole budget runs exactly the budget
        lbfgs = dde.optimizers.LBFGS_options
        lbfgs["iter_per_step"], lbfgs["fun_per_step"] = n_max, maxfun
        self.model.compile("L-BFGS", loss_weights=self.weights, verbose=0)
        before = self.model.train_state.step
        if phase.steps:
            self.model.train(display_every=10**9, verbose=0)
        done = self.model.train_state.step - before
        self.step += done
        self.log("lbfgs")
        if not math.isfinite(self.history[-1]["loss"]):
            return done, "nan"
        return done, "budget" if done >= phase.steps else "converged"

    def run_phases(self) -> None:
        for phase in self.config.phases:
            if self.stop_reason in ("target", "nan"):
                self.phases.append({"name": phase.name, "budget": phase.steps, "steps": 0, "stop_reason": "skipped"})
                continue
            t_phase = time.perf_counter()
            done, reason = (self.adam if phase.name == "adam" else self.lbfgs)(phase)
            self.phases.append({"name": phase.name, "budget": phase.steps, "steps": done, "stop_reason": reason,
                                "wall_s": time.perf_counter() - t_phase})
            self.stop_reason = reason


def train_deepxde(config, out: Path, extra: dict[str, Any], threads: int | None = None) -> None:
    """Train ``config`` with DeepXDE and write a run directory at ``out`` (config.json, metrics.json,
    history.csv, prediction.npz) atomically."""
    from importlib import metadata

    from ..runs import _write_history, _write_json, environment, new_run_dir

    dde, torch = _import_deepxde()
    t_start = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    reference = config.build_problem().reference_solution()
    run = _PeerRun(dde, config, reference, t_start)
    with contextlib.redirect_stdout(io.StringIO()):
        run.run_phases()
    prediction = run.prediction()
    rel_l2 = float(np.linalg.norm(prediction - reference.values) / run.ref_norm)
    env = environment()
    for pkg in ("deepxde", "torch"):
        env["versions"][pkg] = metadata.version(pkg)
    metrics = {"rel_l2": rel_l2, "wall_s": time.perf_counter() - t_start, "steps": run.step,
               "stop_reason": run.stop_reason, "phases": run.phases, "engine": "deepxde", "deviations": run.deviations}
    recorded = {"config": config.to_dict(), "seed": config.seed, "engine": "deepxde", **env, **extra}
    with new_run_dir(out) as tmp:
        _write_json(tmp / "config.json", recorded)
        _write_json(tmp / "metrics.json", metrics)
        _write_history(tmp / "history.csv", run.history)
        np.savez_compressed(tmp / "prediction.npz", prediction=prediction, reference=reference.values)
