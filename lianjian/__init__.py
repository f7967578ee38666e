"""lianjian (廉检): landing files of personnel, case and talk records -> yearly integrity results.

Importing the package sets how Polars' allocator gives memory back (``ALLOCATOR_SETTINGS``), before
Polars is loaded by any module of it; an operator's own ``_RJEM_MALLOC_CONF`` is kept.
"""

import os

#: How Polars' allocator (its own jemalloc, configured through ``_RJEM_MALLOC_CONF`` when Polars is
#: first loaded) keeps freed pages: Polars' default gives them back to the system half a second (dirty)
#: and one second (muzzy) after they are freed, and a run frees and allocates gigabytes of column
#: buffers a second, so the kernel faulted in and zeroed the same pages again and again — a sixth of
#: a run's CPU was the kernel's. Kept 5 s, most are used again: a sixth of the national zone, `lianjian
#: run`, 54.4 / 56.8 → 52.8 CPU-s (system 10.1 / 9.9 → 7.5), peak RSS 1.20–1.22 → 1.26 GB; kept 30 s,
#: 52.0 / 51.7 CPU-s but 1.52–1.57 GB (docs/performance.md, "Staging for less: landing files hashed a
#: mebibyte at a time, Polars' allocator keeping its pages 5 s"). Spawned workers inherit it through
#: the environment.
ALLOCATOR_SETTINGS = "dirty_decay_ms:5000,muzzy_decay_ms:5000"

os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
