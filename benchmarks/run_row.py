"""One ``pinnsight train`` run as one raw row: train (or take a finished run directory) and append its row to a
JSON-lines file, so a figure measured with the command line is backed by a committed row like the benchmark
scripts' (``python3 -m pinnsight.bench.render`` renders the docs' tables from these files).

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/run_row.py --jsonl benchmarks/results/recipes.jsonl \\
        --label convection-50-final3 -- convection -p beta=50 --x64 --model periodic:width=20,depth=3 ...
    python3 benchmarks/run_row.py --jsonl benchmarks/results/recipes.jsonl --label NAME --run-dir runs/x  # record only

Everything after ``--`` is passed to ``pinnsight train`` (``--subcommand train-family`` for a family run), with
``--out runs/rows/LABEL`` unless given. A label already in the file is skipped (resumable); a run directory that
already holds a finished run is recorded without training again. The row keeps the configuration the run recorded
(``config.json``), its metrics (``metrics.json``: rel L2, wall time, steps, stop reason, per-phase reports), the
seconds per iteration of each phase, the machine's load average before and after, and the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402


def speed_error(run_dir: Path) -> float | None:
    """Relative L2 error of the speed |(u, v)| on the evaluation grid (``prediction.npz``), for a run whose fields
    include u and v and that has a reference (the cavity figure of Wang, Teng & Perdikaris 2021 is this number)."""
    path = Path(run_dir) / "prediction.npz"
    if not path.is_file():
        return None
    with np.load(path) as d:
        fields = [str(f) for f in d["fields"]] if "fields" in d else []
        if "reference" not in d or not {"u", "v"} <= set(fields):
            return None
        iu, iv = fields.index("u"), fields.index("v")
        speed = lambda a: np.hypot(a[..., iu], a[..., iv])  # noqa: E731
        pred, ref = speed(d["prediction"]), speed(d["reference"])
    return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def interior_errors(run_dir: Path) -> dict | None:
    """Relative L2 error of each field on the evaluation grid without its boundary rows (``prediction.npz``): the
    cavity's pressure is singular at the lid's corners, which then dominate an error over the whole grid."""
    path = Path(run_dir) / "prediction.npz"
    if not path.is_file():
        return None
    with np.load(path) as d:
        if "reference" not in d or d["reference"].ndim != 3 or "fields" not in d:
            return None
        inner = (slice(1, -1), slice(1, -1))
        pred, ref = d["prediction"][inner], d["reference"][inner]
        fields = [str(f) for f in d["fields"]]
    return {f: float(np.linalg.norm(pred[..., i] - ref[..., i]) / np.linalg.norm(ref[..., i]))
            for i, f in enumerate(fields)}


def error_curve(run_dir: Path) -> list[list[float]]:
    """[wall s, rel L2] at every evaluation of ``history.csv`` (empty without a reference)."""
    import csv

    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    out = []
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            try:
                out.append([float(r["wall_s"]), float(r["rel_l2"])])
            except (KeyError, TypeError, ValueError):
                continue
    return [c for c in out if c[1] == c[1]]


def row_from_run(run_dir: Path, label: str) -> dict:
    """The raw row of a finished run directory (``config.json`` + ``metrics.json``)."""
    run_dir = Path(run_dir)
    recorded = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    cfg = recorded.get("config", {})
    reports = metrics.get("phases") or []
    s_per_it = {}
    for rep in reports:  # the last phase of each name (per-stage phases: the final stage's)
        if isinstance(rep, dict) and rep.get("steps"):
            s_per_it[rep.get("name")] = rep.get("wall_s", 0.0) / rep["steps"]
    return {
        "label": label, "run_dir": str(run_dir), "argv": recorded.get("argv"), "created": recorded.get("created"),
        "problem": cfg.get("problem"), "params": cfg.get("params"), "seed": recorded.get("seed", cfg.get("seed")),
        "model": cfg.get("model"), "model_options": cfg.get("model_options"), "x64": cfg.get("x64"),
        "points": cfg.get("points"), "weights": cfg.get("weights"), "remedies": cfg.get("remedies"),
        "phases": cfg.get("phases"),
        "rel_l2": metrics.get("rel_l2"), "rel_l2_fields": metrics.get("rel_l2_fields"),
        "wall_s": metrics.get("wall_s"), "steps": metrics.get("steps"),
        "stop": metrics.get("stop_reason"), "phase_reports": reports, "s_per_it": s_per_it,
        "unknowns": metrics.get("unknowns"), "data": metrics.get("data"), "speed_rel_l2": speed_error(run_dir),
        "rel_l2_interior": interior_errors(run_dir),
        "versions": recorded.get("versions"), "machine": recorded.get("machine"), "device": recorded.get("device"),
        **({"auto": recorded["auto"]} if recorded.get("auto") else {}),  # --remedy auto's choice and escalation
        **({"nodes": metrics["nodes"]} if metrics.get("nodes") else {}),  # the errors on the evaluation mesh's nodes
        "curve": error_curve(run_dir),
    }


def run_cases(jsonl: Path, cases: dict, common: list[str], only: str | None) -> int:
    """One row per case of a benchmark script (``only``: that label alone); a failed run stops the script."""
    if only and only not in cases:
        print(f"run_row: no case {only!r} (cases: {', '.join(cases)})", file=sys.stderr)
        return 2
    for label, case in cases.items():
        if only and label != only:
            continue
        code = main(["--jsonl", str(jsonl), "--label", label, "--", *case, *common])
        if code:
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    rest: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--jsonl", required=True, help="append the row here (a label already there is skipped)")
    ap.add_argument("--label", required=True, help="the row's name, as the docs' table specs select it")
    ap.add_argument("--run-dir", type=Path, default=None, help="record this finished run directory; train nothing")
    ap.add_argument("--subcommand", default="train", help="pinnsight subcommand (train, train-family)")
    args = ap.parse_args(argv)
    if any(r.get("label") == args.label for r in read_rows(args.jsonl)):
        print(f"run_row: {args.label} is already in {args.jsonl}; skipped", file=sys.stderr)
        return 0
    run_dir = args.run_dir
    load = {"loadavg_start": list(os.getloadavg())}
    if run_dir is None:
        if not rest:
            ap.error("give the pinnsight arguments after -- (or --run-dir)")
        if "--out" not in rest:
            rest += ["--out", str(Path("runs") / "rows" / args.label)]
        run_dir = Path(rest[rest.index("--out") + 1])
        if not (run_dir / "metrics.json").is_file():
            cmd = [sys.executable, "-m", "pinnsight.cli", args.subcommand, *rest]
            print("run_row: " + " ".join(cmd), file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            code = subprocess.call(cmd)
            if code != 0:
                print(f"run_row: pinnsight exited with {code}; no row written", file=sys.stderr)
                return code
            load["process_s"] = time.perf_counter() - t0
    load["loadavg_end"] = list(os.getloadavg())
    row = {**row_from_run(run_dir, args.label), **load,
           "command": " ".join(["pinnsight", args.subcommand, *rest]) if rest else None}
    append_row(args.jsonl, row)
    rel = row["rel_l2"]
    shown = rel if isinstance(rel, dict) else "— (no reference)" if rel is None else f"{rel:.3e}"
    print(f"run_row: {args.label}: rel L2 {shown}, "
          f"{row['wall_s'] or 0:.0f} s → {args.jsonl}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
