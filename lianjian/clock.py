"""The procuratorate's clock: times in messages, lock records and partitions are Beijing time.

Kept in a module of its own (no Dagster, no Polars) so that the light paths — the warehouse lock and
the "published version is current" check (lianjian/fingerprint.py) — can name it cheaply."""

TIMEZONE = "Asia/Shanghai"
