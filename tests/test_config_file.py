"""``pinnsight train --config FILE`` (a run directory's config.json or a TOML file with the same fields), options
beside it overriding it, and the shipped ``recipes/*.toml``: each builds the TrainConfig of its README command line.
Nothing here trains."""

import json
import re
import shlex
from pathlib import Path

import pytest

import pinnsight as ps
from pinnsight.cli import command_config, main
from pinnsight.config import PhaseConfig, TrainConfig, read_config_file

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

#: recipe -> the command line it stands for (the README's, where the README gives it whole)
COMMANDS = {
    "convection-beta50.toml": "pinnsight train convection -p beta=50 --x64 --model periodic:width=20,depth=3 "
                              "--points res=1500 --points ic=256 --remedy curriculum:start=1,stages=8,final_steps=3 "
                              "--optimizer gauss-newton:steps=400",
    "convection-beta30.toml": "pinnsight train convection -p beta=30 --x64 --model periodic:width=20,depth=3 "
                              "--points res=1500 --points ic=256 --remedy curriculum:start=1,stages=7,final_steps=3 "
                              "--optimizer gauss-newton:steps=300",
    "helmholtz-ng.toml": "pinnsight train helmholtz --x64 --model mlp:width=30,depth=3 --optimizer adam:steps=1000 "
                         "--optimizer natural-gradient:steps=500",
    "allen-cahn-seq2seq-ng.toml": "pinnsight train allen-cahn --x64 --model periodic:width=30,depth=3,harmonics=3 "
                                  "--points res=2000 --weight ic=100 --optimizer adam:steps=500 "
                                  "--optimizer natural-gradient:steps=450 --remedy seq2seq:windows=4",
    "wave-seq2seq-ng.toml": "pinnsight train wave --x64 --model mlp:width=40,depth=3 --weight ic=100 --weight ic_t=100 "
                            "--weight bc=100 --optimizer adam:steps=500 --optimizer natural-gradient:steps=1000 "
                            "--remedy seq2seq:windows=3",
    "burgers-ssbroyden.toml": "pinnsight train burgers --x64 --model mlp:width=30,depth=3 --points res=10000 "
                              "--optimizer adam:steps=2000 --optimizer ssbroyden:steps=8000",
    "cylinder-ssbroyden.toml": "pinnsight train cylinder --x64 --model mlp:width=40,depth=4,normalize=1 "
                               "--weight bc_u=100 --weight bc_v=100 --weight cyl_u=100 --weight cyl_v=100 "
                               "--points res=4000 --remedy rad:every=500 --optimizer adam:steps=3000 "
                               "--optimizer ssbroyden:steps=2500",
    "kdv-record.toml": "pinnsight train kdv --x64 --model periodic:width=30,depth=3,harmonics=3 --points res=4000 "
                       "--remedy seq2seq:windows=4 --optimizer adam:steps=1000 --optimizer ssbroyden:steps=6000 "
                       "--eval-every 1000",
    "helmholtz-record.toml": "pinnsight train helmholtz --x64 --model mlp:width=30,depth=3 --points res=4000 "
                             "--remedy rad:every=500 --optimizer adam:steps=2000 --optimizer ssbroyden:steps=16000 "
                             "--eval-every 1000",
    "allen-cahn-record.toml": "pinnsight train allen-cahn --x64 "
                              "--model periodic:width=30,depth=3,harmonics=3,root_time=1,seam=0.0001 "
                              "--points res=4000 --weight ic=100 --remedy seq2seq:windows=4 --optimizer adam:steps=1000 "
                              "--optimizer ssbroyden:steps=6000 --eval-every 1000",
    "convection-record.toml": "pinnsight train convection -p beta=50 --x64 --model periodic:width=30,depth=3 "
                              "--points res=4000 --weight ic=100 --remedy seq2seq:windows=5 --optimizer adam:steps=1000 "
                              "--optimizer ssbroyden:steps=6000 --eval-every 1000",
    "reaction-record.toml": "pinnsight train reaction -p rho=5 --x64 --model mlp:width=30,depth=3 --points res=4000 "
                            "--remedy rad:every=500 --optimizer adam:steps=2000 --optimizer ssbroyden:steps=8000 "
                            "--eval-every 1000",
    "burgers-record.toml": "pinnsight train burgers --x64 --model mlp:width=30,depth=3 --points res=10000 "
                           "--remedy rad:every=500 --optimizer adam:steps=2000 --optimizer ssbroyden:steps=24000 "
                           "--eval-every 1000",
    "burgers-symmetric-record.toml": "pinnsight train burgers --x64 --model mlp:width=30,depth=3 --symmetric "
                                     "--points res=5000 --remedy rad:every=500 --optimizer adam:steps=2000 "
                                     "--optimizer ssbroyden:steps=24000 --eval-every 1000",
}
#: recipes whose command the README prints whole (β = 30 is named there in words; Burgers is from the findings)
IN_README = ("convection-beta50.toml", "helmholtz-ng.toml", "allen-cahn-seq2seq-ng.toml", "wave-seq2seq-ng.toml")


