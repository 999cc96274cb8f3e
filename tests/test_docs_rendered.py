"""The generated sections of README.md and docs/benchmarks.md are what the committed raw rows render to.

Every results table (and inline figure) between ``BEGIN GENERATED`` / ``END GENERATED`` markers is re-rendered from
``benchmarks/results/*.jsonl`` by ``pinnsight.bench.render``; a section that differs fails here with its name
(fix: ``python3 -m pinnsight.bench.render``). The rest checks the renderer itself on small synthetic documents, that
every spec still renders once the rows it is waiting for are committed, and that the documents cite only files that
are in the repository.
"""

import itertools
import json
import re
from pathlib import Path

import pytest

from pinnsight.bench import render as R

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ the real documents
def test_every_generated_section_matches_the_committed_rows():
    differ, _ = R.run(ROOT, check=True)
    assert not differ, ("sections differ from the rows they are rendered from (run `python3 -m "
                        f"pinnsight.bench.render`): {differ}")


def test_every_spec_is_used_by_a_document():
    _, unused = R.run(ROOT, check=True)
    assert not unused, f"specs no document uses: {unused}"


def test_the_documents_have_generated_sections_and_no_stale_markers():
    for doc in R.DOCUMENTS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        begins, ends = R.BEGIN.findall(text), R.END.findall(text)
        assert begins and begins == ends, doc
        suites = re.findall(r"<!-- suite:(\S+) start -->", text)  # pinnsight report's own sections, once each
        assert len(suites) == len(set(suites)) == len(re.findall(r"<!-- suite:\S+ end -->", text)), doc


def test_documents_cite_only_files_in_the_repository():
    """No path outside the repository (the earlier ``shared/FINDINGS.md`` citations), and every cited source,
    test, script or document exists. Raw-row files named in rerun commands may not exist yet (that is the point
    of the command)."""
    cited = re.compile(r"(?<![\w/.-])((?:src|tests|benchmarks|docs|examples)/[\w./-]+\.(?:py|md|toml|png))")
    for doc in R.DOCUMENTS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/FINDINGS" not in text and "FINDINGS.md" not in text, doc
        missing = sorted({p for p in cited.findall(text) if not (ROOT / p).exists()})
        assert not missing, f"{doc} cites files that are not in the repository: {missing}"


def test_results_files_carry_only_labels_the_scripts_write():
    """Hand-edited row labels were restored: a row that ran under an earlier code version says so in
    ``variant`` / ``note``, its ``row`` is a label ``benchmarks/balancing.py`` defines."""
    script = (ROOT / "benchmarks" / "balancing.py").read_text()
    for line in (ROOT / "benchmarks" / "results" / "balancing.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert f'"{row["row"]}"' in script, row["row"]
        assert ("variant" in row) == ("note" in row)


# ------------------------------------------------------------------------------------ the renderer
def _repo(tmp_path, rows: dict[str, list[dict]], doc: str) -> Path:
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    for name, rs in rows.items():
        (tmp_path / "benchmarks" / "results" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rs))
    (tmp_path / "README.md").write_text(doc)
    return tmp_path


ROWS = {"runs": [{"case": "a", "seed": s, "rel_l2": v, "wall_s": 10.0 * (s + 1)} for s, v in enumerate((1e-3, 3e-3))]
        + [{"case": "b", "seed": 0, "rel_l2": 0.5, "wall_s": 5.0}]}
SPECS = {
    "t": R.Table(select=R.Select("runs"), group_by=("case",),
                 columns=(R.Label("case", fields=("case",)), R.Seeds(), R.Mean(id="m"), R.Stat("wall s", how="range"),
                          R.Const("paper", id="p", by={"a": 4e-3}), R.Ratio("paper / ours", num="p", den="m"))),
    "v": R.Value(R.Select("runs", {"case": "a"})),
    "missing": R.Table(rows=(R.Row("new", R.Select("other", {"x": 1}), "python3 make_rows.py --jsonl other"),),
                       columns=(R.Label("what"), R.Mean())),
}
DOC = ("intro\n<!-- BEGIN GENERATED: t -->\nstale\n<!-- END GENERATED: t -->\nmean <!-- BEGIN GENERATED: v -->?"
       "<!-- END GENERATED: v --> kept\n<!-- BEGIN GENERATED: missing -->\n<!-- END GENERATED: missing -->\ntail\n")


