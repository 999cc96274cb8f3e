"""Benchmark suites: suites as data (TOML), a Dask runner, a SQLite results database and a Markdown report.

``pinnsight bench SUITE`` runs a suite's (case, seed) grid, one Dask task and one run directory per run, and
records each finished run in the database; ``pinnsight report SUITE`` writes the suite's section of
``docs/benchmarks.md`` (and its figures) from the database.
"""

from .db import ResultsDB
from .suites import Case, Published, Suite, Task, builtin_suites, config_hash, load_suite, parse_suite

__all__ = ["Case", "Published", "ResultsDB", "Suite", "Task", "builtin_suites", "config_hash", "load_suite",
           "parse_suite"]
