"""Assets of the published layer (filled in by its issue)."""

import dagster as dg

defs = dg.Definitions()