def test_a_table_shows_mean_spread_n_seeds_range_and_ratio(tmp_path):
    root = _repo(tmp_path, ROWS, DOC)
    text, found, changed = R.rewrite(DOC, R.Rows(root), SPECS)
    assert found == changed == ["t", "v", "missing"]
    line_a = next(x for x in text.splitlines() if x.startswith("| a |"))
    assert line_a == "| a | 0: 1.0e-3 / 1: 3.0e-3 | 2.0e-3 ± 1.4e-3 (n=2) | 10–20 | 4.00e-3 | 2.00× |"
    assert "| b | 0: 0.50 | 0.50 (n=1) | 5 |  |  |" in text
    assert "mean <!-- BEGIN GENERATED: v -->2.0e-3 ± 1.4e-3 (n=2)<!-- END GENERATED: v --> kept" in text  # inline
    assert text.startswith("intro\n") and text.endswith("\ntail\n") and "stale" not in text
    assert "`benchmarks/results/runs.jsonl`" in text  # the caption names the raw-row file
    assert f"{R.NOT_BACKED} `python3 make_rows.py --jsonl other`" in text
    again, _, changed = R.rewrite(text, R.Rows(root), SPECS)
    assert again == text and changed == []


def test_check_reports_a_stale_section_and_writes_nothing(tmp_path, capsys):
    root = _repo(tmp_path, ROWS, DOC)
    differ, unused = R.run(root, check=True, sections=SPECS, documents=("README.md",))
    assert differ == ["README.md: t", "README.md: v", "README.md: missing"] and unused == []
    assert (root / "README.md").read_text() == DOC
    R.run(root, check=False, sections=SPECS, documents=("README.md",))
    assert R.run(root, check=True, sections=SPECS, documents=("README.md",)) == ([], [])


def test_check_command_line_exit_codes(tmp_path, capsys, monkeypatch):
    root = _repo(tmp_path, ROWS, DOC)
    monkeypatch.setattr(R, "SECTIONS", SPECS)
    monkeypatch.setattr(R, "DOCUMENTS", ("README.md",))
    assert R.main(["--check", "--root", str(root)]) == 1
    assert "README.md: t" in capsys.readouterr().out
    assert R.main(["--root", str(root)]) == 0
    assert R.main(["--check", "--root", str(root)]) == 0


@pytest.mark.parametrize("doc, message", [
    ("<!-- BEGIN GENERATED: t -->\nx\n", "no END"),
    ("<!-- END GENERATED: t -->\n", "without a BEGIN"),
    ("<!-- BEGIN GENERATED: t -->\n<!-- END GENERATED: v -->\n", "closed by END"),
    ("<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED: nope -->\n", "no spec"),
    ("<!-- BEGIN GENERATED: t -->x<!-- END GENERATED: t -->\n", "must be a block"),
    ("<!-- BEGIN GENERATED: v -->\n<!-- END GENERATED: v -->\n", "must be inline"),
])
def test_malformed_documents_are_refused(tmp_path, doc, message):
    root = _repo(tmp_path, ROWS, doc)
    with pytest.raises(R.RenderError, match=message):
        R.rewrite(doc, R.Rows(root), SPECS)


def test_a_filter_that_matches_two_rows_of_one_seed_is_refused(tmp_path):
    rows = {"runs": [{"case": "a", "seed": 0, "rel_l2": 1.0}, {"case": "a", "seed": 0, "rel_l2": 2.0}]}
    root = _repo(tmp_path, rows, "")
    with pytest.raises(R.RenderError, match="more than one row for seed"):
        SPECS["t"].render(R.Rows(root))


def test_missing_seeds_of_an_explicit_row_are_named_with_their_rerun(tmp_path):
    root = _repo(tmp_path, ROWS, "")
    spec = R.Table(rows=(R.Row("a", R.Select("runs", {"case": "a"}), "rerun-a", seeds=(0, 1, 2)),),
                   columns=(R.Label("x"), R.Seeds(), R.Mean()))
    text = spec.render(R.Rows(root))
    assert "0: 1.0e-3 / 1: 3.0e-3 / 2: not backed" in text and f"seed 2 {R.NOT_BACKED} `rerun-a`" in text


