"""lianjian (廉检): landing files of personnel, case and talk records -> yearly integrity results.

Importing the package sets how Polars' allocator gives memory back (``ALLOCATOR_SETTINGS``), before
Polars is loaded by any module of it; an operator's own ``_RJEM_MALLOC_CONF`` is kept.
"""

import os

#: How Polars' allocator (its own jemalloc, configured through ``_RJEM_MALLOC_CONF`` when Polars is
#: first loaded) keeps freed pages. A run frees and allocates gigabytes of column buffers a second;
#: every page given back to the system is faulted in and zeroed by the kernel again when it is used
#: next — on this kind of virtual machine ≈ 2 µs of system time a page, more when other processes
#: churn memory. Polars' default gives freed pages back after half a second (dirty) and one more
#: (muzzy). The decay is measured in wall-clock time, so the larger or slower the run, the more of
#: its freed pages are given back before they are used again: a national run faulted in 15 M pages
#: (58 GB for a 4 GiB peak) with the 5-s setting of before, a sixth of it 1.7–2.0 M — more the slower
#: the run went on a busy machine. Three settings:
#:
#: - ``narenas:1``: one arena for every thread instead of four a core. Pages freed by one of Polars'
#:   threads are used again by any other; with eight arenas a freed buffer waited for the one thread
#:   that had allocated it. Same peak, fewer faults (the sixth: 1.70 → 1.20 M at 5 s, peak
#:   1.37–1.42 → 1.32 GB); no CPU lost to the arena's lock on two cores.
#: - ``dirty_decay_ms:20000``: freed pages kept 20 s, most of a national step's length, so a step
#:   uses again what the last one freed.
#: - ``muzzy_decay_ms:0``: then given back at once (``MADV_DONTNEED``), instead of first marked
#:   lazily freeable (``MADV_FREE``: still counted in the peak, and one more pass over the pages).
#:
#: A sixth of the national zone, `lianjian run`: 1.70–1.96 M page faults → 1.13–1.14 M, system CPU
#: 6.2–8.2 → 4.8–5.1 s, peak 1.35–1.42 → 1.32–1.41 GB; national: 15.3 M → 6.5 M faults, system CPU
#: 47 → 26–28 s, peak 4.40 GiB as before for the run's process; all its processes together (the
#: report workers start while the main process keeps its last step's pages) 4.73 → 5.11 GiB, sampled
#: (docs/performance.md, "The kernel's share", "Where the run stands …, 20:20 UTC"). Not used:
#: pages never given back (``-1``: the peak +20–60 %, and jemalloc's background thread is woken at
#: every free, ≈ 3× the context switches); transparent huge pages (each 2 MiB fault compacts memory
#: first); ``oversize_threshold`` (with background threads, this jemalloc decays its oversize arena
#: like the others already). Spawned workers (the suites', the reports') inherit it through the
#: environment.
ALLOCATOR_SETTINGS = "narenas:1,dirty_decay_ms:20000,muzzy_decay_ms:0"

os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
