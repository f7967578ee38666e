"""Data quality of the staged layer (issue 3): GX suites generated from the contract (``suites``),
validated once per content (``validate``), cross-source rules in Polars (``cross``), the check
catalogue and ``run_quality`` (``checks``), and the offline Data Docs (``docs``)."""
