"""Generated sections of README.md and docs/benchmarks.md: every results table rendered from committed raw rows.

A generated section sits between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->``. A block
section (markers on their own lines) holds a table; an inline one (both markers on one line) holds one figure.
``NAME`` is a key of ``SECTIONS`` (at the end of this module), a small declarative spec: which raw-row file under
``benchmarks/results/`` (JSON lines written by the ``benchmarks/*.py`` scripts or ``benchmarks/run_row.py``),
which rows (field filters), how they are grouped into configurations (the rows of a group are its seeds) and which
columns to show: mean ± sample standard deviation with the seed count n beside it, per-seed values, min–max,
wall times, and ratios against a stated paper number or another column. Everything outside the markers is kept
byte for byte; the ``<!-- suite:NAME start/end -->`` sections of ``pinnsight report`` are not touched.

A row the spec asks for that no committed file holds is rendered as "not backed by a committed row — rerun:
COMMAND" with the command that produces it, so a missing figure is visible, never typed in by hand.

    python3 -m pinnsight.bench.render            # rewrite every generated section
    python3 -m pinnsight.bench.render --check    # exit 1 and name the sections that differ from the rows

Only the standard library: this module is imported by a test that re-renders every section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCUMENTS = ("README.md", "docs/benchmarks.md")
RESULTS = Path("benchmarks") / "results"
COMMAND = "python3 -m pinnsight.bench.render"
NOT_BACKED = "not backed by a committed row — rerun:"

BEGIN = re.compile(r"<!-- BEGIN GENERATED: ([A-Za-z0-9_.-]+) -->")
END = re.compile(r"<!-- END GENERATED: ([A-Za-z0-9_.-]+) -->")


class RenderError(Exception):
    """A malformed document (markers) or spec (unknown field, duplicate seed, ...)."""


# ------------------------------------------------------------------------------------------------ numbers
def num(v: float | None, sig: int = 2) -> str:
    """``sig`` significant digits: plain between 0.01 and 10 (``0.95``, ``1.0``), else ``3.5e-4`` / ``1.6e3``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if v == 0:
        return "0"
    if 1e-2 <= abs(v) < 10:
        text = f"{v:#.{sig}g}"
        return text.rstrip(".")
    mant, exp = f"{v:.{sig - 1}e}".split("e")
    return f"{mant}e{int(exp)}"


def seconds(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}"


def times(v: float | None) -> str:
    """A ratio: ``1.47×`` below 10, ``52×`` above."""
    if v is None or not math.isfinite(v):
        return "—"
    if v < 0.1:
        return f"{num(v, 2)}×"
    return f"{v:.2f}×" if v < 10 else f"{v:.0f}×"


# ------------------------------------------------------------------------------------------------ rows
# in a Select, a filter value None matches a field that is absent (or null)


