"""Helpers the command-line tests share: run ``pinnsight`` in-process, and the one-error-line rule."""

from __future__ import annotations

from pinnsight.cli import main


def run_cli(capsys, *args):
    """(exit code, stdout, stderr) of ``pinnsight ARGS`` run in this process."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error_line(err: str, *fragments: str) -> str:
    """The single ``pinnsight: error: ...`` line of ``err``, holding every fragment (asserted)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinnsight: error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]
