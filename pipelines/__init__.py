"""Dagster wiring: the one Definitions, the settings resource, the IO manager, the two jobs of a pipeline
run and the requests that start them (``runs.py``), the schedule, the sensors, the instance settings."""
