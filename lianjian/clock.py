"""The procuratorate's clock: times in messages, lock records and partitions are Beijing time, and the
run date the "三个规定" monthly counts (R9) are taken as of.

Kept in a module of its own (no Dagster, no Polars) so that the light paths — the warehouse lock and
the "published version is current" check (lianjian/fingerprint.py) — can use it cheaply."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Shanghai"

#: Optional run date (YYYY-MM-DD) for R9: the notice as of that day (re-issuing a month's notice,
#: tests); default today in Asia/Shanghai.
RUN_DATE_ENV = "LIANJIAN_RUN_DATE"


def run_date(now: dt.datetime | None = None) -> dt.date:
    """The run date R9 counts begun months by: ``$LIANJIAN_RUN_DATE`` when set, else today in
    Asia/Shanghai (``now``: that moment instead of this one) (docs/rules.md R9)."""
    from lianjian.errors import FatalError

    raw = os.environ.get(RUN_DATE_ENV, "").strip()
    if not raw:
        return (now or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(TIMEZONE)).date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FatalError(f"环境变量 {RUN_DATE_ENV}={raw!r}: 不是日期 — 请写成 2025-03-15，或删除它（默认为北京时间今天）") from None


def run_month(now: dt.datetime | None = None) -> str:
    """``YYYY-MM`` of the run date: what the results depend on besides the data, rules and code (the
    monthly counts of R9 cover the months begun by then)."""
    return run_date(now).strftime("%Y-%m")