def test_pivot_marks_the_lowest_mean_and_whether_its_margin_beats_the_spread(tmp_path):
    rows = {"p": [{"case": "c", "remedy": r, "seed": s, "rel_l2": v, "wall_s": 1.0}
                  for r, vals in (("x", (0.10, 0.12)), ("y", (0.50, 0.52)), ("z", (0.11, 0.60)))
                  for s, v in enumerate(vals)]}
    root = _repo(tmp_path, rows, "")
    text = R.Pivot(select=R.Select("p"), index="case", columns="remedy").render(R.Rows(root))
    assert "**0.11** ± 0.014 (n=2, 1 s)" in text
    assert "x vs z: 0.24 not larger than the spread 0.35" in text


def test_number_formats():
    assert [R.num(v) for v in (3.47e-4, 0.954, 1.0, 12.0, 1.5e4, None, 0)] == \
        ["3.5e-4", "0.95", "1.0", "1.2e1", "1.5e4", "—", "0"]
    assert [R.times(v) for v in (1.467, 52.3, 0.089)] == ["1.47×", "52×", "0.089×"]


# ------------------------------------------------------------------------------------ specs waiting for rows
#: what each script writes (the fields the specs read), for the raw-row files not committed yet
TEMPLATES = {
    "recipes": {"rel_l2": 3e-4, "wall_s": 200.0, "steps": 3000, "s_per_it": {"natural-gradient": 0.2}},
    "optimizers_short": {"case": "convection-10", "dtype": "float64", "sequence": "adam+lbfgs", "rel_l2": 0.1,
                         "wall_s": 5.0, "last_phase": {"name": "lbfgs", "steps": 200, "wall_s": 2.0, "stop": "budget"},
                         "setup": {"seed": 0}},
    "optimizers_curriculum": {"case": "convection-30", "dtype": "float64", "rel_l2": 8e-4, "wall_s": 130.0,
                              "last_phase": {"name": "gauss-newton", "steps": 300, "wall_s": 17.0, "stop": "budget"},
                              "setup": {"seed": 0}},
    "hard_soft": {"param": "beta", "rows": [{"value": 10.0, "rel_l2": 0.1, "train_s": 20.0}], "train_s": 60.0},
    "hard_mlp": {"method": "hard-constraint", "param": "beta",
                 "rows": [{"value": 10.0, "rel_l2": 0.03, "solve_s": 0.002}],
                 "train_s": 90.0, "first_solve_s": 2.0},
    "conditioning": {"value": 4, "params": 9, "kappa_exact": 2e5, "kappa_pre_exact": 1.08, "kappa_batch": 2.1e5,
                     "kappa_pre_batch": 1.26, "over": "K=4..64", "exact": 4.0, "batch": 4.01, "optimizer": "GD",
                     "budget": 1000, "model": "plain", "final_loss": 1.0},
    "ntk_spread": {"problem": "convection", "coef": "beta", "value": 1.0, "lmax_res": 1.5e3,
                   "lmax_constraint_min": 2.1e3, "spread": 0.71, "gn_cond": 3e23, "rank": 152, "rows": 384},
    "diagnostics_overhead": {"steps": 3000, "every": 500, "per_call_ms": 4.7, "overhead_pct": 1.0,
                             "direct_call_ms": 4.7, "direct_overhead_pct": 0.5, "train_s_without": 6.4,
                             "train_s_with": 7.7},
    "speed": {"name": "pinnsight (train's jitted Adam chunk)", "ms_per_step_median": 1.2, "ms_per_step_p10": 1.1,
              "ms_per_step_p90": 1.3, "wall_ms_per_step_train": 1.7},
    "auto_quick": {"case": "reaction-10", "size": "quick", "rel_l2": 0.05, "wall_s": 4.0, "steps": 1400,
                   "remedies": ["curriculum:start=1,stages=4"], "findings": ["stall"], "recipe": None},
}


