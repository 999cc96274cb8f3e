"""Where a run's error sits in time: max |u − u_ref| per time, over all x and over a band of x, from a run
directory's ``prediction.npz`` (1-D space + time problems).

    python3 benchmarks/error_profile.py runs/allen-cahn-... [--band 0.2] [--times 0,0.1,0.25,0.5,0.75,1] \
        [--jsonl benchmarks/results/error_profile.jsonl --label NAME] [--early 0.05]

It also prints where the squared error sits: its share in the first time row, at t ≤ ``--early``, within
``--band`` of x = 0, in the first grid column (x = −1 for Allen–Cahn: the periodic seam), and the rel L2 the same
prediction would have without its first time row or without its first column (an analysis); and the signed error
in the first column at the times ``--times``.

Used for the Allen–Cahn "error anatomy" of docs/benchmarks.md: the error near x = 0 (where u ≈ 0 and the reaction
5u − 5u³ amplifies perturbations like e^{5t}) against the kink of the periodically extended u0 at x = ±1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def profile(data, band: float, times: list[float]) -> list[tuple[float, float, float, float]]:
    """(t, max error over x, x of that max, max error over |x| < band) at the grid times nearest ``times``, from the
    arrays of a run's ``prediction.npz``."""
    err, x, t = np.abs(data["prediction"] - data["reference"]), data["axis_x"], data["axis_t"]
    if err.shape != (x.size, t.size):
        raise SystemExit(f"error_profile: expected a (x, t) grid in prediction.npz, got {err.shape}")
    inside = np.abs(x) < band
    out = []
    for want in times:
        j = int(np.argmin(np.abs(t - want)))
        i = int(np.argmax(err[:, j]))
        out.append((float(t[j]), float(err[i, j]), float(x[i]), float(err[inside, j].max())))
    return out


def shares(data, band: float, early: float) -> dict[str, float]:
    """Shares of the squared error: in the first time row, at t ≤ ``early``, within |x| < ``band``; and the rel L2
    over the grid without its first time row."""
    sq, x, t = (data["prediction"] - data["reference"]) ** 2, data["axis_x"], data["axis_t"]
    total = sq.sum()
    return {"first_row": float(sq[:, 0].sum() / total), "early": float(sq[:, t <= early].sum() / total),
            "band": float(sq[np.abs(x) < band].sum() / total),
            "first_column": float(sq[0].sum() / total),
            "rel_l2_without_first_row": float(np.sqrt(sq[:, 1:].sum() / (data["reference"][:, 1:] ** 2).sum())),
            "rel_l2_without_first_column": float(np.sqrt(sq[1:].sum() / (data["reference"][1:] ** 2).sum()))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--band", type=float, default=0.2, help="half-width of the x band around 0")
    p.add_argument("--times", default="0,0.1,0.25,0.5,0.75,1")
    p.add_argument("--jsonl", default=None, help="also append one JSON line per time here")
    p.add_argument("--label", default="", help="the run's name in the --jsonl rows")
    p.add_argument("--early", type=float, default=0.05, help="the early times of the squared-error share")
    args = p.parse_args(argv)
    if not (args.run_dir / "prediction.npz").is_file():
        p.error(f"no prediction.npz in {args.run_dir}")
    data = np.load(args.run_dir / "prediction.npz")
    total = np.linalg.norm(data["prediction"] - data["reference"]) / np.linalg.norm(data["reference"])
    print(f"{args.run_dir}: rel L2 {total:.3e}")
    s = shares(data, args.band, args.early)
    print(f"squared error: {s['first_row']:.1%} in the first time row, {s['early']:.1%} at t ≤ {args.early:g}, "
          f"{s['band']:.1%} within |x| < {args.band:g}, {s['first_column']:.1%} in the first column "
          f"(x = {data['axis_x'][0]:g}); rel L2 without the first row {s['rel_l2_without_first_row']:.2e}, without the "
          f"first column {s['rel_l2_without_first_column']:.2e}")
    t_axis, col = data["axis_t"], data["prediction"][0] - data["reference"][0]
    picks = [int(np.argmin(np.abs(t_axis - float(v)))) for v in args.times.split(",")]
    print("signed error in the first column: " + ", ".join(f"t = {t_axis[j]:.3g}: {col[j]:+.1e}" for j in picks))
    print(f"| t | max error | at x | max error for −{args.band:g} < x < {args.band:g} |\n|---|---|---|---|")
    for t, e, x, e_band in profile(data, args.band, [float(v) for v in args.times.split(",")]):
        print(f"| {t:.3g} | {e:.1e} | {x:+.3f} | {e_band:.1e} |")
        if args.jsonl:
            Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
            with open(args.jsonl, "a") as f:
                f.write(json.dumps({"label": args.label or str(args.run_dir), "run_dir": str(args.run_dir),
                                    "rel_l2": float(total), "t": t, "max_error": e, "at_x": x, "band": args.band,
                                    "max_error_band": e_band}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