def get(row: Mapping[str, Any], path: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; None where any part is absent."""
    cur: Any = row
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def seed_of(row: Mapping[str, Any], path: str = "seed") -> Any:
    """The row's seed: ``path``, or where the script nests it (``setup.seed`` of benchmarks/optimizers.py)."""
    v = get(row, path)
    return get(row, "setup.seed") if v is None and path == "seed" else v


def matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    for path, want in where.items():
        have = get(row, path)
        if isinstance(want, (tuple, list, set, frozenset)):
            if have not in want:
                return False
        elif callable(want):
            if not want(have):
                return False
        elif have != want:
            return False
    return True


@dataclass(frozen=True)
class Select:
    """Rows of ``benchmarks/results/FILE.jsonl`` whose fields match ``where`` (path → value, a tuple of allowed
    values, or None for an absent field)."""

    file: str
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{RESULTS.as_posix()}/{self.file}.jsonl"

    def describe(self) -> str:
        def show(v: Any) -> str:
            if isinstance(v, (tuple, list, set, frozenset)):
                return "|".join(show(x) for x in v)
            return "absent" if v is None else '""' if v == "" else str(v)

        cond = ", ".join(f"{k}={show(v)}" for k, v in self.where.items())
        return f"`{self.path}`" + (f" ({cond})" if cond else "")


class Rows:
    """Reads the raw-row files under ``root`` once each."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._cache: dict[str, list[dict] | None] = {}

    def file(self, name: str) -> list[dict] | None:
        if name not in self._cache:
            path = self.root / RESULTS / f"{name}.jsonl"
            if not path.is_file():
                self._cache[name] = None
            else:
                with path.open(encoding="utf-8") as f:
                    self._cache[name] = [json.loads(line) for line in f if line.strip()]
        return self._cache[name]

    def select(self, sel: Select) -> list[dict]:
        return [r for r in self.file(sel.file) or [] if matches(r, sel.where)]


@dataclass
class Group:
    """One configuration: its key fields, its rows (the seeds), the label and rerun command of an explicit row."""

    key: dict[str, Any]
    rows: list[dict]
    label: str = ""
    rerun: str = ""
    seed_field: str = "seed"
    missing_seeds: tuple = ()

    def values(self, path: str) -> list[float]:
        out = [get(r, path) for r in self.rows]
        return [float(v) for v in out if isinstance(v, (int, float)) and not isinstance(v, bool)]

    def by_seed(self, path: str) -> list[tuple[Any, Any]]:
        return sorted(((seed_of(r, self.seed_field), get(r, path)) for r in self.rows),
                      key=lambda sv: (sv[0] is None, sv[0] if isinstance(sv[0], (int, float)) else 0))

    def seed_rows(self) -> list[dict]:
        """The rows in seed order (records are appended in the order they ran)."""
        return sorted(self.rows, key=lambda r: (seed_of(r, self.seed_field) is None,
                                                seed_of(r, self.seed_field) or 0))

    @property
    def n(self) -> int:
        return len(self.rows)


# ------------------------------------------------------------------------------------------------ columns
@dataclass(frozen=True)
class Column:
    header: str
    id: str = ""  # a Ratio column refers to another column by this id

    def value(self, g: Group, ctx: dict) -> float | None:  # the number behind the cell (for ratios)
        return None

    def cell(self, g: Group, ctx: dict) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Label(Column):
    """An explicit row's label, or the group's key fields (``labels``: field → {value: text})."""

    header: str = "configuration"
    fields: tuple[str, ...] = ()
    labels: Mapping[str, Mapping[Any, str]] = dataclasses.field(default_factory=dict)

    def cell(self, g, ctx):
        if g.label:
            return g.label
        parts = []
        for f in self.fields or tuple(g.key):
            v = g.key.get(f)
            text = self.labels.get(f, {}).get(v, None)
            parts.append(str(v) if text is None else text)
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Mean(Column):
    """Mean ± sample standard deviation of ``field`` over the group's rows, with n beside it."""

    header: str = "rel L2 mean ± std (n)"
    field: str = "rel_l2"
    sig: int = 2

    def value(self, g, ctx):
        vs = g.values(self.field)
        return statistics.fmean(vs) if vs else None

    def cell(self, g, ctx):
        vs = g.values(self.field)
        if not vs:
            return "—"
        mean = num(statistics.fmean(vs), self.sig)
        if len(vs) == 1:
            return f"{mean} (n=1)"
        return f"{mean} ± {num(statistics.stdev(vs), 2)} (n={len(vs)})"


@dataclass(frozen=True)
class Seeds(Column):
    """Per-seed values, ``seed: value`` in seed order."""

    header: str = "per seed"
    field: str = "rel_l2"
    sig: int = 2

    def cell(self, g, ctx):
        cells = [(s, f"{s}: {num(v, self.sig) if isinstance(v, (int, float)) else v}")
                 for s, v in g.by_seed(self.field)]
        cells += [(s, f"{s}: not backed") for s in g.missing_seeds]
        cells.sort(key=lambda sc: (sc[0] is None, sc[0] if isinstance(sc[0], (int, float)) else 0))
        return " / ".join(c for _, c in cells) or "—"


@dataclass(frozen=True)
class Stat(Column):
    """``how`` ∈ mean, median, min, max, range, sum, first of ``field``; ``fmt`` ∈ s (whole seconds), num, ms,
    raw."""

    field: str = "wall_s"
    how: str = "mean"
    fmt: str = "s"
    sig: int = 2

    def _f(self, v):
        if v is None:
            return "—"
        if self.fmt == "s":
            return seconds(v)
        if self.fmt == "ms":
            return f"{1e3 * v:.0f} ms" if v >= 0.01 else f"{1e3 * v:.1f} ms"
        if self.fmt == "raw":
            return str(v)
        return num(v, self.sig)

    def value(self, g, ctx):
        vs = g.values(self.field)
        if not vs:
            return None
        return {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max, "sum": sum,
                "first": lambda x: x[0], "range": statistics.fmean}[self.how](vs)

    def cell(self, g, ctx):
        if self.how == "first" and self.fmt == "raw":
            v = get(g.rows[0], self.field) if g.rows else None
            return "—" if v is None else str(v)
        vs = g.values(self.field)
        if not vs:
            return "—"
        if self.how == "range":
            lo, hi = min(vs), max(vs)
            return self._f(lo) if len(vs) == 1 or self._f(lo) == self._f(hi) else f"{self._f(lo)}–{self._f(hi)}"
        return self._f(self.value(g, ctx))


@dataclass(frozen=True)
class Const(Column):
    """A stated number or text per group key (``by``: key value, or tuple of key values → number or text);
    a number is the paper's value a Ratio can divide by."""

    by: Mapping[Any, Any] = dataclasses.field(default_factory=dict)
    keys: tuple[str, ...] = ()
    sig: int = 3
    default: str = ""

    def _lookup(self, g):
        k = tuple(g.key.get(f) for f in self.keys) if self.keys else (g.label or tuple(g.key.values()))
        if isinstance(k, tuple) and len(k) == 1:
            k = k[0]
        return self.by.get(k)

    def value(self, g, ctx):
        v = self._lookup(g)
        return float(v) if isinstance(v, (int, float)) else None

    def cell(self, g, ctx):
        v = self._lookup(g)
        if v is None:
            return self.default
        return num(v, self.sig) if isinstance(v, (int, float)) else str(v)


@dataclass(frozen=True)
class Ratio(Column):
    """``num / den`` of two other columns (by id); blank where either has no number."""

    num: str = ""
    den: str = ""

    def value(self, g, ctx):
        a, b = ctx.get(self.num), ctx.get(self.den)
        return a / b if a is not None and b not in (None, 0) else None

    def cell(self, g, ctx):
        v = self.value(g, ctx)
        return "" if v is None else times(v)


@dataclass(frozen=True)
class Lookup(Column):
    """``field`` over another selection, chosen by the group's key or explicit label (``by``: key → Select):
    ``fmt`` mean (mean ± std with n, like Mean), s (mean in whole seconds) or num. ``note`` (key → text) is
    appended; ``rerun`` (key → command) is shown where the selection is empty."""

    by: Mapping[Any, Select] = dataclasses.field(default_factory=dict)
    keys: tuple[str, ...] = ()
    field: str = "rel_l2"
    fmt: str = "mean"
    sig: int = 2
    note: Mapping[Any, str] = dataclasses.field(default_factory=dict)
    rerun: Mapping[Any, str] = dataclasses.field(default_factory=dict)

    def _key(self, g):
        if g.label and not self.keys:
            return g.label
        k = tuple(g.key.get(f) for f in self.keys) if self.keys else tuple(g.key.values())
        return k[0] if len(k) == 1 else k

    def _rows(self, g, ctx):
        sel = self.by.get(self._key(g), self.by.get("*"))  # "*": the same selection for every group
        return None if sel is None else ctx["_rows"].select(sel)

    def value(self, g, ctx):
        rows = self._rows(g, ctx)
        vs = [float(get(r, self.field)) for r in rows or [] if isinstance(get(r, self.field), (int, float))]
        return statistics.fmean(vs) if vs else None

    def cell(self, g, ctx):
        rows = self._rows(g, ctx)
        key = self._key(g)
        note = self.note.get(key, "")
        if not rows:
            if key in self.rerun:
                return f"{NOT_BACKED} `{self.rerun[key]}`"
            return note or "—"
        sub = Group(key=g.key, rows=rows)
        _check_seeds(sub)
        if self.fmt == "mean":
            text = Mean(header="", field=self.field, sig=self.sig).cell(sub, ctx)
        elif self.fmt == "s":
            text = seconds(self.value(g, ctx))
        else:
            text = num(self.value(g, ctx), self.sig)
        return f"{text}{', ' + note if note else ''}"


@dataclass(frozen=True)
class Cell(Column):
    """Escape hatch: ``fn(group) -> str``."""

    fn: Callable[[Group], str] = lambda g: ""

    def cell(self, g, ctx):
        return self.fn(g) if g.rows else "—"


# ------------------------------------------------------------------------------------------------ specs
@dataclass(frozen=True)
class Row:
    """One explicit row of a Table: its label, selection, the seeds it should have, and the command that
    produces it (shown where the committed rows do not have it)."""

    label: str
    select: Select
    rerun: str = ""
    seeds: tuple = ()


@dataclass(frozen=True)
class Table:
    """A Markdown table: groups of ``select`` by ``group_by`` (or the explicit ``rows``), one line each."""

    columns: tuple[Column, ...]
    select: Select | tuple[Select, ...] | None = None
    group_by: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    order: Mapping[str, Sequence[Any]] = dataclasses.field(default_factory=dict)
    seed_field: str = "seed"
    note: str = ""
    rerun: str = ""  # shown instead of the table while no committed row matches

    def groups(self, data: Rows) -> list[Group]:
        if self.rows:
            out = []
            for r in self.rows:
                rows = data.select(r.select)
                have = {seed_of(x, self.seed_field) for x in rows}
                out.append(Group(key={}, rows=rows, label=r.label, rerun=r.rerun, seed_field=self.seed_field,
                                 missing_seeds=tuple(s for s in r.seeds if s not in have)))
            return out
        sels = self.select if isinstance(self.select, tuple) else (self.select,)
        rows = [r for s in sels for r in data.select(s)]
        groups: dict[tuple, Group] = {}
        for r in rows:
            k = tuple(_hashable(get(r, f)) for f in self.group_by)
            groups.setdefault(k, Group(key=dict(zip(self.group_by, k)), rows=[], seed_field=self.seed_field))
            groups[k].rows.append(r)
        keys = list(groups)

        def rank(k: tuple) -> tuple:
            out = []
            for f, v in zip(self.group_by, k):
                wanted = list(self.order.get(f, ()))
                out.append(wanted.index(v) if v in wanted else len(wanted))
            return (*out, keys.index(k))

        return [groups[k] for k in sorted(keys, key=rank)]

    def sources(self) -> list[Select]:
        if self.rows:
            return [r.select for r in self.rows]
        return list(self.select) if isinstance(self.select, tuple) else [self.select]

    def render(self, data: Rows) -> str:
        groups = self.groups(data)
        if not groups and self.rerun:
            return f"{NOT_BACKED} `{self.rerun}`"
        if not groups:
            raise RenderError("no rows match " + "; ".join(s.describe() for s in self.sources()))
        head = [c.header for c in self.columns]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for g in groups:
            _check_seeds(g)
            ctx: dict[str, Any] = {"_rows": data}
            cells = []
            for i, c in enumerate(self.columns):
                if not g.rows and i > 0:
                    cells.append(f"{NOT_BACKED} `{g.rerun}`" if i == 1 else "—")
                    continue
                if c.id:
                    ctx[c.id] = c.value(g, ctx)
                cells.append(c.cell(g, ctx))
            lines.append("| " + " | ".join(_escape(x) for x in cells) + " |")
        notes = []
        for g in groups:
            if g.rows and g.missing_seeds:
                notes.append(f"- {g.label}: seed{'s' if len(g.missing_seeds) > 1 else ''} "
                             f"{', '.join(map(str, g.missing_seeds))} {NOT_BACKED} `{g.rerun}`")
        return "\n".join(lines + ([""] + notes if notes else []))

    def caption(self) -> str:
        files = sorted({s.path for s in self.sources()})
        text = (f"*Generated by `{COMMAND}` from " + ", ".join(f"`{f}`" for f in files)
                + "; do not edit by hand. n = runs (seeds) behind a mean; ± = sample standard deviation.*")
        if not getattr(self, "rows", ()):
            text += "\n*Rows: " + "; ".join(s.describe() for s in self.sources()) + ".*"
        return text + (f"\n{self.note}" if self.note else "")


@dataclass(frozen=True)
class Pivot:
    """Cases down, configurations across: each cell mean ± std (n, mean wall s) [paper]; the lowest mean of each
    line in bold, and a last column saying whether its margin over the runner-up exceeds the seed spread."""

    select: Select
    index: str
    columns: str
    index_order: Sequence[Any] = ()
    column_order: Sequence[Any] = ()
    index_labels: Mapping[Any, str] = dataclasses.field(default_factory=dict)
    paper: Mapping[tuple, float] = dataclasses.field(default_factory=dict)
    field: str = "rel_l2"
    note: str = ""

    def render(self, data: Rows) -> str:
        rows = data.select(self.select)
        if not rows:
            raise RenderError("no rows match " + self.select.describe())
        idx = _ordered({get(r, self.index) for r in rows}, self.index_order, rows, self.index)
        cols = _ordered({get(r, self.columns) for r in rows}, self.column_order, rows, self.columns)
        lines = ["| case | " + " | ".join(map(str, cols)) + " | lowest mean: margin over the next vs spread |",
                 "|---|" + "---|" * (len(cols) + 1)]
        for i in idx:
            stats = {}
            for c in cols:
                g = Group(key={}, rows=[r for r in rows if get(r, self.index) == i and get(r, self.columns) == c])
                _check_seeds(g)
                vs = g.values(self.field)
                if vs:
                    stats[c] = (statistics.fmean(vs), statistics.stdev(vs) if len(vs) > 1 else None, g)
            best = min(stats, key=lambda c: stats[c][0]) if stats else None
            cells = []
            for c in cols:
                if c not in stats:
                    cells.append("")
                    continue
                m, s, g = stats[c]
                wall = statistics.fmean(g.values("wall_s")) if g.values("wall_s") else None
                text = num(m, 2)
                text = f"**{text}**" if c == best else text
                text += (f" ± {num(s, 2)}" if s is not None else "") + f" (n={g.n}, {seconds(wall)} s)"
                if (i, c) in self.paper:
                    text += f" [{num(self.paper[i, c], 2)}]"
                cells.append(text)
            lines.append(f"| {self.index_labels.get(i, i)} | " + " | ".join(cells) + f" | {_margin(stats, best)} |")
        return "\n".join(lines)

    def sources(self) -> list[Select]:
        return [self.select]

    caption = Table.caption


def _margin(stats: dict, best: Any) -> str:
    if best is None or len(stats) < 2:
        return "—"
    m, s, _ = stats[best]
    nxt = min((c for c in stats if c != best), key=lambda c: stats[c][0])
    m2, s2, _ = stats[nxt]
    if s is None or s2 is None:
        return f"{best} vs {nxt}: one seed, no spread to compare"
    spread = max(s, s2)
    verdict = "larger" if m2 - m > spread else "not larger"
    return f"{best} vs {nxt}: {num(m2 - m, 2)} {verdict} than the spread {num(spread, 2)}"


@dataclass(frozen=True)
class Value:
    """One inline figure: ``fn(rows)`` over the selection(s) (default: mean ± std (n) of rel L2)."""

    select: Select | tuple[Select, ...]
    fn: Callable[[list[list[dict]]], str] | None = None
    rerun: str = ""
    sig: int = 2

    def render(self, data: Rows) -> str:
        sels = self.select if isinstance(self.select, tuple) else (self.select,)
        got = [data.select(s) for s in sels]
        if not all(got):
            if self.rerun:
                return f"({NOT_BACKED} `{self.rerun}`)"
            raise RenderError("no rows match " + "; ".join(s.describe() for s in sels))
        if self.fn is not None:
            return self.fn(got)
        return Mean(sig=self.sig).cell(Group(key={}, rows=got[0]), {})


def _ordered(values: set, order: Sequence[Any], rows: list[dict], f: str) -> list:
    seen = list(dict.fromkeys(get(r, f) for r in rows))
    return [v for v in order if v in values] + [v for v in seen if v not in order]


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _check_seeds(g: Group) -> None:
    seeds = [seed_of(r, g.seed_field) for r in g.rows]
    dup = {s for s in seeds if s is not None and seeds.count(s) > 1}
    if dup:
        raise RenderError(f"{g.label or g.key}: more than one row for seed {sorted(dup)} — the filter is too wide")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------------------------------------ documents
def render_section(name: str, data: Rows, sections: Mapping[str, Any]) -> tuple[str, bool]:
    """(text, inline) of section ``name``."""
    if name not in sections:
        raise RenderError(f"no spec for generated section {name!r} (known: {', '.join(sorted(sections))})")
    spec = sections[name]
    if isinstance(spec, Value):
        return spec.render(data), True
    return f"{spec.caption()}\n\n{spec.render(data)}", False


def rewrite(text: str, data: Rows, sections: Mapping[str, Any], where: str = "") -> tuple[str, list[str], list[str]]:
    """(new text, names of the sections found, names of those whose content changed)."""
    out, pos, found, changed = [], 0, [], []
    while True:
        b = BEGIN.search(text, pos)
        stray = END.search(text, pos)
        if b is None:
            if stray is not None:
                raise RenderError(f"{where}: END marker for {stray.group(1)!r} without a BEGIN")
            break
        if stray is not None and stray.start() < b.start():
            raise RenderError(f"{where}: END marker for {stray.group(1)!r} without a BEGIN")
        name = b.group(1)
        e = END.search(text, b.end())
        nb = BEGIN.search(text, b.end())
        if e is None or (nb is not None and nb.start() < e.start()):
            raise RenderError(f"{where}: BEGIN marker for {name!r} has no END before the next section")
        if e.group(1) != name:
            raise RenderError(f"{where}: BEGIN {name!r} closed by END {e.group(1)!r}")
        body = text[b.end():e.start()]
        try:
            rendered, inline = render_section(name, data, sections)
        except RenderError as exc:
            raise RenderError(f"{where}: section {name!r}: {exc}") from None
        if inline == ("\n" in body):
            raise RenderError(f"{where}: section {name!r} must be {'inline (one line)' if inline else 'a block'}")
        new = rendered if inline else f"\n{rendered}\n"
        if new != body:
            changed.append(name)
        out += [text[pos:b.end()], new, e.group(0)]
        pos = e.end()
        found.append(name)
    out.append(text[pos:])
    return "".join(out), found, changed


def find_root(start: Path) -> Path:
    for p in (start, *start.parents):
        if (p / RESULTS).is_dir() and (p / "README.md").is_file():
            return p
    raise RenderError(f"no repository root (with {RESULTS}/ and README.md) at or above {start}")


def run(root: Path, *, check: bool, sections: Mapping[str, Any] | None = None,
        documents: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Render (or with ``check`` only compare) every generated section of ``documents``; returns (the sections
    that differ as ``doc:name``, the specs no document uses)."""
    if sections is None:
        sections = SECTIONS
    if documents is None:
        documents = DOCUMENTS
    data = Rows(root)
    differ, used = [], set()
    for doc in documents:
        path = Path(root) / doc
        text = path.read_text(encoding="utf-8")
        new, found, changed = rewrite(text, data, sections, where=doc)
        used.update(found)
        differ += [f"{doc}: {n}" for n in changed]
        if changed and not check:
            tmp = path.with_name(f".{path.name}.render.tmp")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(path)
    return differ, sorted(set(sections) - used)


# ======================================================================================================= sections
# The sections of README.md and docs/benchmarks.md. A rerun command is the one that writes the missing raw rows
# (``benchmarks/*.py --jsonl``, or ``benchmarks/run_row.py`` around ``pinnsight train``).

ENV = "OPENBLAS_NUM_THREADS=1 "


def _recipe(label: str, args: str, sub: str = "") -> tuple[Select, str]:
    """A ``pinnsight train`` run recorded as one row of ``benchmarks/results/recipes.jsonl``."""
    cmd = (f"{ENV}python3 benchmarks/run_row.py --jsonl benchmarks/results/recipes.jsonl --label {label}"
           + (f" --subcommand {sub}" if sub else "") + f" -- {args}")
    return Select("recipes", {"label": label}), cmd


def _balancing(case: str, row: str, seeds: str) -> str:
    return (f"{ENV}python3 benchmarks/balancing.py --cases {case} --rows {row} --seeds {seeds} "
            "--jsonl benchmarks/results/balancing.jsonl")


def _r(label: str, recipe: tuple[Select, str], seeds: tuple = ()) -> Row:
    return Row(label, recipe[0], recipe[1], seeds)


def _last_phase(g: Group) -> str:
    lp = g.rows[0]["last_phase"]
    per_it = lp["wall_s"] / lp["steps"] if lp["steps"] else float("nan")
    return f"{lp['name']}: {lp['steps']}, {lp['stop']}, {per_it:.3g}"


def _s_per_it(phase: str) -> Callable[[Group], str]:
    def fn(g: Group) -> str:
        vs = [get(r, f"s_per_it.{phase}") for r in g.rows]
        vs = [v for v in vs if isinstance(v, (int, float))]
        return f"{statistics.fmean(vs):.3g}" if vs else "—"
    return fn


def _family_values(g: Group) -> str:
    r = g.rows[0]
    return ", ".join(f"{r.get('param', '')}={x['value']:g}: {num(x['rel_l2'], 2)}" for x in r["rows"])


def _new_value_cost(g: Group) -> str:
    r = g.rows[0]
    if r["method"] != "hard-constraint":
        return "a new training"
    ms = sorted(1e3 * x["solve_s"] for x in r["rows"])
    span = f"{ms[0]:.0f} ms" if f"{ms[0]:.0f}" == f"{ms[-1]:.0f}" else f"{ms[0]:.0f}–{ms[-1]:.0f} ms"
    return f"{span} warm solve (first call {r['first_solve_s']:.1f} s)"


def _weights_seed0(g: Group) -> str:
    row = next((r for r in g.rows if r.get("seed") == 0), g.rows[0])
    fw = {k[:-7]: v for k, v in row.get("final_weights", {}).items() if k != "res_weight"}
    return ", ".join(f"{k} {num(v, 3)}" for k, v in fw.items()) or "—"


def _remedies(g: Group) -> str:
    specs = g.rows[0].get("remedies") or []
    return ", ".join(f"`{s}`" for s in specs) or "—"


def _auto_findings(g: Group) -> str:
    """The probe's findings; per seed (in seed order) where the seeds' probes read differently."""
    rows = sorted(g.rows, key=lambda r: r.get("seed", 0))
    each = [", ".join(r.get("findings") or ()) or "none" for r in rows]
    if len(set(each)) == 1:
        return f" (findings: {each[0]})" if rows[0].get("findings") else ""
    seeds = " / ".join(str(r.get("seed", 0)) for r in rows)
    return f" (findings, seeds {seeds}: {' / '.join(each)})"


def _auto_choice(g: Group) -> str:
    r = g.rows[0]
    text = " + ".join(f"`{s}`" for s in r.get("remedies") or []) or "no remedy"
    return text + (f", recipe `{r['recipe']}`" if r.get("recipe") else "") + (
        ", `--symmetric`" if r.get("symmetric") else "") + _auto_findings(g)


# -------------------------------------------------------------------------------- issue 5: optimizer tables
OPT_SETUP = {"setup.adam": 1000, "setup.second": 300, "setup.model": "mlp:width=20,depth=3", "setup.points": "",
             "setup.curriculum": ""}
OPT_ORDER = {"case": ["convection-30", "convection-40", "reaction-5", "helmholtz", "burgers"],
             "sequence": ["adam:steps=1300", "adam+lbfgs", "adam+bfgs", "adam+ssbroyden", "adam+gauss-newton",
                          "adam+natural-gradient", "adam+newton-cg"]}
#: Rathore et al. (ICML 2024), best over widths (benchmarks/optimizers.py PAPER), for the same phase sequence
RATHORE = {("convection-40", "adam+lbfgs"): 4.19e-3, ("reaction-5", "adam+lbfgs"): 1.92e-2}


def _optimizer_table(dtype: str) -> Table:
    return Table(
        select=Select("optimizers", {"dtype": dtype, **OPT_SETUP}), group_by=("case", "sequence"),
        seed_field="setup.seed", order=OPT_ORDER,
        columns=(Label("case", fields=("case",)), Label("sequence", fields=("sequence",)),
                 Mean("rel L2 (n)", id="ours", sig=3), Stat("wall s"),
                 Cell("last phase: iterations, stop, s/it", fn=_last_phase),
                 Const("paper, same sequence (Rathore et al. 2024)", id="paper", by=RATHORE, keys=("case", "sequence")),
                 Ratio("ours / paper", num="ours", den="paper")))


OPT_SHORT_CMD = ("python3 benchmarks/optimizers.py --cases convection-10,reaction-5 --dtypes float64 --sequences "
                 "adam:steps=1200,adam+lbfgs,adam+bfgs,adam+ssbroyden,adam+gauss-newton,adam+natural-gradient,"
                 "adam+newton-cg --adam 1000 --second 200 --model mlp:width=20,depth=3 --points res=1000 "
                 "--jsonl benchmarks/results/optimizers_short.jsonl")

CURR_CMD = ("python3 benchmarks/optimizers.py --cases convection-30 --dtypes float64 --sequences {seq} --curriculum "
            "1/5/10/15/20/25 --second {n} --model periodic:width=20,depth=3 --points res=1500,ic=256 "
            "--jsonl benchmarks/results/optimizers_curriculum.jsonl")


def _curriculum_row(label: str, seq: str, n: int) -> Row:
    return Row(label, Select("optimizers_curriculum", {"sequence": seq, "setup.second": n,
                                                        "setup.curriculum": "1/5/10/15/20/25"}),
               ENV + CURR_CMD.format(seq=seq, n=n), seeds=(0,))


CONVECTION_LM = "convection -p beta={b} --x64 --model periodic:width=20,depth=3 --points res=1500 --points ic=256 "

# ------------------------------------------------------------------------------ issue 4: remedies tables
REMEDY_CASES = ["convection-20", "convection-30", "convection-40", "convection-50", "reaction-5", "reaction-10",
                "rd-3-5", "rd-5-5"]
CASE_LABELS = {"convection-20": "convection β=20", "convection-30": "convection β=30",
               "convection-40": "convection β=40", "convection-50": "convection β=50", "reaction-5": "reaction ρ=5",
               "reaction-10": "reaction ρ=10", "rd-3-5": "RD ν=3, ρ=5", "rd-5-5": "RD ν=5, ρ=5",
               "helmholtz": "Helmholtz", "klein-gordon": "Klein–Gordon", "allen-cahn": "Allen–Cahn", "wave": "wave",
               "burgers": "Burgers"}
#: the papers' rel L2 (benchmarks/remedies.py PAPER): curriculum (Krishnapriyan et al. 2021, Table 1), seq2seq
REMEDY_PAPER = {("convection-20", "curriculum"): 9.8e-3, ("convection-30", "curriculum"): 2.0e-2,
                ("convection-40", "curriculum"): 5.3e-2, ("reaction-5", "seq2seq"): 7e-2,
                ("reaction-10", "seq2seq"): 7e-2, ("rd-3-5", "seq2seq"): 1.6e-2, ("rd-5-5", "seq2seq"): 2.4e-2}
PAPERS_REMEDY = {"convection-20": ("curriculum", 9.8e-3), "convection-30": ("curriculum", 2.0e-2),
                 "convection-40": ("curriculum", 5.3e-2), "reaction-5": ("seq2seq", 7e-2),
                 "reaction-10": ("seq2seq", 7e-2), "rd-3-5": ("seq2seq", 1.6e-2), "rd-5-5": ("seq2seq", 2.4e-2)}

# ------------------------------------------------------------------------------ issue 6: loss balancing
BAL_LABELS = {"vanilla": "vanilla", "lra": "lra (paper's formula)", "lra-code": "lra-code (authors' update)",
              "lra-layers": "lra-layers (authors' code whole)", "modified-mlp": "modified MLP",
              "lra+modified-mlp": "lra (paper's formula) + modified MLP",
              "lra-code+modified-mlp": "lra-code + modified MLP",
              "lra-layers+modified-mlp": "lra-layers + modified MLP",
              "ntk": "ntk (every 1000)", "inverse-dirichlet": "inverse-dirichlet",
              "adam+natural-gradient": "Adam → natural gradient (float64, 3 × 30)"}
BAL_ORDER = ["vanilla", "lra", "lra-code", "lra-layers", "modified-mlp", "lra+modified-mlp", "lra-code+modified-mlp",
             "lra-layers+modified-mlp", "ntk", "inverse-dirichlet", "adam+natural-gradient"]
#: Wang, Teng & Perdikaris 2021, Tables 2 / 3 (40000 Adam steps; benchmarks/balancing.py CASES[...].paper)
WTP = {"helmholtz": {"vanilla": 1.06e-1, "lra": 1.12e-2, "lra-code": 1.12e-2, "lra-layers": 1.12e-2,
                     "modified-mlp": 2.46e-2, "lra+modified-mlp": 3.87e-3, "lra-code+modified-mlp": 3.87e-3,
                     "lra-layers+modified-mlp": 3.87e-3},
       "klein-gordon": {"vanilla": 1.79e-1, "lra": 1.06e-2, "lra-code": 1.06e-2, "lra-layers": 1.06e-2,
                        "modified-mlp": 1.97e-2, "lra+modified-mlp": 2.81e-3, "lra-code+modified-mlp": 2.81e-3,
                        "lra-layers+modified-mlp": 2.81e-3}}
WTP_BY = {(c, r): v for c, rows in WTP.items() for r, v in rows.items()}
WTP_BEST = {"helmholtz": 3.87e-3, "klein-gordon": 2.81e-3}  # lra + modified MLP


def _bal_label(g: Group) -> str:
    text = BAL_LABELS.get(g.key["row"], g.key["row"])
    if g.key.get("normalize") == 1:
        text += " [norm]"
    if g.key.get("variant"):
        text += f" ({g.key['variant']})"
    return text


NG_SELECT = {"row": "adam+natural-gradient", "adam": 1000}
WAVE_W = "--weight ic=100 --weight ic_t=100 --weight bc=100"

WAVE_1W = ("wave --x64 --model mlp:width={w},depth=3 {weights}--optimizer adam:steps=1000,lr=1e-3 "
           "--optimizer natural-gradient:steps={n}")
AC_1W = ("allen-cahn --x64 --model periodic:width=30,depth=3 {pts}--optimizer adam:steps=1000,lr=1e-3 "
         "--optimizer natural-gradient:steps={n}{rem}")
AC_MARCH = ("allen-cahn --x64 --model periodic:width=30,depth=3{h} --points res=2000 {w}--optimizer "
            "adam:steps=500,lr=1e-3 --optimizer natural-gradient:steps={n} --remedy seq2seq:windows={k}{rem}")
WAVE_MARCH = ("wave --x64 --model mlp:width={w},depth=3 " + WAVE_W + " {pts}--optimizer adam:steps={a} "
              "--optimizer natural-gradient:steps={n} --seed {s}")

# ------------------------------------------------------------------------------ issue 8: hard constraints
HARD_SOFT = (f"{ENV}python3 benchmarks/hard_constraint.py --methods vanilla,best --adam 1000 --lbfgs 100 "
             "--json benchmarks/results/hard_soft.jsonl")
HARD_MLP = (f"{ENV}python3 benchmarks/hard_constraint.py --methods hard --basis mlp --hard-steps "
            "convection=600,diffusion=400,helmholtz=400 --hard-points 500 --json benchmarks/results/hard_mlp.jsonl")


def _hard_rows(case: str, family: str, best: str, best_label: str) -> tuple[Row, ...]:
    short = family.split(" ")[0]
    return (Row(f"{family}: hard-constraint, tensor basis", Select("hard_tensor", {"case": case}),
                f"{ENV}python3 benchmarks/hard_constraint.py --cases {case} --methods hard --json "
                "benchmarks/results/hard_tensor.jsonl"),
            Row(f"{short}: hard-constraint, single-network basis", Select("hard_mlp", {"case": case}), HARD_MLP),
            Row(f"{short}: soft PINN", Select("hard_soft", {"case": case, "method": "soft:vanilla"}), HARD_SOFT),
            Row(f"{short}: soft + {best_label}", Select("hard_soft", {"case": case, "method": f"soft:{best}"}),
                HARD_SOFT))


# ------------------------------------------------------------------------------ issue 7: auto
AUTO_ORDER = ["convection-30", "convection-40", "reaction-10", "rd-5-5", "helmholtz", "allen-cahn", "burgers",
              "klein-gordon"]
LM = "curriculum+lm"
AUTO_SAME = {  # the recipe auto adopted, run by hand at the same seed (0)
    "reaction-10": Select("remedies_lm", {"case": "reaction-10", "remedy": LM, "seed": 0}),
    "helmholtz": Select("records", {"label": "helmholtz-rad500-ssb8k-s0"}),
}
AUTO_SAME_NOTE = {"helmholtz": "the same on 4000 points (auto: 10 000)",
                  "reaction-10": "the same on the periodic 3 × 20 (auto: plain, for the seam kink)",
                  **{c: "no hand run of auto's recipe" for c in ("convection-30", "convection-40", "rd-5-5",
                                                              "allen-cahn", "burgers", "klein-gordon")}}
AUTO_BEST = {  # the best configuration docs/benchmarks.md reports for the case, all its seeds
    "convection-30": Select("remedies_lm", {"case": "convection-30", "remedy": LM}),
    "convection-40": Select("remedies_lm", {"case": "convection-40", "remedy": "curriculum+lm500"}),
    "reaction-10": Select("remedies_lm", {"case": "reaction-10", "remedy": LM}),
    "rd-5-5": Select("remedies_lm", {"case": "rd-5-5", "remedy": LM}),
    "helmholtz": Select("records", {"label": tuple(f"helmholtz-rad500-ssb16k-s{k}" for k in (0, 1, 2))}),
    "allen-cahn": Select("records", {"label": tuple(f"allen-cahn-seam-root-seq2seq4-ssb6k-s{k}" for k in (0, 1, 2))}),
    "burgers": Select("records", {"label": tuple(f"burgers-sym-rad500-ssb24k-s{k}" for k in (0, 1, 2))}),
    "klein-gordon": Select("balancing", {"case": "klein-gordon", **NG_SELECT}),
}
AUTO_BEST_NOTE = {"convection-40": "500 LM iterations per stage",
                  "helmholtz": "recipes/helmholtz-record.toml: 4000 points, RAD every 500 inside Adam 2000 + "
                               "SSBroyden 16 000, 539–624 s",
                  "allen-cahn": "recipes/allen-cahn-record.toml: 4 windows of Adam 1000 + SSBroyden 6000, 3 harmonics "
                                "with a √t input and the seam-kink input, 1109–1210 s",
                  "burgers": "recipes/burgers-symmetric-record.toml: odd in x, 5000 points, RAD every 500 inside "
                             "Adam 2000 + SSBroyden 24 000, 1164–2729 s",
                  "klein-gordon": "Adam 1000 → natural gradient 500, 3 × 30"}


def _case_means(rows: list[dict]) -> dict[str, float]:
    """Mean rel L2 per case over its rows (seeds), as the tables show it."""
    by: dict[str, list[float]] = {}
    for r in rows:
        by.setdefault(r["case"], []).append(r["rel_l2"])
    return {c: statistics.fmean(v) for c, v in by.items()}


def _vanilla_over_auto(got: list[list[dict]]) -> str:
    van, auto = _case_means(got[0]), _case_means(got[1])
    ratios = [van[c] / auto[c] for c in auto if c in van]
    return f"{times(min(ratios))}–{times(max(ratios))}"


def _auto_over_best(got: list[list[dict]]) -> str:
    """auto / best reported configuration per case: the largest ratio within 2×, on how many cases, the others."""
    auto = _case_means(got[0])
    ratios = {c: auto[c] / statistics.fmean(r["rel_l2"] for r in rows) for c, rows in zip(AUTO_ORDER, got[1:])
              if c in auto}
    near = [v for v in ratios.values() if v <= 2]
    far = [f"{times(v)} on {CASE_LABELS[c]}" for c, v in ratios.items() if v > 2]
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}
    text = f"{times(max(near))} on {words.get(len(near), len(near))} of {words.get(len(ratios), len(ratios))} cases"
    return text + (f"; {', '.join(far)}" if far else "")


# ------------------------------------------------------------------------------ README headline recipes
CONV30_FINAL3 = _recipe("convection-30-final3", CONVECTION_LM.format(b=30)
                        + "--remedy curriculum:start=1,stages=7,final_steps=3 --optimizer gauss-newton:steps=300")
CONV50_FINAL3 = _recipe("convection-50-final3", CONVECTION_LM.format(b=50)
                        + "--remedy curriculum:start=1,stages=8,final_steps=3 --optimizer gauss-newton:steps=400")
AC_RAD = _recipe("allen-cahn-ng1000-res4000-rad", AC_1W.format(pts="--points res=4000 ", n=1000,
                                                              rem=" --remedy rad:every=100 --eval-every 100"))
README_ROWS = (
    _r("convection β = 50: curriculum 1 → 50 in 8 stages, LM 400 per stage, last stage ×3",
       CONV50_FINAL3, (0,)),
    _r("convection β = 30: curriculum 1 → 30 in 7 stages, LM 300 per stage, last stage ×3",
       CONV30_FINAL3, (0,)),
    Row("Helmholtz: Adam 1000 → natural gradient 500, 3 × 30", Select("ng_woodbury", {"case": "helmholtz"}),
        f"{ENV}python3 benchmarks/balancing.py --cases helmholtz --rows adam+natural-gradient --seeds 0,1,2 "
        "--jsonl benchmarks/results/ng_woodbury.jsonl", (0, 1, 2)),
    Row("Klein–Gordon: the same recipe", Select("ng_woodbury", {"case": "klein-gordon"}),
        f"{ENV}python3 benchmarks/balancing.py --cases klein-gordon --rows adam+natural-gradient --seeds 0,1,2 "
        "--jsonl benchmarks/results/ng_woodbury.jsonl", (0, 1, 2)),
    Row("Allen–Cahn: 4 windows of Adam 500 → NG 450, IC weight 100, 3 harmonics",
        Select("balancing", {"case": "allen-cahn", "row": "seq2seq+natural-gradient-450-h3"}),
        _balancing("allen-cahn", "seq2seq+natural-gradient-450-h3", "0,1,2"), (0, 1, 2)),
    Row("wave: 3 windows of Adam 500 → NG 1000, data terms weighted 100, 3 × 40",
        Select("balancing", {"case": "wave", "row": "seq2seq3+natural-gradient-weighted"}),
        _balancing("wave", "seq2seq3+natural-gradient-weighted", "2"), (0, 1, 2)),
    Row("wave: the same in 2 windows",
        Select("balancing", {"case": "wave", "row": "seq2seq+natural-gradient-weighted"}),
        _balancing("wave", "seq2seq+natural-gradient-weighted", "0,1,2"), (0, 1, 2)),
)
README_PUBLISHED = {README_ROWS[2].label: 3.87e-3, README_ROWS[3].label: 2.81e-3, README_ROWS[4].label: 1.39e-4,
                    README_ROWS[5].label: 1.7e-3, README_ROWS[6].label: 1.7e-3}
README_SOURCE = {README_ROWS[2].label: "lra + modified MLP, 40000 Adam steps (Wang, Teng & Perdikaris 2021)",
                 README_ROWS[3].label: "the same",
                 README_ROWS[4].label: "causal training + modified MLP (Wang, Sankaran & Perdikaris 2022)",
                 README_ROWS[5].label: "NTK weights, 3 × 500 (Wang, Yu & Perdikaris 2022)",
                 README_ROWS[6].label: "the same"}

MOON_R5 = "reaction ρ = 5: `periodic:width=20,depth=3`, Adam 1000 + NG 1000"
MOON_C30 = "convection β = 30: curriculum 1/5/10/15/20/25 → 30 + LM 500 per stage"
MOON_HH = "Helmholtz: 3 × 30, Adam 1000 + NG 500"
AC_BEST = "**4 windows, NG 450, `--weight ic=100`, 3 harmonics** (row `seq2seq+natural-gradient-450-h3`)"
WAVE_2W = "**2 windows** (row `seq2seq+natural-gradient-weighted`)"
WAVE_3W = "**3 windows** (row `seq2seq3+natural-gradient-weighted`)"

WOOD_0 = {"wave, 3 × 40": _recipe("wave-ng100-woodbury0", f"wave --x64 --model mlp:width=40,depth=3 {WAVE_W} "
                                  "--optimizer adam:steps=10 --optimizer natural-gradient:steps=100,woodbury=0"),
          "Helmholtz, 3 × 30": _recipe("helmholtz-ng100-woodbury0", "helmholtz --x64 --model mlp:width=30,depth=3 "
                                       "--optimizer adam:steps=10 --optimizer natural-gradient:steps=100,woodbury=0")}
WOOD_1 = {"wave, 3 × 40": _recipe("wave-ng100-woodbury1", f"wave --x64 --model mlp:width=40,depth=3 {WAVE_W} "
                                  "--optimizer adam:steps=10 --optimizer natural-gradient:steps=100,woodbury=1"),
          "Helmholtz, 3 × 30": _recipe("helmholtz-ng100-woodbury1", "helmholtz --x64 --model mlp:width=30,depth=3 "
                                       "--optimizer adam:steps=10 --optimizer natural-gradient:steps=100,woodbury=1")}


SECTIONS: dict[str, Table | Pivot | Value] = {
    # ---------------------------------------------------------------- README
    "readme-recipes": Table(
        rows=README_ROWS,
        columns=(Label("recipe (commands below)"), Seeds(sig=3), Mean(id="ours"),
                 Stat("wall s (range; 2 CPU cores, load varies)", how="range"),
                 Const("best published", id="paper", by=README_PUBLISHED),
                 Ratio("published / ours", num="paper", den="ours"), Const("published by", by=README_SOURCE))),
    "readme-auto-vs-vanilla": Value(
        (Select("auto_medium", {"label": "vanilla", "size": "medium"}),
         Select("auto_medium", {"label": "auto-second-order", "size": "medium"})), fn=_vanilla_over_auto),
    "readme-auto-vs-best": Value(
        (Select("auto_medium", {"label": "auto-second-order", "size": "medium"}),
         *(AUTO_BEST[c] for c in AUTO_ORDER)), fn=_auto_over_best),
    # ---------------------------------------------------------------- issue 5
    "optimizers-float64": _optimizer_table("float64"),
    "optimizers-float32": _optimizer_table("float32"),
    "optimizers-short": Table(
        select=Select("optimizers_short", {"setup.adam": 1000, "setup.second": 200}), group_by=("case", "sequence"),
        seed_field="setup.seed", rerun=OPT_SHORT_CMD,
        columns=(Label("case", fields=("case",)), Label("sequence", fields=("sequence",)), Mean("rel L2 (n)", sig=3),
                 Stat("wall s"), Cell("last phase: iterations, stop, s/it", fn=_last_phase))),
    "convection-curriculum": Table(
        rows=(_curriculum_row("β = 30, stages 1/5/10/15/20/25 → 30, natural gradient 300 per stage",
                              "natural-gradient", 300),
              _curriculum_row("β = 30, the same stages, LM 300 per stage", "gauss-newton", 300),
              _curriculum_row("β = 30, the same stages, LM 500 per stage", "gauss-newton", 500),
              _r("β = 30, 7 stages from 1, LM 300 per stage, last stage ×3",
                 CONV30_FINAL3, (0,)),
              _r("β = 50, 11 stages from 1, LM 500 per stage",
                 _recipe("convection-50-11x500", CONVECTION_LM.format(b=50)
                         + "--remedy curriculum:start=1,stages=11 --optimizer gauss-newton:steps=500"), (0,)),
              _r("β = 50, 8 stages from 1, LM 450 per stage",
                 _recipe("convection-50-8x450", CONVECTION_LM.format(b=50)
                         + "--remedy curriculum:start=1,stages=8 --optimizer gauss-newton:steps=450"), (0,)),
              _r("β = 50, 8 stages from 1, LM 400 per stage, last stage ×3",
                 CONV50_FINAL3, (0,))),
        columns=(Label("configuration (float64, periodic 3 × 20, 1500 + 256 points, seed 0)"),
                 Mean("rel L2 (n)", sig=3),
                 Stat("wall s"))),
    "moonshot": Table(
        rows=(_r(MOON_R5,
                 _recipe("reaction-5-ng1000-periodic", "reaction -p rho=5 --x64 --model periodic:width=20,depth=3 "
                         "--optimizer adam:steps=1000 --optimizer natural-gradient:steps=1000"), (0,)),
              _r("reaction ρ = 5: the same, 4000 residual points",
                 _recipe("reaction-5-ng1000-periodic-res4000", "reaction -p rho=5 --x64 --model "
                         "periodic:width=20,depth=3 --points res=4000 --optimizer adam:steps=1000 --optimizer "
                         "natural-gradient:steps=1000"), (0,)),
              _r("reaction ρ = 5: `mlp:width=20,depth=3`, Adam 1000 + NG 1000",
                 _recipe("reaction-5-ng1000-mlp", "reaction -p rho=5 --x64 --model mlp:width=20,depth=3 "
                         "--optimizer adam:steps=1000 --optimizer natural-gradient:steps=1000"), (0,)),
              _r("reaction ρ = 5: periodic 3 × 20, `--weight ic=1000`, Adam 1000 + NG 1000",
                 _recipe("reaction-5-ng1000-periodic-ic1000", "reaction -p rho=5 --x64 --model "
                         "periodic:width=20,depth=3 --weight ic=1000 --optimizer adam:steps=1000 --optimizer "
                         "natural-gradient:steps=1000"), (0,)),
              _curriculum_row(MOON_C30, "gauss-newton", 500),
              _r("convection β = 30: 7 stages, LM 300 per stage, last stage ×3",
                 CONV30_FINAL3, (0,)),
              _r("convection β = 50: 8 stages, LM 400 per stage, last stage ×3",
                 CONV50_FINAL3, (0,)),
              Row(MOON_HH, Select("balancing", {"case": "helmholtz", **NG_SELECT}),
                  _balancing("helmholtz", "adam+natural-gradient", "0,1,2"), (0, 1, 2))),
        columns=(Label("case: configuration (float64)"), Seeds(), Mean(sig=2), Stat("wall s (range)", how="range"),
                 Const("target", by={MOON_R5: "≤ 1e-5 in 15 min", MOON_C30: "≤ 1e-5", MOON_HH: "≤ 1e-4"}))),
    # ---------------------------------------------------------------- issue 4
    "remedies-issue4": Pivot(
        select=Select("remedies_std"), index="case", columns="remedy", index_order=REMEDY_CASES,
        column_order=["vanilla", "curriculum", "seq2seq", "causal", "adaptive-sampling", "rar", "rad",
                      "combo-curriculum"],
        index_labels=CASE_LABELS, paper=REMEDY_PAPER),
    "remedies-curriculum-lm": Table(
        select=Select("remedies_lm"), group_by=("case", "remedy"),
        order={"case": REMEDY_CASES, "remedy": ["curriculum+lm", "curriculum+lm500"]},
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}),
                 Label("LM iterations per stage", fields=("remedy",),
                       labels={"remedy": {"curriculum+lm": "300", "curriculum+lm500": "500"}}),
                 Seeds(), Mean(id="ours"), Stat("wall s (range, loaded machine)", how="range"),
                 Const("papers' remedy", by={k: v[0] for k, v in PAPERS_REMEDY.items()}, keys=("case",)),
                 Const("its rel L2", id="paper", by={k: v[1] for k, v in PAPERS_REMEDY.items()}, keys=("case",)),
                 Ratio("paper / ours", num="paper", den="ours"))),
    # ---------------------------------------------------------------- issue 6
    "balancing-best": Table(
        select=Select("balancing", {"case": ("helmholtz", "klein-gordon"), **NG_SELECT}), group_by=("case",),
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}), Seeds(), Mean(id="ours"),
                 Stat("wall s (mean)"),
                 Const("issue 6 target", by={"helmholtz": "≤ 1e-3", "klein-gordon": "≤ 1e-3"}),
                 Const("best published (lra + modified MLP, 40000 steps)", id="paper", by=WTP_BEST),
                 Ratio("published / ours", num="paper", den="ours"))),
    "balancing-woodbury": Table(
        select=Select("ng_woodbury", {"row": "adam+natural-gradient"}), group_by=("case",),
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}), Seeds(),
                 Mean("rel L2, sample-space solve"),
                 Lookup("rel L2, parameter-space solve", by={c: Select("balancing", {"case": c, **NG_SELECT})
                                                            for c in ("helmholtz", "klein-gordon")}),
                 Stat("wall s (mean), sample space", id="t1"),
                 Lookup("wall s (mean), parameter space", id="t0", fmt="s", field="wall_s",
                        by={c: Select("balancing", {"case": c, **NG_SELECT}) for c in ("helmholtz", "klein-gordon")}),
                 Ratio("time ratio", num="t1", den="t0"))),
    "woodbury-speed": Table(
        rows=tuple(Row(k, WOOD_1[k][0], f"{WOOD_1[k][1]} ; {WOOD_0[k][1]}", (0,)) for k in WOOD_1),
        columns=(Label("case (100 NG iterations after Adam 10)"),
                 Lookup("`woodbury=0`: s per NG iteration", id="t0", field="s_per_it.natural-gradient", fmt="num",
                        sig=3, by={k: v[0] for k, v in WOOD_0.items()}, rerun={k: v[1] for k, v in WOOD_0.items()}),
                 Stat("`woodbury=1`: s per NG iteration", id="t1", field="s_per_it.natural-gradient", fmt="num", sig=3),
                 Ratio("speed-up", num="t0", den="t1"),
                 Lookup("rel L2 after 100, woodbury=0", sig=5, by={k: v[0] for k, v in WOOD_0.items()},
                        rerun={k: "see the woodbury=0 column" for k in WOOD_0}),
                 Mean("rel L2 after 100, woodbury=1", sig=5))),
    "balancing-probes": Table(
        rows=(_r("wave (c = 2): 3 × 30, NG 300",
                 _recipe("wave-3x30-ng300", WAVE_1W.format(w=30, weights="", n=300)), (0,)),
              _r("wave: 3 × 40, NG 800", _recipe("wave-3x40-ng800", WAVE_1W.format(w=40, weights="", n=800)), (0,)),
              _r("wave: 3 × 30, NG 500, data terms weighted 100",
                 _recipe("wave-3x30-ng500-w100", WAVE_1W.format(w=30, weights=WAVE_W + " ", n=500)), (0,)),
              Row("wave: 3 × 40, NG 1000, data terms weighted 100 (row `adam+natural-gradient-weighted`)",
                  Select("balancing", {"case": "wave", "row": "adam+natural-gradient-weighted"}),
                  _balancing("wave", "adam+natural-gradient-weighted", "0"), (0, 1, 2)),
              _r("Allen–Cahn: `periodic:width=30,depth=3`, NG 500",
                 _recipe("allen-cahn-ng500", AC_1W.format(pts="", n=500, rem="")), (0,)),
              _r("Allen–Cahn: the same, `--points res=4000`",
                 _recipe("allen-cahn-ng500-res4000", AC_1W.format(pts="--points res=4000 ", n=500, rem="")), (0,)),
              _r("Allen–Cahn: NG 1000, `--points res=4000 --remedy rad:every=100`",
                 AC_RAD, (0,))),
        columns=(Label("case: configuration (Adam 1000 → natural gradient, float64)"), Seeds(), Mean(),
                 Stat("wall s (range)", how="range"),
                 Const("target", by={"wave (c = 2): 3 × 30, NG 300": "≤ 1e-3",
                                     "Allen–Cahn: `periodic:width=30,depth=3`, NG 500": "≤ 1e-4"}))),
    "allen-cahn-marching": Table(
        rows=(_r("one window: NG 1000, 4000 points + RAD (previous section)",
                 AC_RAD, (0,)),
              _r("4 windows, NG 300",
                 _recipe("allen-cahn-4w-ng300", AC_MARCH.format(h="", w="", n=300, k=4, rem="")), (0,)),
              _r("6 windows, NG 250",
                 _recipe("allen-cahn-6w-ng250", AC_MARCH.format(h="", w="", n=250, k=6, rem="")), (0,)),
              _r("8 windows, NG 200, `rad:every=50`",
                 _recipe("allen-cahn-8w-ng200-rad50", AC_MARCH.format(h="", w="", n=200, k=8,
                                                                      rem=" --remedy rad:every=50")), (0,)),
              _r("4 windows, NG 300, 3 harmonics",
                 _recipe("allen-cahn-4w-ng300-h3", AC_MARCH.format(h=",harmonics=3", w="", n=300, k=4, rem="")), (0,)),
              Row("4 windows, NG 300, `--weight ic=100` (row `seq2seq+natural-gradient`)",
                  Select("balancing", {"case": "allen-cahn", "row": "seq2seq+natural-gradient"}),
                  _balancing("allen-cahn", "seq2seq+natural-gradient", "0"), (0, 1, 2)),
              Row("4 windows, NG 450, `--weight ic=100` (row `seq2seq+natural-gradient-450`)",
                  Select("balancing", {"case": "allen-cahn", "row": "seq2seq+natural-gradient-450"}),
                  _balancing("allen-cahn", "seq2seq+natural-gradient-450", "1"), (1,)),
              Row(AC_BEST,
                  Select("balancing", {"case": "allen-cahn", "row": "seq2seq+natural-gradient-450-h3"}),
                  _balancing("allen-cahn", "seq2seq+natural-gradient-450-h3", "0,1,2"), (0, 1, 2))),
        columns=(Label("configuration"), Seeds(sig=3), Mean(id="ours"), Stat("wall s (range)", how="range"),
                 Const("published: causal + modified MLP", id="paper",
                       by={AC_BEST: 1.39e-4}),
                 Ratio("published / ours", num="paper", den="ours"))),
    "wave-marching": Table(
        rows=(Row("one window, Adam 1000 → NG 1000 (row `adam+natural-gradient-weighted`; parameter-space solve)",
                  Select("balancing", {"case": "wave", "row": "adam+natural-gradient-weighted"}),
                  _balancing("wave", "adam+natural-gradient-weighted", "0"), (0, 1, 2)),
              _r("one window, NG 2000 (sample-space solve)",
                 _recipe("wave-1w-ng2000-s1", WAVE_MARCH.format(w=40, pts="", a=1000, n=2000, s=1)), (1,)),
              _r("one window, 3 × 60, NG 1000",
                 _recipe("wave-1w-3x60-s1", WAVE_MARCH.format(w=60, pts="", a=1000, n=1000, s=1)), (1,)),
              _r("one window, NG 1000, 3000 residual + 300 per data term",
                 _recipe("wave-1w-3000pts-s1", WAVE_MARCH.format(
                     w=40, pts="--points res=3000 --points ic=300 --points ic_t=300 --points bc=300 ", a=1000, n=1000,
                     s=1)), (1,)),
              Row(WAVE_2W,
                  Select("balancing", {"case": "wave", "row": "seq2seq+natural-gradient-weighted"}),
                  _balancing("wave", "seq2seq+natural-gradient-weighted", "0,1,2"), (0, 1, 2)),
              Row(WAVE_3W,
                  Select("balancing", {"case": "wave", "row": "seq2seq3+natural-gradient-weighted"}),
                  _balancing("wave", "seq2seq3+natural-gradient-weighted", "2"), (0, 1, 2))),
        columns=(Label("configuration (3 × 40 unless said, data terms weighted 100)"), Seeds(), Mean(id="ours"),
                 Stat("wall s (range)", how="range"),
                 Stat("best seed", field="rel_l2", how="min", fmt="num", id="best"),
                 Stat("worst seed", field="rel_l2", how="max", fmt="num", id="worst"),
                 Const("paper (NTK weights)", id="paper", by={WAVE_2W: 1.7e-3, WAVE_3W: 1.7e-3}),
                 Ratio("paper / best seed", num="paper", den="best"),
                 Ratio("paper / worst seed", num="paper", den="worst"))),
    "balancing-full-budget": Table(
        select=Select("balancing", {"case": ("helmholtz", "klein-gordon"), "adam": 40000, "fresh": 128}),
        group_by=("case", "row", "normalize", "variant"),
        order={"case": ["helmholtz", "klein-gordon"], "row": BAL_ORDER, "normalize": [None, 0, 1],
               "variant": [None]},
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}), Cell("row", fn=_bal_label), Seeds(),
                 Mean(id="ours"), Stat("wall s (mean)"),
                 Const("paper (Table 2 / 3)", id="paper", by=WTP_BY, keys=("case", "row")),
                 Ratio("mean / paper", num="ours", den="paper"),
                 Cell("final constraint weights (seed 0)", fn=_weights_seed0))),
    "balancing-wave-quarter": Table(
        select=Select("balancing", {"case": "wave", "adam": 10000}), group_by=("row",),
        order={"row": ["vanilla", "ntk"]},
        columns=(Label("wave (c = 2), 3 × 500, Adam 10000, fresh batches of 128", fields=("row",),
                       labels={"row": {"vanilla": "fixed weights", "ntk": "NTK weights (every 1000 steps)"}}),
                 Mean(id="ours"), Stat("wall s"),
                 Const("paper (40000 steps)", id="paper", by={"vanilla": 0.45, "ntk": 1.7e-3}, keys=("row",)),
                 Ratio("ours / paper", num="ours", den="paper"))),
    "balancing-tenth": Table(
        select=(Select("balancing", {"case": ("helmholtz", "klein-gordon"), "adam": 4000, "fresh": None}),
                Select("balancing", {"case": ("helmholtz", "klein-gordon"), **NG_SELECT})),
        group_by=("case", "row"), order={"case": ["helmholtz", "klein-gordon"], "row": BAL_ORDER},
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}),
                 Label("row", fields=("row",), labels={"row": BAL_LABELS}), Seeds(), Mean(id="ours"),
                 Stat("wall s (mean)"),
                 Const("paper (40000 steps)", id="paper", by=WTP_BY, keys=("case", "row")),
                 Ratio("mean / paper", num="ours", den="paper"))),
    "balancing-helmholtz-seed0": Table(
        select=Select("balancing", {"case": "helmholtz", "adam": 4000, "fresh": None, "seed": 0}), group_by=("row",),
        order={"row": BAL_ORDER},
        columns=(Label("row", fields=("row",), labels={"row": BAL_LABELS}), Cell("remedy spec", fn=_remedies),
                 Mean("rel L2 (n)", sig=3), Cell("final weights", fn=_weights_seed0), Stat("wall s"),
                 Const("paper (Table 2, 40000 steps)", by=WTP["helmholtz"], keys=("row",)))),
    # ---------------------------------------------------------------- issue 8
    "hard-constraint": Table(
        rows=(_hard_rows("convection", "convection β ∈ [1, 50]", "curriculum:start=1,stages=4", "curriculum")
              + _hard_rows("diffusion", "diffusion ν ∈ [1, 5]", "curriculum:start=1,stages=4", "curriculum")
              + _hard_rows("helmholtz", "Helmholtz k ∈ [0.5, 2]", "lra", "lra")),
        seed_field="seed",
        columns=(Label("case: method"), Cell("rel L2 at the values", fn=_family_values),
                 Stat("training wall s", field="train_s"), Cell("cost of a new parameter value", fn=_new_value_cost))),
    # ---------------------------------------------------------------- issue 7
    "auto-medium": Table(
        select=Select("auto_medium", {"label": "auto-second-order", "size": "medium"}), group_by=("case",),
        order={"case": AUTO_ORDER},
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}),
                 Lookup("vanilla", id="van", keys=("case",), sig=3,
                        by={c: Select("auto_medium", {"case": c, "label": "vanilla", "size": "medium"})
                            for c in AUTO_ORDER}),
                 Mean("auto (second-order recipe)", id="auto", sig=3), Stat("auto wall s (probe included)"),
                 Lookup("auto's recipe run by hand (seed 0)", id="hand", keys=("case",), sig=3, by=AUTO_SAME,
                        note=AUTO_SAME_NOTE),
                 Ratio("auto / by hand", num="auto", den="hand"),
                 Lookup("best configuration reported here (all its seeds)", id="best", keys=("case",), by=AUTO_BEST,
                        note=AUTO_BEST_NOTE),
                 Ratio("auto / best", num="auto", den="best"), Ratio("vanilla / auto", num="van", den="auto"),
                 Cell("auto chose", fn=_auto_choice))),
}

PROBE_SHARE_CMD = (f"{ENV}python3 benchmarks/probe_residual_share.py --cases burgers:0,burgers:1,burgers:2,"
                   "allen-cahn,helmholtz,helmholtz:1,rd-5-5,reaction-10,convection-30,convection-40 "
                   "--jsonl benchmarks/results/probe_residual_share.jsonl")

# ------------------------------------------------------------------------------ script tables (rows pending)
COND_CMD = "python3 benchmarks/conditioning.py --jsonl benchmarks/results/conditioning.jsonl"
NTK_CMD = f"{ENV}python3 benchmarks/ntk_spread.py --jsonl benchmarks/results/ntk_spread.jsonl"
DIAG_CMD = ("python3 benchmarks/diagnostics_overhead.py --steps 3000 --repeats 3 --every 500 "
            "--jsonl benchmarks/results/diagnostics_overhead.jsonl")
SPEED_CMD = "python3 benchmarks/speed.py --steps 2000 --repeats 3 --jsonl benchmarks/results/speed.jsonl"


def _g(f: str) -> Callable[[Group], str]:
    return lambda g: f"{g.key[f]:g}" if isinstance(g.key[f], (int, float)) else str(g.key[f])


def _kappa_table(table: str, key: str) -> Table:
    return Table(
        select=Select("conditioning", {"table": table}), group_by=("value",), rerun=COND_CMD,
        columns=(Cell(key, fn=_g("value")), Stat("params", field="params", how="first", fmt="raw"),
                 Stat("κ(A) exact", field="kappa_exact", fmt="num", sig=4),
                 Stat("κ(PAP) exact", field="kappa_pre_exact", fmt="num", sig=5),
                 Stat("κ(A) batch", field="kappa_batch", fmt="num", sig=4),
                 Stat("κ(PAP) batch", field="kappa_pre_batch", fmt="num", sig=5)))


SECTIONS.update({
    "conditioning-poisson": _kappa_table("poisson", "K"),
    "conditioning-advection": _kappa_table("advection", "β"),
    "conditioning-exponents": Table(
        select=Select("conditioning", {"table": ("poisson-exponent", "advection-exponent")}),
        group_by=("table", "over"), rerun=COND_CMD,
        columns=(Label("fit", fields=("table", "over")), Stat("exponent, exact", field="exact", fmt="num", sig=4),
                 Stat("exponent, batch", field="batch", fmt="num", sig=4))),
    "conditioning-training": Table(
        select=Select("conditioning", {"table": "training"}), group_by=("optimizer", "budget", "model"),
        rerun=COND_CMD,
        columns=(Label("optimizer", fields=("optimizer",)), Cell("budget", fn=_g("budget")),
                 Label("model", fields=("model",)), Stat("κ(batch A)", field="kappa_batch", fmt="num", sig=3),
                 Stat("final loss", field="final_loss", fmt="num", sig=4),
                 Stat("rel L2", field="rel_l2", fmt="num", sig=4))),
    "ntk-spread": Table(
        select=Select("ntk_spread"), group_by=("problem", "coef", "value"), rerun=NTK_CMD,
        columns=(Label("problem", fields=("problem",)),
                 Cell("coefficient", fn=lambda g: f"{g.key['coef']} = {g.key['value']:g}"),
                 Stat("λ_max(K_res)", field="lmax_res", fmt="num", sig=3),
                 Stat("min_c λ_max(K_cc)", field="lmax_constraint_min", fmt="num", sig=3),
                 Stat("spread", field="spread", fmt="num", sig=3),
                 Cell("Gauss–Newton cond (rank / rows)",
                      fn=lambda g: f"{num(g.rows[0]['gn_cond'], 2)} ({g.rows[0]['rank']} / {g.rows[0]['rows']})"))),
    "diagnostics-overhead": Table(
        select=Select("diagnostics_overhead"), group_by=("steps", "every"), rerun=DIAG_CMD,
        columns=(Cell("Adam steps, statistics every", fn=lambda g: f"{g.key['steps']}, {g.key['every']}"),
                 Stat("one statistics call, paired chunks (ms)", field="per_call_ms", fmt="num", sig=2),
                 Stat("steady-state overhead (%)", field="overhead_pct", fmt="num", sig=2),
                 Stat("one call, direct timing (ms)", field="direct_call_ms", fmt="num", sig=2),
                 Stat("direct overhead (%)", field="direct_overhead_pct", fmt="num", sig=2),
                 Stat("whole train() without / s", field="train_s_without", fmt="num", sig=3),
                 Stat("with / s", field="train_s_with", fmt="num", sig=3))),
    "speed": Table(
        select=Select("speed"), group_by=("name",), rerun=SPEED_CMD,
        columns=(Label("implementation", fields=("name",)),
                 Stat("median ms/step", id="ms", field="ms_per_step_median", fmt="num", sig=4),
                 Stat("p10", field="ms_per_step_p10", fmt="num", sig=4),
                 Stat("p90", field="ms_per_step_p90", fmt="num", sig=4),
                 Lookup("pinnsight median", id="base", field="ms_per_step_median", fmt="num", sig=4,
                        by={"*": Select("speed", {"name": "pinnsight (train's jitted Adam chunk)"})}),
                 Ratio("relative to pinnsight", num="ms", den="base"),
                 Stat("whole train() ms/step", field="wall_ms_per_step_train", fmt="num", sig=3))),
    "auto-quick": Table(
        select=Select("auto_quick", {"label": "auto", "size": "quick"}), group_by=("case",), order={"case": AUTO_ORDER},
        rerun="python3 benchmarks/auto.py --quick --jsonl benchmarks/results/auto_quick.jsonl",
        columns=(Label("case", fields=("case",), labels={"case": CASE_LABELS}),
                 Lookup("vanilla", keys=("case",), sig=3,
                        by={c: Select("auto_quick", {"case": c, "label": "vanilla", "size": "quick"})
                            for c in AUTO_ORDER}),
                 Mean("auto (first-order remedies)", sig=3), Stat("auto steps", field="steps", how="first", fmt="raw"),
                 Stat("auto wall s"),
                 Lookup("hand-picked", keys=("case",), sig=3,
                        by={c: Select("auto_quick", {"case": c, "label": "hand", "size": "quick"})
                            for c in AUTO_ORDER}),
                 Cell("auto chose", fn=_auto_choice))),
})


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a section differs")
    ap.add_argument("--root", type=Path, default=None, help="repository root (default: found from the cwd)")
    args = ap.parse_args(argv)
    try:
        root = args.root or find_root(Path.cwd())
        differ, unused = run(root, check=args.check)
    except (RenderError, OSError, json.JSONDecodeError) as exc:
        print(f"render: error: {exc}", file=sys.stderr)
        return 2
    for name in unused:
        print(f"render: warning: spec {name!r} is used by no document", file=sys.stderr)
    if args.check:
        for d in differ:
            print(f"render: differs from the committed rows: {d}")
        if differ:
            print(f"render: run `{COMMAND}` to rewrite them", file=sys.stderr)
        return 1 if differ else 0
    for d in differ:
        print(f"render: rewrote {d}")
    return 0


def _redesign(label: str, args: str) -> Row:
    cmd = (f"{ENV}python3 benchmarks/run_row.py --jsonl benchmarks/results/redesign.jsonl --label {label} -- {args}")
    return Row(label, Select("redesign", {"label": label}), cmd, (0,))


SECTIONS.update({
    # ---------------------------------------------------------------- issue 17: the redesign changed no result
    "redesign-unchanged": Table(
        rows=(_redesign("demo-before-issue17", "(pinnsight demo at commit 3238531)"),
              _redesign("demo-after-issue17", "(pinnsight demo)"),
              _redesign("helmholtz-ng-after-issue17", "helmholtz --x64 --model mlp:width=30,depth=3 "
                        "--optimizer adam:steps=1000 --optimizer natural-gradient:steps=500"),
              _r("convection β = 30, curriculum 7 stages + LM 300, last ×3 (recipes.jsonl)", CONV30_FINAL3, (0,))),
        columns=(Label("run (seed 0)"), Mean("rel L2", sig=4), Stat("wall s (load 3–5, other jobs running)"))),
})


# ------------------------------------------------------------------ issue 18: unknown coefficients from data
#: Raissi, Perdikaris & Karniadakis, J. Comput. Phys. 378 (2019), Sec. 4.1.1 (Fig. 1's table): the identified PDEs
#: u_t + λ₁ u u_x − λ₂ u_xx = 0 from 2000 samples, clean and with 1 % noise (truth λ₁ = 1, λ₂ = 0.01/π ≈ 0.0031831)
RAISSI_BURGERS_ID = {"clean": (0.99915, 0.0031794), "noise1": (1.00042, 0.0032098)}
BURGERS_NU = 0.01 / 3.141592653589793


def _unknown(name: str, what: str) -> Callable[[Group], str]:
    def cell(g: Group) -> str:
        entry = (g.rows[0].get("unknowns") or {}).get(name) or {}
        v = entry.get(what)
        return "—" if v is None else (f"{v:.6g}" if what == "value" else num(v, 2))
    return cell


def _paper_error(case: str, index: int) -> str:
    truth = (1.0, BURGERS_NU)[index]
    return num(abs(RAISSI_BURGERS_ID[case][index] - truth) / truth, 2)


def _script_row(script: str, results: str, label: str, text: str) -> Row:
    """A row of ``benchmarks/results/RESULTS.jsonl`` written by ``benchmarks/SCRIPT.py --only LABEL``."""
    return Row(text, Select(results, {"label": label}), f"{ENV}python3 benchmarks/{script}.py --only {label}", (0,))


def _id_row(label: str, text: str) -> Row:
    return _script_row("identification", "identification", label, text)


SECTIONS.update({
    "identification-burgers": Table(
        rows=(_id_row("burgers-id-clean-f32", "clean, float32, Adam 5000 + L-BFGS 5000"),
              _id_row("burgers-id-noise1-f32", "1 % noise, float32, Adam 5000 + L-BFGS 5000"),
              _id_row("burgers-id-clean-f64", "clean, float64, Adam 3000 + L-BFGS 10000"),
              _id_row("burgers-id-noise1-f64", "1 % noise, float64, Adam 3000 + L-BFGS 10000"),
              _id_row("burgers-id-clean-f64-ng", "clean, float64, Adam 3000 + L-BFGS 5000 + natural gradient 100")),
        columns=(Label("case (seed 0)"), Cell("λ₁ found", fn=_unknown("lambda1", "value")),
                 Cell("λ₁ rel error", fn=_unknown("lambda1", "rel_error")),
                 Cell("λ₂ found", fn=_unknown("nu", "value")), Cell("λ₂ rel error", fn=_unknown("nu", "rel_error")),
                 Mean("rel L2 of u", sig=2), Stat("wall s"),
                 Cell("paper λ₁ / λ₂ rel error", fn=lambda g: " / ".join(
                     _paper_error("noise1" if "noise" in g.label else "clean", i) for i in (0, 1))))),
    "identification-rd": Table(
        rows=(_id_row("rd-inverse-fixed", "fixed weights (1)"),
              _id_row("rd-inverse-inverse-dirichlet", "inverse-Dirichlet (Maddu et al. 2022)"),
              _id_row("rd-inverse-lra", "learning-rate annealing (Wang, Teng & Perdikaris 2021)"),
              _id_row("rd-sequential-fixed", "sequential (data 2000 Adam steps first), fixed weights"),
              _id_row("rd-sequential-inverse-dirichlet", "sequential, inverse-Dirichlet"),
              _id_row("rd-sequential-lra", "sequential, learning-rate annealing")),
        columns=(Label("weighting (seed 0)"), Cell("ν found", fn=_unknown("nu", "value")),
                 Cell("ν rel error", fn=_unknown("nu", "rel_error")), Cell("ρ found", fn=_unknown("rho", "value")),
                 Cell("ρ rel error", fn=_unknown("rho", "rel_error")), Mean("rel L2 of u", sig=2),
                 Cell("data misfit rms", fn=lambda g: num(get(g.rows[0], "data.data.train_rms"), 2)),
                 Stat("wall s"))),
})


# ---------------------------------------------------------------------- issue 18: Navier–Stokes (systems)
def _field_error(name: str) -> Callable[[Group], str]:
    return lambda g: "—" if get(g.rows[0], f"rel_l2_fields.{name}") is None else \
        num(get(g.rows[0], f"rel_l2_fields.{name}"), 2)


def _ns_row(label: str, text: str) -> Row:
    return _script_row("navier_stokes", "navier_stokes", label, text)


SECTIONS.update({
    "navier-stokes": Table(
        rows=(_ns_row("kovasznay-f32", "Kovasznay Re = 20, float32, Adam 5000 + L-BFGS 5000"),
              _ns_row("kovasznay-f64", "Kovasznay Re = 20, float64, Adam 3000 + L-BFGS 10000"),
              _ns_row("taylor-green-nu-id", "Taylor–Green, ν from 1000 velocity samples (1 % noise)")),
        columns=(Label("case (seed 0)"), Mean("rel L2 (u, v, p together)", sig=2),
                 Cell("u", fn=_field_error("u")), Cell("v", fn=_field_error("v")), Cell("p", fn=_field_error("p")),
                 Cell("ν found", fn=_unknown("nu", "value")), Cell("ν rel error", fn=_unknown("nu", "rel_error")),
                 Stat("wall s"))),
})

#: Wang, Teng & Perdikaris, SIAM J. Sci. Comput. 43 (2021), Sec. 4.3: the cavity at Re = 100 (stream-function form),
#: relative L2 error of the velocity magnitude: plain PINN and learning-rate annealing + modified MLP
WANG_CAVITY = {"cavity-f32": 2.71e-1, "cavity-lra-mmlp-f32": 3.42e-2, "cavity-lra1-mmlp-f32": 3.42e-2,
               "cavity-f64-ng": 2.71e-1}


def _interior(name: str) -> Callable[[Group], str]:
    return lambda g: num(get(g.rows[0], f"rel_l2_interior.{name}"), 2)


SECTIONS.update({
    "cavity": Table(
        rows=(_ns_row("cavity-f32", "plain (MLP 4 × 50), float32, Adam 5000 + L-BFGS 5000"),
              _ns_row("cavity-lra-mmlp-f32", "learning-rate annealing + modified MLP, float32, Adam 5000 + "
                                             "L-BFGS 5000"),
              _ns_row("cavity-lra1-mmlp-f32", "the same, LRA with the weighted gradient (lra:weighted=1)"),
              _ns_row("cavity-f64-ng", "plain, float64, Adam 3000 + L-BFGS 3000 + natural gradient 50")),
        columns=(Label("case (seed 0, 2000 residual points)"), Mean("speed ‖(u, v)‖ rel L2", field="speed_rel_l2",
                                                                    sig=2),
                 Cell("Wang et al. 2021 (same remedy)", fn=lambda g: num(WANG_CAVITY.get(g.rows[0].get("label")), 2)),
                 Cell("u", fn=_field_error("u")), Cell("v", fn=_field_error("v")),
                 Cell("p (interior)", fn=_interior("p")), Stat("wall s"))),
})


# ------------------------------------------------------------------------ issue 19: domains beyond boxes
def _domain_row(label: str, text: str) -> Row:
    return _script_row("domains", "domains", label, text)


def _node_error(g: Group) -> str:
    """The error over the evaluation mesh's nodes (``nodes``; rows recorded before it existed: —)."""
    return num((g.rows[0].get("nodes") or {}).get("rel_l2"), 2)


def _field_errors(g: Group) -> str:
    """The rel L2 of each field of a system (u / v / p) on the grid; a one-field problem: —."""
    fields = g.rows[0].get("rel_l2_fields") or {}
    return " / ".join(f"{k} {num(v, 2)}" for k, v in fields.items()) if len(fields) > 1 else "—"


def _phase_steps(g: Group) -> str:
    return " + ".join(f"{p.get('name')} {p.get('steps')}" for p in g.rows[0].get("phase_reports") or [])


SECTIONS.update({
    "domains": Table(
        rows=(_domain_row("lshape-plain", "L-shape, penalty terms, float32"),
              _domain_row("lshape-exact-bc", "L-shape, exact Dirichlet (distance function), float32"),
              _domain_row("lshape-rad", "L-shape, RAD sampling (every 500), float32"),
              _domain_row("lshape-f64-ng", "L-shape, float64, 3 × 30, natural gradient"),
              _domain_row("lshape-f64-ssbroyden", "L-shape, float64, 3 × 30, 4000 points, Adam 2000 + SSBroyden 8000"),
              _domain_row("lshape-f64-ssbroyden-rad", "L-shape, as above + RAD resampling every 500, SSBroyden 10 000"),
              _domain_row("annulus-plain", "annulus, penalty terms, float32"),
              _domain_row("annulus-exact-bc", "annulus, exact Dirichlet (distance function), float32"),
              _domain_row("annulus-f64-ng", "annulus, float64, 3 × 30, natural gradient"),
              _domain_row("heat-disk-plain", "heat equation on the disk (x, y, t), penalty terms, float32"),
              _domain_row("heat-disk-exact-bc", "heat disk, exact Dirichlet on the circle, float32"),
              _domain_row("heat-disk-f64-ng", "heat disk, float64, 3 × 30, natural gradient"),
              _domain_row("plate-plain", "Helmholtz plate with holes, penalty terms, float32"),
              _domain_row("plate-exact-bc", "Helmholtz plate with holes, exact Dirichlet, float32"),
              _domain_row("cylinder-plain", "cylinder channel (u, v, p), penalty terms, MLP 4 × 50, float32"),
              _domain_row("cylinder-f64-ng", "cylinder channel, float64, 3 × 30, natural gradient"),
              _domain_row("cylinder-bc100", "cylinder channel, velocity conditions weighted 100, MLP 4 × 50, float32"),
              _domain_row("cylinder-f64-ssbroyden", "cylinder channel, float64, 4 × 40 on standardised inputs, "
                          "velocity conditions weighted 100, 4000 points, Adam 3000 + SSBroyden 2500"),
              _domain_row("cylinder-f64-ssbroyden-4k", "cylinder channel, the same with Adam 1500 + SSBroyden 4000"),
              _domain_row("cylinder-f64-ssbroyden-rad", "cylinder channel, Adam 3000 + SSBroyden 2500 with RAD "
                          "resampling every 500")),
        columns=(Label("case (seed 0; 2000 residual points unless stated)"), Mean("rel L2 (grid points inside the domain)", sig=2),
                 Cell("rel L2 (mesh nodes)", fn=_node_error), Cell("per field (grid)", fn=_field_errors),
                 Cell("phases (steps run)", fn=_phase_steps),
                 Stat("wall s"))),
})


# ------------------------------------------------------------------------ issue 20: BLAS threads against XLA's
def _threads_row(label: str, text: str) -> Row:
    return Row(text, Select("threads", {"label": label}), "python3 benchmarks/threads.py", (0,))


def _lm_s_per_it(g: Group) -> str:
    return num(g.rows[0].get("s_per_it", {}).get("gauss-newton"), 2)


def _load(g: Group) -> str:
    start, end = g.rows[0].get("loadavg_start"), g.rows[0].get("loadavg_end")
    return f"{start[0]:.1f} → {end[0]:.1f}" if start and end else "—"


SECTIONS.update({
    "threads": Table(
        rows=(_threads_row("lm-blas-2", "OPENBLAS_NUM_THREADS=2 (OpenBLAS unlimited on 2 cores)"),
              _threads_row("lm-blas-default", "no variable set: pinnsight's default (one BLAS thread)")),
        columns=(Label("Levenberg–Marquardt, convection β = 10, float64, seed 0"),
                 Cell("s per LM iteration", fn=_lm_s_per_it), Cell("load (1-min average, start → end)", fn=_load),
                 Mean("rel L2", sig=2), Stat("wall s"))),
})


# ------------------------------------------------------------------------ issue 20: records, loops, escalation
def _records_row(stem: str, text: str, seeds: tuple[int, ...] = (0,)) -> Row:
    """The rows ``{stem}-s{seed}`` of records.jsonl, one per seed."""
    labels = tuple(f"{stem}-s{seed}" for seed in seeds)
    return Row(text, Select("records", {"label": labels}),
               f"OPENBLAS_NUM_THREADS=1 python3 benchmarks/records_rows.py --only "
               f"{labels[0] if len(labels) == 1 else stem + '-sSEED'}", seeds)


def _error_at(seconds_: float) -> Callable[[Group], str]:
    """rel L2 at the last evaluation at or before ``seconds_`` of wall time (from each run's history; seeds
    separated by " / ")."""
    def one(row: dict) -> str:
        if any("seq2seq" in str(a) for a in row.get("argv") or []):
            return "— (per window)"  # a time-marching run evaluates the window it trains, not the whole interval
        got = [e for t, e in row.get("curve") or [] if t <= seconds_ and e is not None]
        return num(got[-1], 2) if got else "—"
    return lambda g: " / ".join(one(r) for r in g.seed_rows())


def _qn_cell(field: str) -> Callable[[Group], str]:
    def cell(g: Group) -> str:
        r = g.rows[0]
        if field in r:
            return num(r[field], 2)
        rep = next((p for p in r.get("phase_reports") or [] if p.get("name") == "ssbroyden"), None)
        if rep is None or not rep.get("steps"):
            return "—"
        value = {"s_per_iter": rep["wall_s"] / rep["steps"],
                 "s_per_feval": rep["wall_s"] / max(1, rep.get("function_evals") or 1)}.get(field)
        return num(value, 2)
    return cell


def _escalation(what: str) -> Callable[[Group], str]:
    def cell(g: Group) -> str:
        v = (g.rows[0].get("auto") or {}).get("verification") or {}
        attempts = v.get("attempts") or []
        if not attempts:
            return "—"
        kept = attempts[v.get("kept", 0)]
        if what == "first":
            return num(attempts[0].get("rel_l2"), 2) if attempts[0].get("rel_l2") is not None else \
                f"val. loss {num(attempts[0].get('validation_loss'), 2)}"
        if what == "kept":
            return num(kept.get("rel_l2"), 2) if kept.get("rel_l2") is not None else \
                f"val. loss {num(kept.get('validation_loss'), 2)}"
        if what == "steps":
            acts = [f"{(a.get('action') or {}).get('name')} ({(a.get('action') or {}).get('for')})"
                    for a in attempts if a.get("action")]
            return "; ".join(acts) or "none"
        return f"{v.get('stopped')}; kept attempt {v.get('kept')}"
    return cell


def _attempt_chain(g: Group) -> str:
    """A benchmarks/auto.py row's attempts in order: each one's rel L2 and seconds, the step that followed it and
    the issue it answered; the kept attempt in bold."""
    r = g.rows[0]
    parts = []
    for i, a in enumerate(r.get("escalation") or ()):
        text = f"{num(a.get('rel_l2'), 3)} ({seconds(a.get('wall_s') or 0.0)} s)"
        parts.append(f"**{text}**" if i == r.get("kept") else text)
        if a.get("action"):
            parts.append(f"{a['action']} ({a['for']})")
    return " → ".join(parts) or "—"


def _process_s(g: Group) -> str:
    """The whole command's seconds (probe, main run, escalation); a run trained in-process: its recorded ones."""
    r = g.rows[0]
    if r.get("process_s") is not None:
        return seconds(r["process_s"])
    v = (r.get("auto") or {}).get("verification") or {}
    attempts = v.get("attempts") or []
    probe = ((r.get("auto") or {}).get("probe") or {}).get("wall_s") or 0.0
    return seconds(probe + sum(a.get("wall_s") or 0.0 for a in attempts)) if attempts else "—"


SYM_SEEDS = (0, 1, 2)
RECORD_ROWS = (
    _records_row("burgers-rad500-ssb24k", "Burgers ν = 0.01/π: 3 × 30, 10 000 points, RAD every 500 inside "
                 "Adam 2000 + SSBroyden 24 000", (0, 1, 2)),
    _records_row("burgers-sym-rad500-ssb24k", "Burgers, odd in x by construction (--symmetric; the published record "
                 "does not use it): the same on 5000 points", SYM_SEEDS),
    _records_row("helmholtz-rad500-ssb16k", "Helmholtz (1, 4): 3 × 30, 4000 points, RAD every 500 inside Adam 2000 "
                 "+ SSBroyden 16 000", (0, 1, 2)),
    _records_row("kdv-seq2seq4-ssb6k", "KdV (η = 0.022²): periodic 3 × 30, 4000 points, 4 windows of Adam 1000 + "
                 "SSBroyden 6000", (0, 1, 2)),
    _records_row("allen-cahn-seam-root-seq2seq4-ssb6k", "Allen–Cahn (ε = 1e-4): periodic 3 × 30 with a √t input and "
                 "the seam-kink input (seam=1e-4), 4000 points, IC weight 100, 4 windows of Adam 1000 + SSBroyden "
                 "6000", (0, 1, 2)),
    _records_row("convection50-seq2seq5-ssb6k", "convection β = 50: periodic 3 × 30, 4000 points, IC weight 100, "
                 "5 windows of Adam 1000 + SSBroyden 6000", (0, 1, 2)),
    _records_row("reaction5-mlp-rad500-ssb8k", "reaction ρ = 5: plain 3 × 30 (the Gaussian u0's slope kink at the "
                 "seam), 4000 points, RAD every 500 inside Adam 2000 + SSBroyden 8000", (0, 1, 2)),
    Row("cylinder channel, Re = 20 (u, v, p together; per field in docs/benchmarks.md): 4 × 40 on standardised inputs, "
        "velocity terms × 100, RAD every 500 inside Adam 3000 + SSBroyden 2500",
        Select("domains", {"label": "cylinder-f64-ssbroyden-rad"}),
        "OPENBLAS_NUM_THREADS=1 python3 benchmarks/domains.py --only cylinder-f64-ssbroyden-rad", (0,)),
)
_R = [r.label for r in RECORD_ROWS]
RECORD_PUBLISHED = {_R[0]: 8.25e-9, _R[1]: 8.25e-9, _R[2]: 5.83e-6, _R[3]: 4.27e-4, _R[4]: 1.88e-6, _R[6]: 9.92e-3}
RECORD_SOURCE = {_R[0]: "vRBA + SSBroyden, 3 × 30 + Fourier features (Toscano et al. 2025)",
                 _R[1]: "the same, without the symmetry",
                 _R[2]: "RBA + Fourier features, 6 × 128 (Anagnostopoulos et al. 2024)",
                 _R[3]: "PirateNet (Wang, Li, Chen & Perdikaris 2024)",
                 _R[4]: "vRBA + SSBroyden (Toscano et al. 2025); PirateNet 2.24e-5",
                 _R[5]: "none found at β = 50 (NNCG at β = 40: 1.94e-3, Rathore et al. 2024)",
                 _R[6]: "NNCG (Rathore et al. 2024)",
                 _R[7]: "none found"}

SECTIONS.update({
    "readme-records": Table(
        rows=RECORD_ROWS,
        columns=(Label("float64 record recipe (recipes/*-record.toml, recipes/cylinder-ssbroyden.toml)"), Seeds(sig=3),
                 Mean(id="ours"), Stat("wall s (range; 2 CPU cores)", how="range"),
                 Const("best published", id="paper", by=RECORD_PUBLISHED),
                 Ratio("published / ours", num="paper", den="ours"), Const("published by", by=RECORD_SOURCE))),
    "records-burgers": Table(
        rows=(_records_row("burgers-rad500-ssb24k", "Burgers: 3 × 30, 10 000 points, Adam 2000 + SSBroyden "
                           "24 000, RAD every 500", (0, 1, 2)),
              _records_row("burgers-sym-rad500-ssb24k", "Burgers: the same, odd in x by construction "
                           "(--symmetric), 5000 points", SYM_SEEDS),
              _records_row("helmholtz-rad500-ssb8k", "Helmholtz (1, 4): 3 × 30, 4000 points, Adam 2000 + SSBroyden "
                           "8000, RAD every 500"),
              _records_row("helmholtz-rad500-ssb16k", "Helmholtz (1, 4): the same with SSBroyden 16 000", (0, 1, 2)),
              _records_row("reaction5-rad500-ssb8k", "reaction ρ = 5: periodic 3 × 30, 4000 points, Adam 2000 + "
                           "SSBroyden 8000, RAD every 500"),
              _records_row("allen-cahn-seq2seq4-ssb3k", "Allen–Cahn: periodic 3 × 30 (3 harmonics), 4000 points, IC "
                           "weight 100, 4 seq2seq windows of Adam 1000 + SSBroyden 3000"),
              _records_row("allen-cahn-seq2seq4-ssb6k", "Allen–Cahn: the same with SSBroyden 6000 per window",
                           (0, 1, 2)),
              _records_row("allen-cahn-seq2seq4-ssb6k-ic2048", "Allen–Cahn: the same with 2048 initial points (512)"),
              _records_row("allen-cahn-seq2seq4-rad500-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, RAD every 500 "
                           "in each window"),
              _records_row("allen-cahn-mlp-seq2seq4-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, a plain 3 × 30 "
                           "(the periodic penalty, no embedding)"),
              _records_row("allen-cahn-h8-seq2seq4-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, 8 harmonics"),
              _records_row("allen-cahn-rba-all-seq2seq4-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, residual-based "
                           "attention on every term (rba:terms=all)"),
              _records_row("allen-cahn-edges-seq2seq4-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, a short first "
                           "window (edges 0.1 / 0.4 / 0.7)"),
              _records_row("allen-cahn-root-seq2seq4-ssb6k", "Allen–Cahn: SSBroyden 6000 per window, a √t input "
                           "(periodic:root_time=1)", (0, 1, 2)),
              _records_row("allen-cahn-root-ic2048-seq2seq4-ssb6k", "Allen–Cahn: the √t input and 2048 initial "
                           "points (512)"),
              _records_row("allen-cahn-root-rba-all-seq2seq4-ssb6k", "Allen–Cahn: the √t input and residual-based "
                           "attention on every term"),
              _records_row("allen-cahn-sym-root-seq2seq4-ssb6k", "Allen–Cahn: the √t input, even in x by "
                           "construction (--symmetric), 2000 points", (0, 1)),
              _records_row("allen-cahn-sym-root-uni500-seq2seq4-ssb6k", "Allen–Cahn: the same, its points redrawn "
                           "uniformly every 500 iterations (rad:every=500,k=0)"),
              _records_row("allen-cahn-seam-root-seq2seq4-ssb6k", "Allen–Cahn: the √t input and the seam-kink input "
                           "(periodic:root_time=1,seam=1e-4)", (0, 1, 2)),
              _records_row("kdv-seq2seq4-ssb6k", "KdV: periodic 3 × 30 (3 harmonics), 4000 points, 4 seq2seq "
                           "windows of Adam 1000 + SSBroyden 6000", (0, 1, 2)),
              _records_row("convection50-seq2seq5-ssb4k", "convection β = 50: periodic 3 × 30, 4000 points, IC weight "
                           "100, 5 seq2seq windows of Adam 1000 + SSBroyden 4000", (0, 1, 2)),
              _records_row("convection50-seq2seq5-ssb6k", "convection β = 50: the same with SSBroyden 6000 per window",
                           (0, 1, 2)),
              _records_row("reaction5-mlp-rad500-ssb8k", "reaction ρ = 5: plain 3 × 30 (the periodic penalty, no "
                           "embedding), otherwise as the periodic row above", (0, 1, 2))),
        columns=(Label("case (float64; seeds 0, 1, … in order)"), Mean("rel L2 (end)", sig=2),
                 Cell("rel L2 at 10 min", fn=_error_at(600.0)), Cell("at 20 min", fn=_error_at(1200.0)),
                 Cell("at 30 min", fn=_error_at(1800.0)),
                 Cell("load (start → end)", fn=lambda g: " / ".join(_load(Group(g.key, [r])) for r in g.seed_rows())),
                 Stat("wall s", how="range"))),
    "qn-loop": Table(
        rows=(Row("hand-written fori_loop, own loss (nested jax.grad)", Select("qn_loop", {"label": "hand-own-loss-ssbroyden-2000"}),
                  "OPENBLAS_NUM_THREADS=1 python3 benchmarks/qn_loop.py --iters 2000"),
              Row("hand-written fori_loop, pinnsight's objective", Select("qn_loop", {"label": "hand-pinnsight-loss-ssbroyden-2000"}),
                  "OPENBLAS_NUM_THREADS=1 python3 benchmarks/qn_loop.py --iters 2000"),
              Row("`pinnsight train` (chunks of 100, evaluation every 500)", Select("qn_loop", {"label": "pinnsight-ssbroyden-2000"}),
                  "OPENBLAS_NUM_THREADS=1 python3 benchmarks/qn_loop.py --iters 2000")),
        columns=(Label("SSBroyden, Burgers, 3 × 30, 10 000 points, float64, 2000 iterations"),
                 Cell("s per iteration", fn=_qn_cell("s_per_iter")),
                 Cell("s per function evaluation", fn=_qn_cell("s_per_feval")),
                 Cell("load (start → end)", fn=lambda g: _load(g) if g.rows[0].get("loadavg_start") else
                      f"{g.rows[0].get('load_before', 0):.1f} → {g.rows[0].get('load_after', 0):.1f}"))),
    "probe-residual-share": Table(
        select=Select("probe_residual_share"), group_by=("case", "seed"), order={"case": AUTO_ORDER},
        rerun=PROBE_SHARE_CMD,
        columns=(Label("probe (medium size: Adam 1000, 4 × 50, 1000 points, float32)", fields=("case", "seed"),
                       labels={"case": CASE_LABELS, "seed": {k: f"seed {k}" for k in range(3)}}),
                 Stat("probe rel L2", field="probe_rel_l2", fmt="num"),
                 Stat("share of the squared residual on the largest 5 % of grid points", field="top5_share",
                      fmt="num"),
                 Stat("on the largest 1 %", field="top1_share", fmt="num"),
                 Cell("probe findings", fn=lambda g: ", ".join(g.rows[0].get("findings") or ()) or "none"))),
    "auto-escalation": Table(
        rows=tuple(Row(text, Select("auto_escalation", {"label": label}),
                       f"OPENBLAS_NUM_THREADS=1 python3 benchmarks/auto_escalation.py --only {label}")
                   for label, text in (("conv-gauss-30", "convection β = 30, Gaussian initial condition"),
                                       ("conv-45", "convection β = 45 (between the tuned 40 and 50)"),
                                       ("reaction-7", "reaction ρ = 7 (between the tuned 5 and 10)"),
                                       ("own-poisson", "a user's problem (examples/own_problem.py, no reference)"))),
        columns=(Label("case (seed 0, `--remedy auto:budget_s=600`)"),
                 Cell("auto before (attempt 0)", fn=_escalation("first")),
                 Cell("auto now (kept)", fn=_escalation("kept")),
                 Cell("escalation steps (for)", fn=_escalation("steps")),
                 Cell("stopped", fn=_escalation("stopped")), Cell("total s", fn=_process_s))),
    "auto-verify": Table(
        rows=tuple(Row(text, Select("auto_medium", {"case": case, "label": label, "size": "medium", "seed": 0}),
                       f"OPENBLAS_NUM_THREADS=1 python3 benchmarks/auto.py --size medium --cases {case} "
                       "--labels auto-verify --seeds 0 --jsonl benchmarks/results/auto_medium.jsonl")
                   for case, label, text in (
                       ("helmholtz", "auto-verify", "Helmholtz (1, 4)"),
                       ("burgers", "auto-verify-before-resampled",
                        "Burgers, before the resampled recipe (Adam → natural gradient)"))),
        columns=(Label("case (seed 0, `--remedy auto`, default budget)"), Cell("recipe", fn=_auto_choice),
                 Cell("rel L2 (s) of each attempt → the step after it (for)", fn=_attempt_chain),
                 Stat("wall s (probe included)"))),
})


if __name__ == "__main__":
    sys.exit(main())
