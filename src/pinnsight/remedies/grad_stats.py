"""``grad-stats``: record per-term gradient statistics during training at a cadence (a diagnostic, not a fix).

Every ``every`` steps (checked after each jitted chunk, so at the first chunk boundary at or past each multiple)
it evaluates ``diagnostics.gradients.make_gradient_statistics`` (jitted once per run) at the current parameters
and batch: history columns ``{term}_grad_norm``, ``{term}_grad_max``, ``{term}_grad_mean``, ``{term}_grad_std``
per loss term (unweighted), and the |∇θ L_term| histograms as events in ``metrics["remedies"]["grad-stats"]``
(bins: ``diagnostics.gradients.HIST_EDGES``). Overhead at the default cadence: docs/benchmarks.md.
"""

from __future__ import annotations

from ._base import NO_CHANGE, Changes, Remedy, RemedySpec, positive, register_remedy


def build(options, setup) -> Remedy:
    from ..gradients import HIST_EDGES, make_gradient_statistics, to_host

    stats = make_gradient_statistics(setup.problem, setup.static)
    every, keep_hist = int(options["every"]), bool(options["histograms"])

    def record(step, params, state):
        host = to_host(stats(params, state.batch, state.coeffs))
        log = {}
        for k, s in host.items():
            log.update({f"{k}_grad_norm": s.norm, f"{k}_grad_max": s.max, f"{k}_grad_mean": s.mean,
                        f"{k}_grad_std": s.std})
        event = {"step": step, **({"hist": {k: s.hist.tolist() for k, s in host.items()}} if keep_hist else {})}
        return Changes(log=log, events=(event,))

    def init(segment):
        return NO_CHANGE, None

    def update(last, info):
        if last is not None and info.step // every <= last // every:
            return NO_CHANGE, last
        return record(info.step, info.params, info.state), info.step

    def summary(events, history):
        return {"every": every, "edges": [float(e) for e in HIST_EDGES] if keep_hist else None}

    return Remedy("grad-stats", init=init, update=update, summary=summary)


def check(options, problem):
    positive("grad-stats", options, "every")


SPEC = register_remedy(RemedySpec(
    "grad-stats", "record per-term gradient norm/max/mean/std and histograms every N steps (diagnostic only)",
    {"every": 500, "histograms": 1}, build, check, aliases=("diagnostics",),
))
