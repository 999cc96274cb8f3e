"""Remedies for the PINN failure modes, as explicit-state transforms that compose (see ``_base``).

Names (``--remedy NAME[:key=value,...]``, ``TrainConfig(remedies=(...))``): ``curriculum``, ``seq2seq``,
``causal``, ``adaptive-sampling``, ``rar``, ``rad``, ``lra``, ``ntk``, ``inverse-dirichlet``,
``rba`` (residual-based attention);
``auto`` (chosen from a probe's diagnosis) and ``grad-stats`` (records gradient statistics).
"""

from . import attention, auto, causal, curriculum, grad_stats, sampling, time_marching, weighting  # noqa: F401  (registers them)
from ._base import (
    NO_CHANGE,
    Changes,
    Remedy,
    RemedyConfig,
    RemedySetup,
    RemedySpec,
    Segment,
    StepInfo,
    build_remedies,
    chain,
    merge,
    owns_points,
    parse_spec,
    register_remedy,
    remedy_config,
    remedy_specs,
    resolve_options,
    validate_specs,
)
from .attention import rba_update, row_magnitudes
from .causal import causal_residual_loss, causal_weights, eps_schedule, slice_losses
from .curriculum import curriculum_values
from .sampling import cosine_fraction, draw_proportional, mix_uniform, rad_probabilities
from .time_marching import make_window_batch, window_edges, window_mask

__all__ = [
    "NO_CHANGE", "Changes", "Remedy", "RemedyConfig", "RemedySetup", "RemedySpec", "Segment", "StepInfo",
    "build_remedies", "causal_residual_loss", "causal_weights", "chain", "cosine_fraction", "curriculum_values",
    "draw_proportional", "eps_schedule", "make_window_batch", "merge", "mix_uniform", "owns_points", "parse_spec",
    "rad_probabilities", "rba_update", "register_remedy", "remedy_config", "remedy_specs", "resolve_options",
    "row_magnitudes", "slice_losses", "validate_specs", "window_edges", "window_mask",
]
