"""Dagster wiring: the one Definitions, the settings resource, the IO manager, the two jobs of a pipeline
run and the requests that start them (``runs.py``), the schedule, the sensors, the instance settings."""

import lianjian  # noqa: F401  (first: Polars' allocator settings, lianjian.ALLOCATOR_SETTINGS, before Polars loads)
