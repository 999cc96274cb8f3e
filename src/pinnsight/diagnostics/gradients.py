"""Per-term gradient statistics (the computation lives in ``pinnsight.gradients``, below the remedies that use it)."""

from ..gradients import HIST_EDGES, GradStats, gradient_statistics, imbalance, make_gradient_statistics, term_gradients, to_host  # noqa: F401
