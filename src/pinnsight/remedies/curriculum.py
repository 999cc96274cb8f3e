"""Curriculum regularization (Krishnapriyan, Gholami, Zhe, Kirby, Mahoney, NeurIPS 2021, Sec. 4.1).

Train at a small coefficient (β, ρ or ν) and raise it in stages to the target, each stage warm-started from the
last and running the whole phase sequence. The coefficient is a traced entry of ``coeffs``, so a stage change
never retraces the jitted step. Stage values: ``values`` (``"1/5/10/20"``, the target appended when missing) or
``stages`` values from ``start`` to the target, equally spaced (``spacing=linear``) or in ratio (``geometric``).
``final_steps=F`` runs the last stage (the target value) F times the phases' steps (measured: at β = 50 the last
stage is where the budget runs short). ``keep_optimizer=1`` carries the Adam state (moments, decayed step size)
from stage to stage instead of restarting it (a restart can undo the previous stage's solution; see FINDINGS.md).
"""

from __future__ import annotations

from ..errors import PinnsightError
from ._base import Remedy, RemedySpec, Segment, choice, positive, register_remedy


def curriculum_values(start: float, target: float, stages: int, spacing: str = "linear") -> tuple[float, ...]:
    """Stage coefficients: ``stages`` values from ``start`` to ``target`` (the last one is ``target``)."""
    if stages == 1:
        return (float(target),)
    ks = [k / (stages - 1) for k in range(stages)]
    if spacing == "geometric":
        return tuple(float(start * (target / start) ** s) for s in ks[:-1]) + (float(target),)
    return tuple(float(start + (target - start) * s) for s in ks[:-1]) + (float(target),)


def parse_values(text: str, target: float) -> tuple[float, ...]:
    """``"1/5/10/20"`` -> (1, 5, 10, 20, target) (target appended unless it is the last value)."""
    try:
        vals = [float(v) for v in text.split("/") if v.strip()]
    except ValueError:
        raise PinnsightError(f"remedy curriculum: values={text!r} is not a '/'-separated list of numbers") from None
    if not vals or vals[-1] != target:
        vals.append(float(target))
    return tuple(vals)


def coefficient(options, problem) -> str:
    return options["coef"] or next(iter(problem.coefficients))


def stage_values(options, problem) -> tuple[float, ...]:
    target = float(problem.coefficients[coefficient(options, problem)])
    if options["values"]:
        return parse_values(options["values"], target)
    return curriculum_values(options["start"], target, options["stages"], options["spacing"])


def build(options, setup) -> Remedy:
    problem = setup.problem
    name = coefficient(options, problem)
    values = stage_values(options, problem)

    def driver(state):
        for k, v in enumerate(values):
            info = {"stage": k, "coef": name, "value": v}
            yield Segment(
                index=k, label=f"{name}={v:g}", bounds=tuple(problem.bounds), coeffs={name: v},
                final=k == len(values) - 1, columns={"stage": k, f"coef_{name}": v}, info=info, count=len(values),
                keep_optimizer=bool(options["keep_optimizer"]),
                steps_scale=float(options["final_steps"]) if k == len(values) - 1 else 1.0,
            )
        return {"coef": name, "values": list(values)}

    return Remedy("curriculum", driver=driver)


def check(options, problem):
    positive("curriculum", options, "stages", "final_steps")
    positive("curriculum", options, "start", allow_zero=options["spacing"] == "linear")
    choice("curriculum", options, "spacing", ("linear", "geometric"))
    if problem is None:
        return
    if not problem.coefficients:
        raise PinnsightError(f"remedy curriculum: problem {problem.name} has no coefficient to schedule")
    name = coefficient(options, problem)
    if name not in problem.coefficients:
        raise PinnsightError(
            f"remedy curriculum: coef={name!r} is not a coefficient of {problem.name} "
            f"({', '.join(problem.coefficients)})"
        )
    stage_values(options, problem)


SPEC = register_remedy(RemedySpec(
    "curriculum", "raise a coefficient to its target in warm-started stages (Krishnapriyan et al. 2021)",
    {"coef": "", "start": 1.0, "stages": 4, "spacing": "linear", "values": "", "keep_optimizer": 0,
     "final_steps": 1.0}, build, check,
    aliases=("curriculum-regularization",), driver=True, schedules_coefficient=True,
    timeline=(("curriculum coefficient", ("coef_*",)),),
))
