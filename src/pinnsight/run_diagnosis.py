"""Diagnosing a run directory: read it (``load_run_data``, every file checked) and write its ``diagnosis/``
(``diagnose_run``). In the run-directory layer, above the pure diagnostics it calls."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from .diagnostics.report import Diagnosis, RunData, diagnose, write_diagnosis
from .errors import PinnsightError
from .runs import load_run, read_history


def load_run_data(run_dir: Path) -> RunData:
    """Read a run directory (config.json, params.eqx, history.csv, prediction.npz); PinnsightError if it is not a
    complete, readable run."""
    run_dir = Path(run_dir)
    config, model, metrics = load_run(run_dir)
    if not (run_dir / "prediction.npz").is_file():
        raise PinnsightError(f"{run_dir} is not a complete run directory (missing prediction.npz)")
    try:
        history = read_history(run_dir / "history.csv")
        with np.load(run_dir / "prediction.npz") as z:
            if "reference" not in z:
                raise PinnsightError(f"{run_dir}: the problem has no reference solution; the diagnosis compares the "
                                     "error with the solution (see metrics.json 'residual' for the fresh-point errors)")
            pred, ref = np.asarray(z["prediction"], float), np.asarray(z["reference"], float)
            problem = config.build_problem()
            axes = tuple(np.asarray(z[f"axis_{c}"], float) for c in problem.coords)
    except (OSError, ValueError, KeyError) as e:
        raise PinnsightError(f"{run_dir}: unreadable run files ({e.__class__.__name__}: {e})") from None
    if pred.shape != ref.shape or pred.shape != tuple(len(a) for a in axes) + tuple(problem.field_shape):
        raise PinnsightError(f"{run_dir}/prediction.npz: prediction, reference and axes do not match")
    if not history:
        raise PinnsightError(f"{run_dir}/history.csv has no rows")
    bad = [i for i, leaf in enumerate(jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
           if not np.all(np.isfinite(np.asarray(leaf)))]
    if bad:
        stop = metrics.get("stop_reason")
        raise PinnsightError(f"{run_dir}: the network holds non-finite values (NaN or inf in {len(bad)} parameter "
                             f"array(s){f'; training stopped: {stop}' if stop else ''}): nothing to diagnose; "
                             "train again with a smaller learning rate")
    return RunData(config, model, history, pred, ref, axes, metrics)


def diagnose_run(run_dir: Path, **options) -> tuple[Path, Diagnosis]:
    """Load, diagnose and write ``run_dir/diagnosis/``."""
    data = load_run_data(run_dir)
    diag = diagnose(data, **options)
    return write_diagnosis(run_dir, diag, data), diag
