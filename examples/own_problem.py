"""Your own problem, no reference solution needed: −u'' = π² sin(πx) on [0, 1], u(0) = u(1) = 0.

A ``Problem`` is a residual written for one point with ``jax.grad`` on the network ``u`` (a function of scalar
coordinates), the box, and the constraints. Without ``exact`` or ``reference``, a run reports the residual and the
boundary error on fresh points (``pinnsight.evaluation``) instead of an error against a solution.
"""

import math

import jax
import jax.numpy as jnp

import pinnsight as ps


def residual(u, x, c):
    """−u'' − π² sin(πx) (zero for u = sin(πx), which pinnsight is not told)."""
    return -jax.grad(jax.grad(u))(x) - math.pi**2 * jnp.sin(math.pi * x)


problem = ps.Problem(
    name="my-poisson", coords=("x",), bounds=((0.0, 1.0),), time=None, residual=residual,
    constraints=(ps.Dirichlet(name="bc", n_points=64),),  # u = 0 at both ends (the default value)
)

if __name__ == "__main__":
    print(f"{problem.name}: terms {', '.join(problem.term_names)}, reference: {problem.has_reference}")
    config = ps.TrainConfig(problem=problem, phases=(ps.PhaseConfig("adam", 2000), ps.PhaseConfig("lbfgs", 300)),
                            points={"res": 200})
    result = ps.train(config, progress=False)
    print("fresh-point residual:", result.metrics["residual"])
