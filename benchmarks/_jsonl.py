"""Resumable benchmark results: one JSON object per line, appended as each run finishes."""

from __future__ import annotations

import json
from pathlib import Path


def read_rows(path: str | Path | None) -> list[dict]:
    """Rows already measured in ``path`` (none if it is missing or not given), so an interrupted table resumes."""
    if not path or not Path(path).exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def append_row(path: str | Path | None, row: dict) -> None:
    """Append ``row`` to ``path`` at once (no-op without a path); the folder is created if needed."""
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
