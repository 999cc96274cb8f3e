"""``--remedy auto`` with verify-and-escalate on cases none of its rules were written for (issue 20, item 5).

The planner's table was tuned on the built-in cases at their usual coefficients. Here: a new initial condition
(convection β = 30 from a Gaussian), a coefficient between the tuned ones (convection β = 45) and beyond them
(reaction ρ = 7), and a problem a user defined (``examples/own_problem.py``, no reference: judged by its residual
only). Each runs as a user would (``--remedy auto:budget_s=B``, the default network and phases) and its row holds
the planner's whole record: attempt 0 is what ``auto`` gave before this issue (no verification), the kept attempt
what it gives now, every decision with its reason and cost. Rows in benchmarks/results/auto_escalation.jsonl.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/auto_escalation.py [--only LABEL] [--budget 600]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402
from benchmarks._jsonl import read_rows  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
JSONL = ROOT / "benchmarks" / "results" / "auto_escalation.jsonl"
CASES = {
    "conv-gauss-30": ["convection", "-p", "beta=30", "-p", "u0=gauss"],
    "conv-45": ["convection", "-p", "beta=45"],
    "reaction-7": ["reaction", "-p", "rho=7"],
}


def own_problem_row(label: str, budget: float) -> int:
    """The user's problem through the Python API (it is a Python object), written and recorded like the others."""
    import pinnsight as ps
    from pinnsight.runs import write_run

    spec = importlib.util.spec_from_file_location("own_problem", ROOT / "examples" / "own_problem.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = ROOT / "runs" / "rows" / label
    if not (out / "metrics.json").is_file():
        config = ps.TrainConfig(problem=module.problem, points={"res": 200},
                                remedies=(f"auto:budget_s={budget:g}",))
        write_run(out, ps.train(config, progress=False))
    return run_row.main(["--jsonl", str(JSONL), "--label", label, "--run-dir", str(out)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None)
    ap.add_argument("--budget", type=float, default=600.0, help="auto's budget_s (seconds) for the escalation")
    args = ap.parse_args(argv)
    for label, case in CASES.items():
        if args.only and label != args.only:
            continue
        code = run_row.main(["--jsonl", str(JSONL), "--label", label, "--", *case,
                             "--remedy", f"auto:budget_s={args.budget:g}", "--no-progress"])
        if code:
            return code
    if args.only in (None, "own-poisson"):
        code = own_problem_row("own-poisson", args.budget)
        if code:
            return code
    for row in read_rows(JSONL):
        v = (row.get("auto") or {}).get("verification") or {}
        steps = [(a.get("rel_l2"), a.get("validation_loss"), (a.get("action") or {}).get("name"))
                 for a in v.get("attempts", [])]
        print(row["label"], json.dumps({"kept": v.get("kept"), "stopped": v.get("stopped"), "attempts": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
