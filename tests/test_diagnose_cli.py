"""``pinnsight diagnose``: a tiny run directory diagnosed end to end, the probe mode, every bad input (one error
line, exit code 2, the run directory untouched), and the atomic rewrite of ``diagnosis/``."""

import json
import shutil
from pathlib import Path

import pytest

from pinnsight.cli import main
from pinnsight import run_diagnosis
from pinnsight.diagnostics import report

TINY = ["--steps", "60", "--lbfgs-steps", "0", "--log-every", "10", "--eval-every", "20", "--no-progress",
        "--model", "mlp:width=12,depth=2", "--points", "res=200"]
RUN_FILES = ("config.json", "history.csv", "metrics.json", "params.eqx", "prediction.npz")


def run_cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "run"
    assert main(["train", "convection", "-p", "beta=30", "--out", str(out), *TINY]) == 0
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {f: (folder / f).read_bytes() for f in RUN_FILES}


def test_diagnose_writes_report_findings_and_figures(run_dir, capsys):
    before = snapshot(run_dir)
    code, out, err = run_cli(capsys, "diagnose", str(run_dir), "--ntk-points", "32")
    assert code == 0, err
    d = run_dir / "diagnosis"
    for f in ("report.md", "findings.json", "gradients.png", "ntk_spectra.png", "residual.png", "error_spectrum.png"):
        assert (d / f).is_file(), f
    found = json.loads((d / "findings.json").read_text())
    assert found["problem"] == "convection" and found["params"]["beta"] == 30.0
    ev = found["evidence"]
    assert set(ev["grad_norms"]) == {"res", "ic", "bc"} and ev["ntk"]["dtype"] == "float64"
    assert ev["ntk"]["rows"] == {"res": 32, "ic": 8, "bc": 8}
    assert ev["gauss_newton"]["rank"] >= 1 and ev["coefficient_probe"]["coef"] == "beta"
    # β = 30 after 60 steps: unsolved, and the residual's NTK block outgrows the constraints' from β = 1
    names = [f["name"] for f in found["findings"]]
    assert "conditioning-growth" in names
    for f in found["findings"]:
        assert f["message"] and f["evidence"] and f["severity"] in ("info", "warning", "critical")
        for s in f["suggestions"]:
            assert s["command"].startswith("pinnsight train convection")
    text = (d / "report.md").read_text()
    assert "## Findings" in text and "conditioning-growth" in text and "![ntk](ntk_spectra.png)" in text
    assert "diagnosis:" in out and "[" in out
    assert snapshot(run_dir) == before  # the run's own files are untouched
    # a second diagnosis replaces the folder, leaving no temporary folders behind
    (d / "stale.txt").write_text("old")
    assert run_cli(capsys, "diagnose", str(run_dir), "--ntk-points", "32", "--float32")[0] == 0
    assert not (d / "stale.txt").exists() and (d / "report.md").is_file()
    assert json.loads((d / "findings.json").read_text())["evidence"]["ntk"]["dtype"] == "float32"
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []


def test_failed_diagnosis_keeps_the_previous_one(run_dir, monkeypatch):
    d = run_dir / "diagnosis"
    if not d.exists():
        run_diagnosis.diagnose_run(run_dir, ntk_points=16, constraint_points=4)
    before = (d / "findings.json").read_bytes()
    data = run_diagnosis.load_run_data(run_dir)
    diag = report.diagnose(data, ntk_points=16, constraint_points=4, x64=False, conditioning=False)

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "report_markdown", broken)
    with pytest.raises(RuntimeError):
        report.write_diagnosis(run_dir, diag, data)
    assert (d / "findings.json").read_bytes() == before
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("make, args, message", [
    (None, ["/nonexistent/run"], "is not a run directory"),
    (None, ["convecton"], "'convecton' is neither a run directory nor a known problem"),
    (None, ["convection", "-p", "beta=fast"], "is not a number"),
    ("empty", [], "is not a complete run directory (missing config.json"),
    ("no-prediction", [], "missing prediction.npz"),
    ("bad-config", [], "unreadable run files"),
    ("bad-history", [], "history.csv has no rows"),
    ("copy", ["-p", "beta=3"], "option -p is only for a probe of a PROBLEM"),
    ("copy", ["--ntk-points", "0"], "--ntk-points='0' must be positive"),
])
def test_bad_input_is_one_error_line_and_touches_nothing(run_dir, tmp_path, capsys, make, args, message):
    target = None
    if make is not None:
        target = tmp_path / "r"
        if make == "empty":
            target.mkdir()
        else:
            shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("diagnosis"))
            if make == "no-prediction":
                (target / "prediction.npz").unlink()
            if make == "bad-config":
                (target / "config.json").write_text("{not json")
            if make == "bad-history":
                (target / "history.csv").write_text("")
        before = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}
    code, out, err = run_cli(capsys, "diagnose", *([str(target)] if target else []), *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinnsight: error: ") and message in lines[0], err
    if target is not None:
        assert {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()} == before
        assert not (target / "diagnosis").exists()
        assert [p.name for p in target.iterdir() if p.name.startswith(".")] == []


def test_probe_mode_trains_then_diagnoses(tmp_path, capsys):
    out = tmp_path / "probe"
    code, stdout, err = run_cli(capsys, "diagnose", "reaction", "-p", "rho=2", "--steps", "40", "--model",
                                "mlp:width=8,depth=2", "--out", str(out), "--ntk-points", "16", "--no-progress")
    assert code == 0, err
    assert all((out / f).is_file() for f in RUN_FILES)
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["phases"] == [{"name": "adam", "steps": 40, "options": config["phases"][0]["options"]}]
    assert json.loads((out / "diagnosis" / "findings.json").read_text())["params"]["rho"] == 2.0
    assert "diagnosis:" in stdout
