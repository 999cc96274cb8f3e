"""The results database: one SQLite row per finished run, keyed by the hash of its resolved config.

Only the client process writes, one transaction per row, as each run finishes: a row is either fully there or
absent (SQLite's journal makes a transaction atomic under SIGKILL and power loss), so killing a sweep loses
nothing already recorded and leaves no half-written row. CHECK constraints refuse an incomplete row outright.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import PinnsightError
from ..jsonio import dumps as strict_dumps

SCHEMA_VERSION = 1
OK, FAILED = "ok", "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    config_hash  TEXT PRIMARY KEY,            -- sha256 of the canonical JSON of the resolved TrainConfig
    suite        TEXT NOT NULL,               -- the suite that ran it first (a config may be in several)
    case_name    TEXT NOT NULL,
    problem      TEXT NOT NULL,
    coefficients TEXT NOT NULL,               -- JSON object
    remedies     TEXT NOT NULL,               -- JSON list of remedy specs
    seed         INTEGER NOT NULL,
    config       TEXT NOT NULL,               -- JSON of the resolved TrainConfig
    status       TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error        TEXT,
    rel_l2       REAL,                        -- NULL for a non-finite error
    wall_s       REAL,
    steps        INTEGER,
    stop_reason  TEXT,
    t_1e2_s      REAL,                        -- first wall_s in history.csv with rel_l2 <= 1e-2 (NULL: never)
    t_1e3_s      REAL,                        -- same for 1e-3
    run_dir      TEXT,
    version      TEXT NOT NULL,               -- pinnsight version of the worker
    machine      TEXT NOT NULL,               -- JSON: host, cores, cpu, gpu
    command      TEXT NOT NULL,               -- the bench command line that ran it
    finished_at  TEXT NOT NULL,               -- UTC ISO time the client recorded it
    CHECK (status = 'failed' OR (wall_s IS NOT NULL AND steps IS NOT NULL AND stop_reason IS NOT NULL)),
    CHECK (status = 'ok' OR error IS NOT NULL)
);
"""

COLUMNS = ("config_hash", "suite", "case_name", "problem", "coefficients", "remedies", "seed", "config", "status",
           "error", "rel_l2", "wall_s", "steps", "stop_reason", "t_1e2_s", "t_1e3_s", "run_dir", "version",
           "machine", "command", "finished_at")
JSON_COLUMNS = ("coefficients", "remedies", "config", "machine")


class ResultsDB:
    """``ResultsDB(path)``: open (creating) the database; ``record`` a row, query by config hash."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise PinnsightError(f"--db {self.path} is a directory, not a database file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise PinnsightError(f"{self.path}: results database schema {row[0]}, expected {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise PinnsightError(f"{self.path} is not a usable results database ({e})") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def record(self, row: Mapping[str, Any]) -> None:
        """Insert or replace one run's row in a single transaction."""
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ValueError(f"row lacks {', '.join(missing)}")
        values = [_encode(c, row[c]) for c in COLUMNS]
        with _transaction(self.conn):
            self.conn.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", values
            )

    def statuses(self, hashes: Iterable[str] | None = None) -> dict[str, str]:
        """config hash -> status, for all rows or the given hashes."""
        rows = self.conn.execute("SELECT config_hash, status FROM runs").fetchall()
        wanted = None if hashes is None else set(hashes)
        return {h: s for h, s in rows if wanted is None or h in wanted}

    def rows(self, hashes: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """config hash -> row (JSON columns decoded), for all rows or the given hashes."""
        cur = self.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM runs")
        wanted = None if hashes is None else set(hashes)
        out = {}
        for values in cur.fetchall():
            row = {c: (json.loads(v) if c in JSON_COLUMNS and v is not None else v) for c, v in zip(COLUMNS, values)}
            if wanted is None or row["config_hash"] in wanted:
                out[row["config_hash"]] = row
        return out

    def integrity(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rollback on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _encode(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:  # standard JSON: non-finite numbers are null, never a bare NaN token
        return strict_dumps(value, sort_keys=True)
    if not isinstance(value, (str, bytes, int, float, type(None))):  # a NumPy scalar: a number, not a blob
        value = int(value) if hasattr(value, "__index__") else float(value) if hasattr(value, "__float__") else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
