"""Operator conditioning (De Ryck, Bonnet, Mishra, de Bézenac, ICLR 2024): κ(A) vs K (Poisson) and vs β (advection),
plain and preconditioned, and training of the linear-fourier model, plain vs preconditioned, at equal budgets.

Prints Markdown tables and the fitted log–log exponents; writes docs/figures/conditioning.png (κ vs K and β) and
docs/figures/conditioning_training.png (loss curves: gradient descent at each model's largest stable step 1/λ_max(2A),
Adam with the trainer's defaults, L-BFGS with the trainer's defaults; same batch, same budget, float64).

    python3 benchmarks/conditioning.py            # ≈ 1 minute on 2 cores
    python3 benchmarks/conditioning.py --jsonl benchmarks/results/conditioning.jsonl   # also the raw rows
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight.diagnostics.conditioning import (  # noqa: E402
    advection_matrix,
    batch_matrix,
    condition_number,
    fitted_exponent,
    poisson_matrix,
)
from pinnsight.losses import make_objective  # noqa: E402
from pinnsight.models.linear_fourier import fourier_basis  # noqa: E402
from pinnsight.problems import make_problem  # noqa: E402
from pinnsight.sampling import sample_batch  # noqa: E402
from pinnsight import train  # noqa: E402
from pinnsight.trainer import initial_state  # noqa: E402

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
JSONL: str | None = None  # --jsonl: every printed table row is also appended here as one JSON object


def record(**row) -> None:
    if JSONL:
        Path(JSONL).parent.mkdir(parents=True, exist_ok=True)
        with open(JSONL, "a") as f:
            f.write(json.dumps(row) + "\n")


# ----------------------------------------------------------------------------------------------- tables
def sampled_condition(problem, harmonics, scale_pre, seed=0):
    """κ of A on a trainer-like batch (1000 residual points, 100 per constraint), plain and preconditioned."""
    points = {k: (1000 if k == "res" else 100) for k in problem.term_names}
    batch = {k: np.asarray(v) for k, v in sample_batch(problem, jax.random.PRNGKey(seed), points, jnp.float64).items()}
    basis = fourier_basis(problem.bounds, harmonics)
    return (condition_number(batch_matrix(problem, basis, batch)),
            condition_number(batch_matrix(problem, basis, batch, scale=scale_pre)))


def scale_of(problem, K, M=16):
    from pinnsight.models import make_model

    model = make_model("linear-fourier", problem.dim, key=jax.random.PRNGKey(0), dtype=jnp.float64, problem=problem,
                       K=K, M=M, preconditioned="true")
    return np.asarray(model.scale)


def poisson_table(Ks, lam):
    rows = []
    problem = make_problem("poisson")
    for K in Ks:
        plain = condition_number(poisson_matrix(K, lam))
        pre = condition_number(poisson_matrix(K, lam, preconditioned=True))
        s_plain, s_pre = sampled_condition(problem, [K], scale_of(problem, K)) if lam == 1.0 else (math.nan, math.nan)
        rows.append((K, 2 * K + 1, plain, pre, s_plain, s_pre))
    return rows


def advection_table(betas, K, M):
    rows = []
    for beta in betas:
        problem = make_problem("convection", beta=beta)
        plain = condition_number(advection_matrix(beta, K, M))
        pre = condition_number(advection_matrix(beta, K, M, preconditioned=True))
        s_plain, s_pre = sampled_condition(problem, [K, M], scale_of(problem, K, M))
        rows.append((beta, (2 * K + 1) * (2 * M + 1), plain, pre, s_plain, s_pre))
    return rows


def print_table(title, key, rows, table=""):
    print(f"\n{title}\n")
    print(f"| {key} | params | κ(A) exact | κ(PAP) exact | κ(A) batch | κ(PAP) batch |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]:g} | {r[1]} | {r[2]:.3e} | {r[3]:.4f} | {r[4]:.3e} | {r[5]:.4f} |")
        record(table=table, key=key, value=r[0], params=r[1], kappa_exact=r[2], kappa_pre_exact=r[3],
               kappa_batch=r[4], kappa_pre_batch=r[5])


# --------------------------------------------------------------------------------------------- training
def gd_curve(K, preconditioned, steps):
    """Gradient descent (optax.sgd) on the trainer's own objective and batch, step 1/λ_max(2A_batch)."""
    config = TrainConfig(problem="poisson", model="linear-fourier", x64=True,
                         model_options={"K": K, "preconditioned": preconditioned})
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    model = eqx.combine(state.params, static)
    A = batch_matrix(problem, fourier_basis(problem.bounds, [K]), {k: np.asarray(v) for k, v in state.batch.items()},
                     scale=np.asarray(model.scale))
    opt = optax.sgd(1.0 / (2.0 * np.linalg.eigvalsh(A)[-1]))
    objective = make_objective(problem, static)
    loss = lambda p: objective(p, state.batch, state.weights, state.coeffs)[0]  # noqa: E731

    def step(carry, _):
        p, s = carry
        value, g = jax.value_and_grad(loss)(p)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), value

    (params, _), losses = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=steps))(state.params)
    final = float(loss(params))
    return np.arange(steps + 1), np.append(np.asarray(losses), final), condition_number(A)


