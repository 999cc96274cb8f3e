"""When to show a progress bar: the one rule every bar in pinnsight follows."""

from __future__ import annotations

import sys

__all__ = ["progress_enabled"]


def progress_enabled(progress: bool | None) -> bool:
    """``True``/``False`` as asked; ``None`` (the default everywhere): only when stderr is a terminal, so logs,
    pipes and CI stay free of bars. (tqdm's own ``disable=None`` is not this rule: it shows on non-terminals.)"""
    if progress is not None:
        return bool(progress)
    stream = sys.stderr
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False
