"""Dagster wiring: the one Definitions, resources, the IO manager, jobs, schedule and sensor."""
