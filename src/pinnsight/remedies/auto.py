"""``auto``: choose the remedies from a short probe's diagnosis (resolved before training, see
``pinnsight.planner``). Registered here so that ``--remedy auto[:probe_steps=N]`` validates like any
remedy; the planner replaces it by the chosen remedies before anything is built."""

from __future__ import annotations

from ..errors import PinnsightError
from ._base import RemedySpec, choice, positive, register_remedy


def build(options, setup):
    raise PinnsightError("remedy auto must be resolved before training (pinnsight.planner.plan)")


def check(options, problem):
    positive("auto", options, "probe_steps", "ntk_points", "rounds")
    positive("auto", options, "budget_s", allow_zero=True)
    choice("auto", options, "second_order", (0, 1))
    choice("auto", options, "verify", (0, 1))
    choice("auto", options, "symmetric", (0, 1))
    choice("auto", options, "seam", (0, 1))


SPEC = register_remedy(RemedySpec(
    "auto", "short probe training, diagnose it, pick remedies from its findings (recorded in config.json); "
    "second_order=1 (default) adopts a measured float64 second-order recipe when a finding calls for one; "
    "second_order=0: first-order remedies only; verify=1 (default) then verifies the result without its reference "
    "and escalates (longer, more or resampled points, wider) within budget_s seconds (0: twice the run's time) "
    "and `rounds` attempts, keeping the lowest validation loss; symmetric=1 (default) builds the reflection "
    "symmetries the problem declares into the network; seam=1 (default) gives a periodic network the rounded kink "
    "of initial data kinked at a periodic seam as an input",
    {"probe_steps": 1000, "ntk_points": 128, "second_order": 1, "verify": 1, "budget_s": 0.0, "rounds": 4,
     "symmetric": 1, "seam": 1},
    build, check,
))
