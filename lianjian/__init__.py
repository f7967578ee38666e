"""lianjian (廉检): landing files of personnel, case and talk records -> yearly integrity results.

Importing the package sets how Polars' allocator gives memory back (``ALLOCATOR_SETTINGS``), before
Polars is loaded by any module of it; an operator's own ``_RJEM_MALLOC_CONF`` is kept.
"""

import os

#: How Polars' allocator (its own jemalloc, configured through ``_RJEM_MALLOC_CONF`` when Polars is
#: first loaded) keeps freed pages: Polars' default gives them back to the system half a second after
#: they are freed, and a run frees and allocates gigabytes of column buffers a second, so the kernel
#: zeroed and faulted in the same pages again and again — a sixth of the whole run's CPU was the
#: kernel's. Kept 30 s, they are used again: a sixth of the national zone, `lianjian run`, 54.4 /
#: 56.8 → 52.0 / 51.7 CPU-s (system 10.1 / 9.9 → 6.7 / 6.3), peak RSS 1.20 → 1.52–1.57 GB
#: (docs/performance.md, "Staging for less: ..."). Spawned workers inherit it through the environment.
ALLOCATOR_SETTINGS = "dirty_decay_ms:30000"

os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
