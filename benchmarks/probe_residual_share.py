"""How concentrated the PDE residual of ``--remedy auto``'s probe is, per case and seed: the share of the squared
residual on a uniform grid that its largest 5 % and 1 % of points hold, beside the probe's findings. Measured to
see whether a "localized residual" signature could send Burgers (a shock) to the resampled quasi-Newton recipe;
the shares overlap across cases and seeds, so no such signature was added (docs/benchmarks.md, the auto section).

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/probe_residual_share.py \
        --cases burgers:0,burgers:1,burgers:2,allen-cahn,helmholtz,helmholtz:1,rd-5-5,reaction-10,convection-30,convection-40 \
        --jsonl benchmarks/results/probe_residual_share.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402
from benchmarks.auto import HAND, SIZES, config_for  # noqa: E402
from pinnsight.diagnostics.report import diagnose, from_result  # noqa: E402
from pinnsight.planner import probe_config  # noqa: E402
from pinnsight.trainer import train  # noqa: E402


def share(residual, top: float) -> float:
    """The share of the squared residual that the largest ``top`` fraction of the points hold."""
    import numpy as np

    sq = np.sort(np.ravel(np.asarray(residual, float)) ** 2)[::-1]
    return float(sq[: max(1, int(np.ceil(top * sq.size)))].sum() / sq.sum())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True, help="CASE[:SEED],… (cases of benchmarks/auto.py)")
    ap.add_argument("--jsonl", type=Path, required=True)
    args = ap.parse_args(argv)
    done = {(r["case"], r["seed"]) for r in read_rows(args.jsonl)}
    for item in args.cases.split(","):
        case, _, seed = item.partition(":")
        key = (case, int(seed or 0))
        if key in done:
            continue
        config = config_for(case, "vanilla", key[1], "medium", HAND)
        probe = train(probe_config(config, SIZES["medium"][4]), progress=False)
        d = diagnose(from_result(probe), x64=False, conditioning=False, ntk_points=128, constraint_points=32)
        res = d.figures["residual"]
        row = {"case": case, "seed": key[1], "probe_rel_l2": probe.metrics["rel_l2"], "top5_share": share(res, 0.05),
               "top1_share": share(res, 0.01), "grid_points": int(res.size), "findings": [f.name for f in d.findings]}
        append_row(args.jsonl, row)
        print(row, flush=True)


if __name__ == "__main__":
    main()