def trainer_curve(K, preconditioned, phase):
    result = train(TrainConfig(problem="poisson", model="linear-fourier", x64=True, log_every=10, eval_every=50,
                               model_options={"K": K, "preconditioned": preconditioned}, phases=(phase,)),
                   progress=False)
    steps = np.array([h["step"] for h in result.history])
    losses = np.array([h["loss"] for h in result.history])
    return steps, losses, result.metrics["rel_l2"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, default=16, help="harmonics of the trained model")
    ap.add_argument("--gd-steps", type=int, default=1000)
    ap.add_argument("--adam-steps", type=int, default=2000)
    ap.add_argument("--lbfgs-steps", type=int, default=50)
    ap.add_argument("--jsonl", default=None, help="also append every table row here as one JSON line")
    args = ap.parse_args()
    global JSONL
    JSONL = args.jsonl
    t0 = time.perf_counter()
    FIGURES.mkdir(parents=True, exist_ok=True)

    Ks = [2, 4, 8, 16, 32, 64]
    prows = poisson_table(Ks, 1.0)
    print_table("Poisson −u'' = f on [0, 1], Dirichlet weight λ = 1, Fourier features k ≤ K", "K", prows, "poisson")
    fit = [r for r in prows if r[0] >= 4]
    Kf = [r[0] for r in fit]
    print(f"\nfitted exponent κ ∝ K^a over K = 4..64: exact a = {fitted_exponent(Kf, [r[2] for r in fit]):.4f}, "
          f"batch a = {fitted_exponent(Kf, [r[4] for r in fit]):.3f}")
    record(table="poisson-exponent", over="K=4..64", exact=fitted_exponent(Kf, [r[2] for r in fit]),
           batch=fitted_exponent(Kf, [r[4] for r in fit]))

    K_adv, M_adv = 4, 4
    betas = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]
    arows = advection_table(betas, K_adv, M_adv)
    print_table(f"Advection u_t + βu_x = 0, x ∈ [0, 2π) periodic, t ∈ [0, 1], IC weight λ = 1, |k| ≤ {K_adv}, "
                f"|l| ≤ {M_adv}", "β", arows, "advection")
    for lo in (1.0, 16.0, 128.0):
        sel = [r for r in arows if r[0] >= lo]
        print(f"fitted exponent κ ∝ β^a over β = {lo:g}..1024: exact a = "
              f"{fitted_exponent([r[0] for r in sel], [r[2] for r in sel]):.3f}, "
              f"batch a = {fitted_exponent([r[0] for r in sel], [r[4] for r in sel]):.3f}")
        record(table="advection-exponent", over=f"beta={lo:g}..1024",
               exact=fitted_exponent([r[0] for r in sel], [r[2] for r in sel]),
               batch=fitted_exponent([r[0] for r in sel], [r[4] for r in sel]))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.loglog(Ks, [r[2] for r in prows], "o-", label="plain, exact")
    ax.loglog(Ks, [r[4] for r in prows], "s--", label="plain, batch (1000 + 100 pts)")
    ax.loglog(Ks, [r[3] for r in prows], "o-", label="preconditioned, exact")
    ax.loglog(Ks, [r[5] for r in prows], "s--", label="preconditioned, batch")
    ax.loglog(Ks, [prows[2][2] * (K / Ks[2]) ** 4 for K in Ks], "k:", label="∝ K⁴")
    ax.set_xscale("log", base=2)
    ax.set_xticks(Ks, [str(K) for K in Ks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="K (highest frequency)", ylabel="κ(A)", title="Poisson −u'' = f, Fourier features")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.loglog(betas, [r[2] for r in arows], "o-", label="plain, exact")
    ax.loglog(betas, [r[4] for r in arows], "s--", label="plain, batch")
    ax.loglog(betas, [r[3] for r in arows], "o-", label="preconditioned, exact")
    ax.loglog(betas, [r[5] for r in arows], "s--", label="preconditioned, batch")
    ax.loglog(betas, [arows[-1][2] * (b / betas[-1]) ** 2 for b in betas], "k:", label="∝ β²")
    ax.set(xlabel="β", ylabel="κ(A)", title=f"advection u_t + βu_x = 0, |k| ≤ {K_adv}, |l| ≤ {M_adv}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIGURES / "conditioning.png", dpi=120)
    plt.close(fig)

    # training: Poisson u = sin(4πx), linear-fourier K, trainer's default batch, float64
    K = args.K
    curves = {}
    print(f"\nTraining linear-fourier:K={K} on poisson (u = sin 4πx), float64, trainer's default batch\n")
    print("| optimizer | budget | model | κ(batch A) | final loss | rel L2 |")
    print("|---|---|---|---|---|---|")
    for pc in ("false", "true"):
        name = "preconditioned" if pc == "true" else "plain"
        steps, losses, kappa = gd_curve(K, pc, args.gd_steps)
        curves[("GD, step 1/λ_max", name)] = (steps, losses)
        print(f"| GD, step 1/λ_max(2A) | {args.gd_steps} | {name} | {kappa:.3g} | {losses[-1]:.3e} | — |")
        record(table="training", optimizer="GD, step 1/λ_max(2A)", budget=args.gd_steps, model=name,
               kappa_batch=kappa, final_loss=float(losses[-1]), rel_l2=None, K=K)
    for label, phase in (
        ("Adam (lr 1e-3, decay 0.9/1000)", PhaseConfig("adam", args.adam_steps)),
        ("Adam (lr 1e-2, decay 0.9/1000)", PhaseConfig("adam", args.adam_steps, {"lr": 1e-2})),
        ("L-BFGS (memory 50)", PhaseConfig("lbfgs", args.lbfgs_steps)),
    ):
        for pc in ("false", "true"):
            name = "preconditioned" if pc == "true" else "plain"
            steps, losses, rel = trainer_curve(K, pc, phase)
            curves[(label, name)] = (steps, losses)
            print(f"| {label} | {phase.steps} | {name} | | {losses[-1]:.3e} | {rel:.3e} |")
            record(table="training", optimizer=label, budget=phase.steps, model=name, kappa_batch=None,
                   final_loss=float(losses[-1]), rel_l2=rel, K=K)

    labels = list(dict.fromkeys(k[0] for k in curves))
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.8))
    for ax, label in zip(axes, labels):
        for name, style in (("plain", "-"), ("preconditioned", "--")):
            steps, losses = curves[(label, name)]
            ax.semilogy(steps, np.maximum(losses, 1e-32), style, label=name)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(label, fontsize=10)
        ax.legend()
    fig.suptitle(f"linear-fourier K={K} on poisson (u = sin 4πx), float64, same batch and budget")
    fig.tight_layout()
    fig.savefig(FIGURES / "conditioning_training.png", dpi=120)
    plt.close(fig)
    print(f"\nfigures: {FIGURES / 'conditioning.png'}, {FIGURES / 'conditioning_training.png'}; "
          f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
