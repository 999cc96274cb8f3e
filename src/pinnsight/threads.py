"""One BLAS thread unless the user chose: numpy's and SciPy's OpenBLAS threads spin against XLA's on a machine of
few cores (a 540 × 40 QR took 26–230 ms instead of 0.3 ms under load; see docs/benchmarks.md for a
Levenberg–Marquardt phase). Setting ``OPENBLAS_NUM_THREADS`` once numpy is imported changes nothing — OpenBLAS reads
it when it loads — so the limit is applied to the loaded libraries (threadpoolctl) and the variable is set for
worker processes."""

from __future__ import annotations

import os

VARIABLE = "OPENBLAS_NUM_THREADS"


def single_thread_blas():
    """Limit the loaded BLAS libraries to one thread, unless ``OPENBLAS_NUM_THREADS`` is set (the user's choice is
    kept). Returns the limiter (``restore_original_limits()`` undoes it), or None when nothing was changed."""
    if VARIABLE in os.environ:
        return None
    os.environ[VARIABLE] = "1"
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
