"""Command line: ``pinnsight problems | train | demo | show | diagnose``. Bad input: one error line, exit code 2."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import spec
from .errors import PinnsightError, TrainingInterrupted

DEMO = {"problem": "convection", "params": {"beta": 5.0}, "adam": 3000, "lbfgs": 500}


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options -> {name: raw value} (``spec.parse_pairs``: a name given twice is an error)."""
    return spec.parse_pairs(values, what)


def _named(text: str, what: str) -> tuple[str, dict[str, str]]:
    """``name:key=value,key=value`` -> (name, {key: raw value}) (``spec.parse_spec``)."""
    return spec.parse_spec(text, what)


def _int(value: str, what: str) -> int:
    """An integer option of the command line (``spec.coerce``: ``3`` and ``3.0``, not ``1.5``)."""
    return spec.coerce(value, int, "command line", what)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pinnsight")
def cli():
    """Train physics-informed neural networks reliably."""
    from .threads import single_thread_blas

    single_thread_blas()  # every command: BLAS threads would fight XLA's on few cores (OPENBLAS_NUM_THREADS kept)
    import warnings

    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one ``pinnsight: warning: ...`` line (pinnsight's own; others keep their origin)."""
    where = "" if "pinnsight" in str(filename) else f" ({category.__name__}, {Path(filename).name}:{lineno})"
    click.echo(f"pinnsight: warning: {message}{where}", err=True)


@cli.command()
def problems():
    """List the problems with their coefficients and defaults."""
    from .problems import problem_specs

    for spec in problem_specs().values():
        click.echo(f"{spec.name}: {spec.summary}")
        for name, p in spec.params.items():
            rng = f" one of {', '.join(p.choices)}" if p.choices else ""
            if p.min is not None:
                rng += f" ({'>' if p.min_exclusive else '≥'} {p.min:g})"
            if p.max is not None:
                rng += f" (≤ {p.max:g})"
            default = p.default if isinstance(p.default, str) else f"{p.default:g}"
            click.echo(f"    {name} = {default}{rng}  {p.doc}")


@cli.command()
def remedies():
    """List the remedies (--remedy NAME[:key=value,...]) with their options and defaults."""
    from .remedies import remedy_specs

    for spec in remedy_specs().values():
        aliases = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
        click.echo(f"{spec.name}: {spec.summary}{aliases}")
        click.echo("    " + ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" for k, v in spec.defaults.items()))


def _train_and_write(config, out: Path | None, progress: bool | None, checkpoint_every: float = 0.0) -> dict:
    """Train ``config`` and write its run directory ``out``, proven writable first (checkpointed every
    ``checkpoint_every`` seconds, 0: not). ``progress``: None shows the bar only when stderr is a terminal
    (``progress.progress_enabled``)."""
    from .runs import default_run_dir
    from .training import train_into

    out = Path(out) if out is not None else default_run_dir(config.problem_name, config.seed)
    result = train_into(config, out, progress=progress, checkpoint_every=checkpoint_every)
    return _echo_result(config, result.metrics, out)


def _echo_result(config, m: dict, out: Path) -> dict:
    from .optimizers import phase_spec

    error = f"rel_l2 = {m['rel_l2']:.3e}" if "rel_l2" in m else \
        f"no reference; PDE residual RMS on fresh points = {m['residual']['res_rms_fresh']:.3e}"
    if "rel_l2" in m.get("nodes", {}):  # a steady problem on a shape: also on the evaluation mesh's nodes
        error += f" (grid), {m['nodes']['rel_l2']:.3e} on {m['nodes']['n']} mesh nodes"
    click.echo(f"{config.problem_name}: {error}  ({m['steps']} steps, {m['wall_s']:.1f} s, stopped: {m['stop_reason']})")
    for ph in m["phases"]:
        extra = "" if phase_spec(ph["name"]).first_order else f", {ph['function_evals']} function evals"
        extra += f", {ph['wall_s'] / ph['steps']:.3g} s/step" if ph["steps"] else ""
        click.echo(f"  {ph['name']}: {ph['steps']}/{ph['budget']} steps{extra}, stop: {ph['stop_reason']}, "
                   f"loss {ph['start_loss']:.3e} -> {ph['end_loss']:.3e}")
    click.echo(f"run directory: {out}")
    return m


@cli.command()
@click.argument("problem", required=False)
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Start from a run file: a run directory (or its config.json) or a TOML file with the same fields "
                   "(see recipes/); options given beside it override it.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Problem coefficient or option.")
@click.option("--steps", default="5000", show_default=True, help="Adam steps.")
@click.option("--lbfgs-steps", default="1000", show_default=True, help="L-BFGS iterations after Adam.")
@click.option("--optimizer", "optimizers", multiple=True, metavar="NAME[:steps=N,key=value]",
              help="Optimizer phase, repeatable, in order (replaces --steps/--lbfgs-steps), e.g. adam:steps=2000,lr=1e-3.")
@click.option("--model", default="mlp", show_default=True, metavar="NAME[:key=value,...]", help="e.g. mlp:width=50,depth=4")
@click.option("--points", multiple=True, metavar="TERM=N", help="Points per loss term (res, ic, bc, ...).")
@click.option("--weight", "weights", multiple=True, metavar="TERM=W", help="Fixed loss weight per term.")
@click.option("--seed", default="0", show_default=True)
@click.option("--x64/--no-x64", default=False, help="Train in float64 (--no-x64: float32, over a --config file's x64).")
@click.option("--eval-every", default="500", show_default=True, help="Steps between error evaluations.")
@click.option("--log-every", default="100", show_default=True, help="Steps per logged history row (and jitted chunk).")
@click.option("--target", default=None, metavar="REL_L2", help="Stop once the rel L2 error is at most this.")
@click.option("--stall-steps", default="0", show_default=True, help="Stop Adam after this many steps without 0.1%% loss improvement (0: off).")
@click.option("--remedy", "remedies", multiple=True, metavar="NAME[:key=value,...]",
              help="Remedy, repeatable, composed in order: curriculum, seq2seq, causal, adaptive-sampling, rar, rad, "
                   "auto (picked from a short probe's diagnosis) "
                   "(e.g. curriculum:start=1,stages=4; see `pinnsight remedies`).")
@click.option("--diagnostics", is_flag=True,
              help="Record per-term gradient statistics every 500 steps (= --remedy grad-stats; see README).")
@click.option("--unknown", "unknowns", multiple=True, metavar="NAME=INITIAL[:lo=A,hi=B,truth=T]",
              help="Train coefficient NAME with the network from INITIAL (an inverse problem; repeatable). A "
                   "positive coefficient stays positive; lo/hi bound it; truth=T reports its relative error.")
@click.option("--data", "data", default=None, metavar="FILE",
              help="Measurements (.npz or .csv, columns named after the coordinates and the field u): the loss "
                   "term 'data'.")
@click.option("--held-out", default=None, metavar="FRACTION",
              help="Keep this fraction of --data out of training and report its misfit (default 0).")
@click.option("--noise", default=None, metavar="LEVEL",
              help="Add relative Gaussian noise to --data (σ = LEVEL × std of the values; seeded by --seed).")
@click.option("--exact-bc", is_flag=True,
              help="Impose the Dirichlet conditions exactly: u = g + φ·N, φ a distance function of their boundary "
                   "(Sukumar & Srivastava 2022), instead of as penalty terms.")
@click.option("--symmetric", is_flag=True,
              help="Build the problem's declared reflection symmetries into the network (its group average: "
                   "Burgers odd in x, Allen–Cahn even in x).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Run directory (new). Default runs/PROBLEM-TIME-sSEED.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--checkpoint-every", default="60", show_default=True, metavar="SECONDS",
              help="Save the training state in the run directory this often (and on SIGTERM/Ctrl-C), so that "
                   "--resume can continue it; 0: no checkpoints.")
@click.option("--resume", type=click.Path(path_type=Path), default=None, metavar="RUN_DIR",
              help="Continue the unfinished run RUN_DIR (interrupted or killed) from its checkpoint, to the same "
                   "result as an uninterrupted run; no other training option may be given.")
@click.pass_context
def train(ctx, problem, config_file, out, no_progress, checkpoint_every, resume, **options):
    """Train a PINN on PROBLEM (or the run file of --config) and write its run directory."""
    every = spec.coerce(checkpoint_every, float, "command line", "--checkpoint-every")
    if not every >= 0 or every == float("inf"):
        raise PinnsightError(f"--checkpoint-every must be a finite number of seconds ≥ 0, got {checkpoint_every}")
    progress = False if no_progress else None
    if resume is not None:
        _check_resume_alone(ctx, problem, config_file, out, options)
        from .training import resume_run

        result = resume_run(resume, progress=progress, checkpoint_every=every)
        _echo_result(result.config, result.metrics, resume)
        return
    config = _command_config(ctx, problem, config_file, options)
    _train_and_write(config, out, progress=progress, checkpoint_every=every)


def _check_resume_alone(ctx, problem, config_file, out, options) -> None:
    given = [n for n in options if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    given += [n for n, v in (("PROBLEM", problem), ("config", config_file), ("out", out)) if v is not None]
    if given:
        shown = ", ".join(n if n == "PROBLEM" else "--" + n.replace("_", "-") for n in given)
        raise PinnsightError(f"--resume continues a run as it was configured; {shown} cannot be given with it")


def _command_config(ctx, problem, config_file, options):
    if config_file is None:
        if problem is None:
            raise PinnsightError("train needs a PROBLEM (see `pinnsight problems`) or --config FILE")
        return train_config(problem, **options)
    from .config import read_config_file

    given = {n for n in options if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE}
    return override_config(read_config_file(config_file), problem, {n: options[n] for n in given})


def command_config(args):
    """The ``TrainConfig`` that ``pinnsight train ARGS`` would train: parsed and validated, nothing trained and
    nothing written (``--out``, ``--no-progress``, ``--checkpoint-every`` and ``--resume`` are accepted and
    ignored)."""
    with train.make_context("train", list(args)) as ctx:
        options = dict(ctx.params)
        for name in ("out", "no_progress", "checkpoint_every", "resume"):
            options.pop(name)
        return _command_config(ctx, options.pop("problem"), options.pop("config_file"), options)


def train_config(problem, params=(), steps="5000", lbfgs_steps="1000", optimizers=(), model="mlp", points=(),
                 weights=(), seed="0", x64=False, eval_every="500", log_every="100", target=None, stall_steps="0",
                 remedies=(), diagnostics=False, unknowns=(), data=None, held_out=None, noise=None, exact_bc=False,
                 symmetric=False):
    """The ``TrainConfig`` of a ``pinnsight train`` command line (its options as click parsed them, raw strings:
    ``TrainConfig`` coerces them by the one rule set of ``pinnsight.spec``)."""
    from .config import PhaseConfig, TrainConfig

    if optimizers:
        phases = [PhaseConfig.from_value(s) for s in optimizers]
    else:
        phases = [PhaseConfig("adam", steps), PhaseConfig("lbfgs", lbfgs_steps)]
    model_name, model_opts = _named(model, "--model")
    return TrainConfig(
        problem=problem,
        params=_pairs(params, "-p"),
        model=model_name,
        model_options=model_opts,
        phases=tuple(phases),
        points=_pairs(points, "--points"),
        weights=_pairs(weights, "--weight"),
        seed=seed,
        x64=x64,
        log_every=log_every,
        eval_every=eval_every,
        target_rel_l2=target,
        stall_steps=stall_steps,
        remedies=tuple(remedies) + (("grad-stats",) if diagnostics else ()),
        unknowns=tuple(unknowns),
        data=_data_config(data, held_out, noise),
        exact_bc=exact_bc,
        symmetric=symmetric,
    )


def _data_config(path, held_out, noise, base=None):
    """The DataConfig of --data/--held-out/--noise (over ``base``, a --config file's); None without data."""
    from .config import DataConfig

    if path is None and base is None:
        if held_out is not None or noise is not None:
            raise PinnsightError("--held-out and --noise apply to --data FILE, which is not given")
        return None
    fields = {"path": path if path is not None else base.path,
              "held_out": held_out if held_out is not None else (base.held_out if base else 0.0),
              "noise": noise if noise is not None else (base.noise if base else 0.0)}
    return DataConfig(**fields)


def _override_phases(phases, given) -> tuple:
    """``--optimizer`` replaces the phases; ``--steps`` / ``--lbfgs-steps`` set the steps of the adam / lbfgs ones."""
    import dataclasses

    from .config import PhaseConfig

    if given.get("optimizers"):
        return tuple(PhaseConfig.from_value(s) for s in given["optimizers"])
    phases = list(phases)
    for name, option in (("adam", "steps"), ("lbfgs", "lbfgs_steps")):
        if option in given:
            if not any(p.name == name for p in phases):
                raise PinnsightError(f"--{option.replace('_', '-')} sets the steps of the {name} phase, but "
                                     f"the config has none ({', '.join(p.name for p in phases) or 'no phases'}); "
                                     "use --optimizer to give the phases")
            phases = [dataclasses.replace(p, steps=given[option]) if p.name == name else p for p in phases]
    return tuple(phases)


def override_config(config, problem=None, given=None):
    """``config`` (from a --config file) with the ``pinnsight train`` options the user passed (``given``: option
    name -> click's value, only those on the command line) put over it: a PROBLEM other than the file's trains
    that problem (the file's coefficients dropped, its points and weights kept for the terms the problem has);
    ``-p``, ``--points``, ``--weight`` override per name; ``--optimizer`` replaces the phases, ``--steps``
    (``--lbfgs-steps``) sets the steps of the file's adam (lbfgs) phases; ``--model``, ``--remedy`` and the scalar
    options replace the file's; ``--diagnostics`` adds grad-stats."""
    import dataclasses

    from .problems import make_problem

    given = dict(given or {})
    changes: dict = {}
    params, points, weights = dict(config.params), dict(config.points), dict(config.weights)
    if problem is not None and problem != config.problem_name:
        built = make_problem(problem, **_pairs(given.get("params", ()), "-p"))
        params = {}
        points = {k: v for k, v in points.items() if k in built.batch_names}
        weights = {k: v for k, v in weights.items() if k in built.term_names}
        changes["problem"] = problem
    changes.update(params={**params, **_pairs(given.get("params", ()), "-p")},
                   points={**points, **_pairs(given.get("points", ()), "--points")},
                   weights={**weights, **_pairs(given.get("weights", ()), "--weight")})
    changes["phases"] = _override_phases(config.phases, given)
    if "model" in given:
        changes["model"], changes["model_options"] = _named(given["model"], "--model")
    fields = {"seed": "seed", "x64": "x64", "eval_every": "eval_every", "log_every": "log_every",
              "target": "target_rel_l2", "stall_steps": "stall_steps", "exact_bc": "exact_bc",
              "symmetric": "symmetric"}
    changes.update({field: given[option] for option, field in fields.items() if option in given})
    remedies = list(given["remedies"]) if given.get("remedies") else list(config.remedies)
    if given.get("diagnostics") and not any(str(r).split(":")[0] in ("grad-stats", "diagnostics") for r in remedies):
        remedies.append("grad-stats")
    changes["remedies"] = tuple(remedies)
    if given.get("unknowns"):
        changes["unknowns"] = tuple(given["unknowns"])
    if any(given.get(k) is not None for k in ("data", "held_out", "noise")):
        changes["data"] = _data_config(given.get("data"), given.get("held_out"), given.get("noise"), config.data)
    return dataclasses.replace(config, **changes)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Run directory (new).")
@click.option("--no-progress", is_flag=True)
def demo(out, no_progress):
    """Train convection (β = 5) for a few seconds and write a run directory with figures."""
    from .config import PhaseConfig, TrainConfig

    config = TrainConfig(
        problem=DEMO["problem"], params=DEMO["params"],
        phases=(PhaseConfig("adam", DEMO["adam"]), PhaseConfig("lbfgs", DEMO["lbfgs"])),
    )
    out = out or Path("runs") / "demo"
    if out.exists() and out.name == "demo" and (out / "config.json").exists():
        from .runs import default_run_dir

        out = default_run_dir("demo", config.seed)
    _train_and_write(config, out, progress=False if no_progress else None)
    click.echo(f"figures: {out / 'solution.png'}, {out / 'losses.png'}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def show(run_dir):
    """Print a finished run's metrics."""
    from .runs import load_run

    config, _, metrics = load_run(run_dir)
    click.echo(json.dumps({"problem": config.problem, "params": dict(config.params), **metrics}, indent=2))


@cli.command()
@click.argument("target", metavar="RUN_DIR|PROBLEM")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Probe: problem coefficient or option.")
@click.option("--steps", default="2000", show_default=True, help="Probe: Adam steps.")
@click.option("--model", default="mlp", show_default=True, metavar="NAME[:key=value,...]", help="Probe: the network.")
@click.option("--seed", default="0", show_default=True, help="Probe: seed.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Probe: run directory (new).")
@click.option("--ntk-points", default="256", show_default=True,
              help="Residual points in the NTK subsample (each constraint: a quarter as many).")
@click.option("--float32", is_flag=True, help="NTK and Gauss–Newton condition in float32 (default float64).")
@click.option("--no-progress", is_flag=True, help="No progress bar (probe).")
@click.pass_context
def diagnose(ctx, target, params, steps, model, seed, out, ntk_points, float32, no_progress):
    """Diagnose RUN_DIR (or first train a short probe of PROBLEM) and write RUN_DIR/diagnosis/ (report.md,
    findings.json, figures): failure signatures in words, their evidence, remedies to try."""
    from .problems import problem_specs

    n_ntk = _int(ntk_points, "--ntk-points")
    if n_ntk <= 0:
        raise PinnsightError(f"--ntk-points={ntk_points!r} must be positive")
    probe_only = [f"--{n.replace('_', '-')}" if n != "params" else "-p" for n in ("params", "steps", "model", "seed", "out")
                  if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    path = Path(target)
    if path.exists() or os.sep in target or target not in problem_specs():
        if not path.exists() and os.sep not in target:
            known = ", ".join(problem_specs())
            raise PinnsightError(f"{target!r} is neither a run directory nor a known problem (known: {known})")
        if probe_only:
            raise PinnsightError(f"option{'s' if len(probe_only) > 1 else ''} {', '.join(probe_only)} "
                                 f"{'are' if len(probe_only) > 1 else 'is'} only for a probe of a PROBLEM, "
                                 "not for a run directory")
        from .runs import check_destination

        run_dir = check_destination(path, "RUN_DIR", kind="dir")  # diagnosis/ is written inside it
    else:
        from .config import PhaseConfig, TrainConfig

        n = _int(steps, "--steps")
        model_name, model_opts = _named(model, "--model")
        log_every = max(1, n // 50)
        config = TrainConfig(problem=target, params=_pairs(params, "-p"), model=model_name, model_options=model_opts,
                             phases=(PhaseConfig("adam", n),), seed=_int(seed, "--seed"), log_every=log_every,
                             eval_every=10 * log_every)
        from .runs import default_run_dir

        run_dir = Path(out) if out is not None else default_run_dir(f"{target}-probe", config.seed)
        _train_and_write(config, run_dir, progress=False if no_progress else None)
    from .run_diagnosis import diagnose_run
    from .trainer import enable_compilation_cache

    enable_compilation_cache()
    folder, diag = diagnose_run(run_dir, ntk_points=n_ntk, constraint_points=max(8, n_ntk // 4), x64=not float32)
    if not diag.findings:
        click.echo("no failure signature detected")
    for f in diag.findings:
        click.echo(f"[{f.severity}] {f.name}: {f.message}")
        for sug in f.suggestions[:2]:
            click.echo(f"    try: {sug.command}")
    click.echo(f"diagnosis: {folder / 'report.md'}")


@cli.command()
@click.argument("suite")
@click.option("--workers", default="2", show_default=True, metavar="N", help="Local Dask workers (one thread each).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on an existing Dask cluster (tcp://host:8786).")
@click.option("--db", type=click.Path(path_type=Path), default=Path("runs/bench.sqlite"), show_default=True,
              help="Results database (SQLite).")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs/bench"), show_default=True,
              help="Run directories go to RUNS_DIR/SUITE/.")
@click.option("--retry-failed", is_flag=True, help="Run again the runs recorded as failed.")
@click.option("--case", "cases", multiple=True, metavar="NAME",
              help="Run only this case (its name, or a problem name: all its cases); repeatable.")
@click.option("--seed", "seeds", multiple=True, metavar="N", help="Run only this seed of the cases; repeatable.")
def bench(suite, workers, scheduler, db, runs_dir, retry_failed, cases, seeds):
    """Run benchmark SUITE (built-in name or .toml file) on Dask, recording every run in the database."""
    from .bench import load_suite
    from .bench.runner import check_scheduler_address, run_suite
    from .runs import check_destination

    loaded = load_suite(suite)  # validates every case before anything starts
    loaded = loaded.select(tuple(cases), tuple(_int(s, "--seed") for s in seeds))
    if scheduler is not None:
        check_scheduler_address(scheduler)
    check_destination(db, "--db", kind="file")
    check_destination(runs_dir, "--runs-dir", kind="dir")
    s = run_suite(loaded, db, runs_dir, workers=_int(workers, "--workers"), scheduler=scheduler,
                  retry_failed=retry_failed, echo=click.echo)
    click.echo(f"suite {loaded.name}: {s.ok} ok, {s.failed} failed, {s.skipped} already recorded "
               f"({s.wall_s:.1f} s); results in {db}")
    return 1 if s.failed else 0


@cli.command()
@click.argument("suite")
@click.option("--db", type=click.Path(path_type=Path), default=Path("runs/bench.sqlite"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/benchmarks.md"), show_default=True,
              help="Markdown file; only this suite's marked section is rewritten.")
def report(suite, db, out):
    """Write SUITE's section of the benchmark report (Markdown + figures) from the results database."""
    import shlex

    from .bench import load_suite
    from .bench.report import write_report
    from .runs import check_destination

    loaded = load_suite(suite)
    check_destination(out, "--out", kind="file")
    check_destination(Path(out).parent / "figures", "--out (its figures folder)", kind="dir")
    path = write_report(loaded, db, out, command=shlex.join(["pinnsight", *sys.argv[1:]]))
    click.echo(f"report: {path}")


def _ranges(values: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    out = {}
    for name, value in _pairs(values, "--param-range").items():
        lo, sep, hi = value.partition(":")
        if not sep or not lo.strip() or not hi.strip():
            raise PinnsightError(f"--param-range {name}={value!r} is not of the form NAME=LO:HI")
        out[name] = (lo.strip(), hi.strip())
    return out


@cli.command("train-family")
@click.argument("problem")
@click.option("--param-range", "ranges", multiple=True, metavar="NAME=LO:HI", help="Family parameter and its range.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="Fixed problem coefficient or option.")
@click.option("--model", default="hard-constraint", show_default=True, metavar="hard-constraint[:key=value,...]",
              help="e.g. hard-constraint:basis=80,embed=fourier,frequencies=16 (see README).")
@click.option("--steps", default="2000", show_default=True, help="Adam steps.")
@click.option("--lr", default=2e-3, show_default=True, type=float, help="Adam learning rate (halved every --decay-steps).")
@click.option("--decay-steps", default="1000", show_default=True)
@click.option("--params-per-step", default="4", show_default=True, help="Parameter values drawn per step (stratified).")
@click.option("--points", multiple=True, metavar="TERM=N", help="Fresh loss points per step and term (res, ic, bc, ...).")
@click.option("--weight", "weights", multiple=True, metavar="TERM=W", help="Loss (and least-squares row) weight per term.")
@click.option("--validate", "validate", multiple=True, metavar="NAME=V1/V2/...", help="Validation values (default lo/mid/hi).")
@click.option("--seed", default="0", show_default=True)
@click.option("--float32", is_flag=True, help="Train in float32 (default float64).")
@click.option("--log-every", default="100", show_default=True, help="Steps per jitted chunk and history row.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Run directory (new).")
def train_family(problem, ranges, params, model, steps, lr, decay_steps, params_per_step, points, weights, validate,
                 seed, float32, log_every, out):
    """Train a hard-constraint basis (linear PDEs) over a family of PDE parameters (Négiar et al. 2023)."""
    from .hard.family import FamilyConfig, train_family as run, write_family_run
    from .runs import check_new_run_dir, default_run_dir

    name, opts = _named(model, "--model")
    if name != "hard-constraint":
        raise PinnsightError(f"train-family trains the hard-constraint model, not {name!r}")
    val = {}
    for k, v in _pairs(validate, "--validate").items():
        try:
            val[k] = tuple(float(s) for s in v.split("/"))
        except ValueError:
            raise PinnsightError(f"--validate {k}={v!r} is not a '/'-separated list of numbers") from None
    config = FamilyConfig(
        problem=problem, ranges=_ranges(ranges), params=_pairs(params, "-p"), model_options=opts,
        steps=_int(steps, "--steps"), lr=lr, decay_steps=_int(decay_steps, "--decay-steps"),
        params_per_step=_int(params_per_step, "--params-per-step"),
        points={k: _int(v, f"--points {k}") for k, v in _pairs(points, "--points").items()},
        weights=_pairs(weights, "--weight"), validate=val, seed=_int(seed, "--seed"), x64=not float32,
        log_every=_int(log_every, "--log-every"),
    )
    out = Path(out) if out is not None else default_run_dir(f"{problem}-family", config.seed)
    check_new_run_dir(out)
    result = run(config, echo=click.echo)
    write_family_run(out, result)
    m = result.metrics
    errs = ", ".join(f"{k}: {v:.3e}" for k, v in m["rel_l2"].items())
    click.echo(f"{problem} family {', '.join(f'{k}∈[{lo:g}, {hi:g}]' for k, (lo, hi) in config.ranges.items())}: "
               f"rel_l2 {errs}  ({m['steps']} steps, {m['train_s']:.1f} s training, stopped: {m['stop_reason']})")
    click.echo(f"run directory: {out}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="New parameter value(s).")
@click.option("--repeats", default="5", show_default=True, help="Timed warm solves (median reported).")
def solve(run_dir, params, repeats):
    """Solve a trained hard-constraint model (train-family or train --model hard-constraint) at new parameters:
    one least-squares solve, rel L2 against the reference, solve wall time."""
    import warnings

    from .hard.family import is_family_run, load_family_run, solve_new
    from .runs import load_run

    new = _pairs(params, "-p")
    n = _int(repeats, "--repeats")
    if n <= 0:
        raise PinnsightError(f"--repeats={repeats!r} must be positive")
    if is_family_run(run_dir):
        fconfig, model, _ = load_family_run(run_dir)
        name, base, ranges = fconfig.problem, {**fconfig.params, **fconfig.centre()}, fconfig.ranges
    else:
        config, model, _ = load_run(run_dir)
        if config.model != "hard-constraint":
            raise PinnsightError(f"{run_dir} was trained with model {config.model!r}; solve needs a hard-constraint model")
        name, base, ranges = config.problem, dict(config.params), {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solve_new(model, name, {**base, **new}, repeats=n)
    for w in caught:
        click.echo(f"pinnsight: warning: {w.message}", err=True)
    shown = ", ".join(f"{k}={result.params[k]:g}" if isinstance(result.params[k], float) else f"{k}={result.params[k]}"
                      for k in (new or ranges or result.params))
    outside = [k for k, (lo, hi) in ranges.items() if not lo <= float(result.params[k]) <= hi]
    r = result.report
    click.echo(f"{name} {shown}: rel_l2 = {result.rel_l2:.3e}")
    click.echo(f"  solve {1e3 * result.solve_s:.2f} ms (warm, median of {n}; first call {result.first_s:.2f} s with "
               f"compilation), {r['n_basis']} basis functions, {r['rows']} rows, κ = {r['cond_ridge']:.2e}")
    if outside:
        click.echo(f"  note: {', '.join(outside)} outside the trained range", err=True)


def out_of_memory(e: BaseException) -> str | None:
    """A short description when ``e`` (or what caused it) is a host or accelerator out-of-memory error: Python's
    MemoryError or XLA's RESOURCE_EXHAUSTED; None otherwise."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, MemoryError):
            return "host memory"
        text = str(e)
        if "RESOURCE_EXHAUSTED" in text or ("out of memory" in text.lower() and "Runtime" in type(e).__name__):
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
            return (first[:160] + "…") if len(first) > 160 else first
        e = e.__cause__ or e.__context__
    return None


@cli.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--points", "points_file", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="The points: a .csv (header row of the coordinate names) or .npz (one array per coordinate).")
@click.option("--out", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Write the predictions here (.csv or .npz: coordinates, then fields). Default: CSV on stdout.")
def predict(run_dir, points_file, out):
    """Predict every field of the trained run RUN at the points of FILE."""
    from .observations import read_points
    from .predict import check_suffix, csv_text, load, write_predictions
    from .runs import check_destination

    if out is not None:
        check_suffix(out, "--out")
        check_destination(out, "--out", kind="file")
    run = load(run_dir)
    points = read_points(points_file, coords=run.coords, bounds=run.bounds)
    values = run.predict(points)
    if out is None:
        click.echo(csv_text(points, values, run.coords), nl=False)
        return
    write_predictions(out, points, values, run.coords)
    click.echo(f"predictions: {out} ({len(points)} points; {', '.join(run.fields)})")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning bad input into one ``pinnsight: error: ...`` line and exit code 2."""
    try:
        rv = cli.main(args=argv, prog_name="pinnsight", standalone_mode=False)
    except PinnsightError as e:
        click.echo(f"pinnsight: error: {e}", err=True)
        return 2
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help())
        return 2
    except click.ClickException as e:
        click.echo(f"pinnsight: error: {e.format_message()}", err=True)
        return e.exit_code
    except TrainingInterrupted as e:
        click.echo(f"pinnsight: {e}; continue it with `pinnsight train --resume {e.path.parent}`", err=True)
        return 128 + e.signum
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("pinnsight: interrupted", err=True)
        return 130
    except Exception as e:  # noqa: BLE001 - only out-of-memory is turned into a line; the rest propagates
        what = out_of_memory(e)
        if what is None:
            raise
        click.echo(f"pinnsight: error: out of memory ({what}); reduce the network (--model NAME:width=..,depth=..), "
                   "the points per term (--points TERM=N) or, for diagnose, --ntk-points", err=True)
        return 2
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