def readme_commands() -> list[str]:
    """Every ``pinnsight train`` command in the README's code blocks, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    joined = [re.sub(r"\\\n\s*", "", b) for b in blocks]
    return [" ".join(line.split("#")[0].split()) for b in joined for line in b.splitlines()
            if line.strip().startswith("pinnsight train ")]


def test_every_recipe_is_listed_here():
    assert sorted(p.name for p in RECIPES.glob("*.toml")) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_recipe_builds_the_config_of_its_command_line(name):
    path = RECIPES / name
    command = COMMANDS[name]
    if name in IN_README:
        assert command in readme_commands(), f"{name}: the README no longer prints {command}"
    text = path.read_text()
    assert f"# Same as: {command}" in text  # the file says what it stands for
    assert re.search(r"^# Measured: .*rel L2 \d", text, flags=re.M), "a recipe cites the number it measured"
    from_file = read_config_file(path)
    assert from_file == command_config(shlex.split(command)[2:])
    assert command_config(["--config", str(path)]) == from_file
    assert from_file.x64 is True


def _write_run_config(tmp_path, config, old_strings=False):
    run = tmp_path / "run"
    run.mkdir()
    d = config.to_dict()
    if old_strings:
        d["remedies"] = [str(r) for r in config.remedies]
    (run / "config.json").write_text(json.dumps({"config": d, "seed": config.seed, "versions": {}}))
    return run


def test_a_run_directory_config_json_reads_back(tmp_path):
    config = TrainConfig(problem="convection", params={"beta": 7.0}, phases=(PhaseConfig("adam", 30, {"lr": 2e-3}),),
                         points={"res": 200}, weights={"ic": 5.0}, seed=4, remedies=("curriculum:stages=3", "causal"))
    run = _write_run_config(tmp_path, config)
    assert read_config_file(run / "config.json") == config
    assert read_config_file(run) == config  # the run directory itself
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(config.to_dict()))
    assert read_config_file(bare) == config


def test_an_old_run_directory_with_string_remedies_reads_back(tmp_path):
    config = TrainConfig(problem="reaction", params={"rho": 2.0}, remedies=("seq2seq:windows=2",))
    run = _write_run_config(tmp_path, config, old_strings=True)
    assert json.loads((run / "config.json").read_text())["config"]["remedies"] == ["seq2seq:windows=2"]
    assert read_config_file(run) == config


def test_toml_with_tables(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('problem = "convection"\nparams = { beta = 5 }\nseed = 2\nx64 = "false"\n'
                    'remedies = [{ name = "curriculum", options = { stages = 3 } }, "causal:eps=0.1"]\n'
                    '[[phases]]\nname = "adam"\nsteps = 40\noptions = { lr = 2e-3 }\n'
                    '[[phases]]\nname = "lbfgs"\nsteps = 5\n')
    config = read_config_file(path)
    assert config == TrainConfig(problem="convection", params={"beta": 5.0}, seed=2, x64=False,
                                 remedies=("curriculum:stages=3", "causal:eps=0.1"),
                                 phases=(PhaseConfig("adam", 40, {"lr": 2e-3}), PhaseConfig("lbfgs", 5)))
    assert config.x64 is False  # the string "false" is false, never truthy


def test_command_line_options_override_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('problem = "convection"\nparams = { beta = 5.0, u0 = "gauss" }\nx64 = true\nseed = 2\n'
                    'weights = { ic = 10.0 }\nremedies = ["causal"]\nmodel = "mlp"\nmodel_options = { width = 20 }\n'
                    '[[phases]]\nname = "adam"\nsteps = 40\noptions = { lr = 2e-3 }\n'
                    '[[phases]]\nname = "lbfgs"\nsteps = 5\n')
    base = command_config(["--config", str(path)])
    assert base.seed == 2 and base.x64 and base.model_options["width"] == 20
    c = command_config(["--config", str(path), "--seed", "9", "-p", "beta=8", "--weight", "bc=3", "--steps", "70",
                        "--no-x64", "--remedy", "rad", "--model", "mlp:depth=2", "--target", "1e-3"])
    assert c.seed == 9 and c.x64 is False and c.target_rel_l2 == 1e-3
    assert c.params == {"beta": 8.0, "u0": "gauss"}  # -p overrides per name
    assert c.weights["ic"] == 10.0 and c.weights["bc"] == 3.0
    assert [(p.name, p.steps) for p in c.phases] == [("adam", 70), ("lbfgs", 5)] and c.phases[0].options["lr"] == 2e-3
    assert [str(r) for r in c.remedies] == ["rad"] and c.model_options["depth"] == 2 and c.model_options["width"] == 50
    # options left at their defaults do not override the file
    assert command_config(["--config", str(path), "--eval-every", "500"]).seed == 2
    phases = command_config(["--config", str(path), "--optimizer", "adam:steps=3"]).phases
    assert [(p.name, p.steps) for p in phases] == [("adam", 3)]
    other = command_config(["--config", str(path), "reaction"])  # another problem: its own coefficients
    assert other.problem == "reaction" and "beta" not in other.params and other.weights["ic"] == 10.0
    assert "grad-stats" in [r.name for r in command_config(["--config", str(path), "--diagnostics"]).remedies]


@pytest.mark.parametrize("content, suffix, message", [
    ("problem = \n", ".toml", "is not valid TOML"),
    ("{not json", ".json", "is not valid JSON"),
    ("[1, 2]", ".json", "holds a list"),
    ('{"config": 3}', ".json", "'config' entry is not an object"),
    ('{"kind": "hard-constraint-family", "family": {}}', ".json", "train-family"),
    ('problem = "convection"\nstepz = 3\n', ".toml", "unknown field 'stepz'"),
    ('problem = "convection"\nseed = true\n', ".toml", "config: seed=True is not an integer"),
    ('problem = "convection"\nx64 = "yes"\n', ".toml", "config: x64='yes' is not a valid bool"),
    ('problem = "convection"\nweights = { ic = nan }\n', ".toml", "weights: ic=nan must be finite"),
    ('problem = "convection"\nphases = "adam"\n', ".toml", "phases='adam' must be a list"),
    ('problem = "convection"\n[[phases]]\nname = "adam"\n', ".toml", "expected the fields name, steps and options"),
    ('problem = "convection"\n[[phases]]\nname = "adam"\nsteps = 5\noptions = { lr = inf }\n', ".toml",
     "optimizer adam: lr=inf must be finite"),
    ('problem = "convection"\nremedies = [{ name = "causal", options = { eps = -inf } }]\n', ".toml",
     "remedy causal: eps=-inf must be finite"),
    ('problem = "convection"\nremedies = "curriculum:start=1,start=2"\n', ".toml", "option 'start' given twice"),
])
def test_malformed_files_are_one_error_line(tmp_path, capsys, monkeypatch, content, suffix, message):
    import pinnsight.cli as cli

    monkeypatch.setattr(cli, "_train_and_write", lambda *a, **k: pytest.fail("trained a malformed config"))
    path = tmp_path / f"c{suffix}"
    path.write_text(content)
    code = main(["train", "--config", str(path), "--no-progress"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("pinnsight: error: --config "), err
    assert message in lines[0], lines[0]


def test_missing_file_and_steps_without_the_phase(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = tmp_path / "c.toml"
    path.write_text('problem = "convection"\n[[phases]]\nname = "gauss-newton"\nsteps = 4\n')
    with pytest.raises(ps.PinnsightError, match="--lbfgs-steps sets the steps of the lbfgs phase"):
        command_config(["--config", str(path), "--lbfgs-steps", "3"])
    with pytest.raises(ps.PinnsightError, match="train needs a PROBLEM"):
        command_config([])