def _selects(spec):
    if isinstance(spec, R.Value):
        yield from ((s, (0,)) for s in (spec.select if isinstance(spec.select, tuple) else (spec.select,)))
        return
    if isinstance(spec, R.Table):
        yield from ((r.select, r.seeds or (0,)) for r in spec.rows)
        if spec.select is not None:
            yield from ((s, (0,)) for s in spec.sources())
        for c in spec.columns:
            if isinstance(c, R.Lookup):
                yield from ((s, (0,)) for s in c.by.values())
    else:
        yield spec.select, (0,)


def test_every_spec_renders_once_its_missing_rows_are_committed(tmp_path):
    """Fake rows, shaped like the scripts' own, for every file the specs wait for: every section renders, and
    the rows that were "not backed" are now numbers."""
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    committed = R.Rows(ROOT)
    fake: dict[str, dict] = {}
    for spec in R.SECTIONS.values():
        for sel, seeds in _selects(spec):
            if committed.select(sel):
                continue
            template = TEMPLATES.get(sel.file, {"rel_l2": 1e-3, "wall_s": 1.0})
            choices = [[(k, x) for x in v] if isinstance(v, tuple) else [(k, v)] for k, v in sel.where.items()]
            for combo in itertools.product(*choices):
                for seed in seeds:
                    row = json.loads(json.dumps(template))
                    row.update({k: v for k, v in combo if not k.startswith("setup.")})
                    if "setup" in row:
                        row["setup"].update({k[len("setup."):]: v for k, v in combo if k.startswith("setup.")})
                        row["setup"]["seed"] = seed
                    else:
                        row["seed"] = seed
                    fake.setdefault(sel.file, {})[json.dumps(row, sort_keys=True)] = row
    for p in (ROOT / "benchmarks" / "results").glob("*.jsonl"):
        (results / p.name).write_text(p.read_text())
    for name, rows in fake.items():
        with open(results / f"{name}.jsonl", "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows.values())
    data = R.Rows(tmp_path)
    out = {name: R.render_section(name, data, R.SECTIONS)[0] for name in R.SECTIONS}
    recipes = out["readme-recipes"].split("\n")
    assert not any(R.NOT_BACKED in x for x in recipes if x.startswith("| convection β = 50"))
    assert "×" in next(x for x in out["woodbury-speed"].splitlines() if x.startswith("| wave"))
    for name in ("speed", "conditioning-poisson", "ntk-spread", "diagnostics-overhead", "hard-constraint",
                 "optimizers-short", "auto-quick", "moonshot"):
        table = [x for x in out[name].splitlines() if x.startswith("|")]
        assert table and not any(R.NOT_BACKED in x for x in table), name


def test_auto_choice_names_each_seeds_findings_where_the_probes_differ():
    base = {"remedies": ["rad:every=500"], "recipe": "resampled-quasi-newton"}
    same = R.Group({}, [{**base, "seed": s, "findings": ["stall"]} for s in (1, 0)])
    assert R._auto_choice(same).endswith("(findings: stall)")
    differ = R.Group({}, [{**base, "seed": 2, "findings": []}, {**base, "seed": 0, "findings": ["stall"]},
                          {**base, "seed": 1, "findings": ["stall", "still-improving"]}])
    assert R._auto_choice(differ).endswith("(findings, seeds 0 / 1 / 2: stall / stall, still-improving / none)")
    assert "findings" not in R._auto_choice(R.Group({}, [{**base, "seed": 0, "findings": []}]))


def test_attempt_chain_orders_attempts_with_the_step_after_each_and_bolds_the_kept_one():
    row = {"kept": 1, "escalation": [{"action": "longer", "for": "unconverged", "rel_l2": 1.54e-5, "wall_s": 616.0},
                                     {"action": None, "for": None, "rel_l2": 3.38e-6, "wall_s": 591.2}]}
    assert R._attempt_chain(R.Group({}, [row])) == "1.54e-5 (616 s) → longer (unconverged) → **3.38e-6 (591 s)**"
    assert R._attempt_chain(R.Group({}, [{"escalation": []}])) == "—"
