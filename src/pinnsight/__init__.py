"""pinnsight: train physics-informed neural networks reliably.

Public API: problems (define and look up PDEs), models, the run configuration, ``train`` (a registered name or a
``Problem`` object; ``--remedy auto`` planned first) and run directories.
"""

from .config import PhaseConfig, TrainConfig
from .errors import PinnsightError
from .models import MLP, make_model, model_specs, register_model
from .problems import (
    Dirichlet,
    Initial,
    Neumann,
    Param,
    Periodic,
    Problem,
    ReferenceSolution,
    make_problem,
    problem_specs,
    register_problem,
)
from .planner import train
from .trainer import RunResult

__version__ = "0.1.0"

__all__ = [
    "MLP", "Dirichlet", "Initial", "Neumann", "Param", "Periodic", "PhaseConfig", "PinnsightError", "Problem",
    "ReferenceSolution", "RunResult", "TrainConfig", "make_model", "make_problem", "model_specs",
    "problem_specs", "register_model", "register_problem", "train", "__version__",
]
