"""Repository-root conftest.

Tests run in parallel (pytest-xdist, one worker per core). A multi-threaded
BLAS in each worker oversubscribes the cores, and OpenBLAS's spinning threads
then slow GEMMs down by 10-100x (measured here), so each worker's BLAS gets one
thread. This must happen before `opset` loads the BLAS.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
