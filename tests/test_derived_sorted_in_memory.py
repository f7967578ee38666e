"""R1's talk obligations are sorted as a frame in memory, not by the streaming engine's sort at the
end of the plan (docs/performance.md, "The talk obligations sorted in memory"): the same rows in
the same order, for less CPU. The golden and boundary tests of R1 (tests/test_r1_talks.py,
tests/test_rules_boundaries.py) and the key order (tests/test_scoring_outputs.py) hold the rows."""

from pathlib import Path

import polars as pl
import pytest

from lianjian.rules_config import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _staged(wh: Path, name: str) -> pl.LazyFrame:
    return pl.scan_parquet(wh / "staged" / f"{name}.parquet")


def test_talk_obligations_are_sorted_in_memory_by_their_key(demo_run):
    from lianjian.scoring.talks import TABLE, talk_obligations

    _, wh = demo_run
    plans: list[str] = []
    sorts: list[tuple] = []
    collect, sort = pl.LazyFrame.collect, pl.DataFrame.sort

    def recording_collect(self, *args, **kwargs):
        plans.append(self.explain())
        return collect(self, *args, **kwargs)

    def recording_sort(self, by, *more, **kwargs):
        sorts.append((tuple(by) if isinstance(by, list) else (by, *more), kwargs.get("nulls_last")))
        return sort(self, by, *more, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(pl.LazyFrame, "collect", recording_collect)
        m.setattr(pl.DataFrame, "sort", recording_sort)
        out = talk_obligations(
            _staged(wh, "personnel"), _staged(wh, "departments"), _staged(wh, "personnel_events"), _staged(wh, "talks"),
            load_rules(RULES),
        )
        n_plans = len(plans)
        rows = out.collect()
    # computed when called; what is left is the rows held in memory, sorted there by the key
    assert (tuple(TABLE.key), True) in sorts
    assert not any("SORT BY" in p for p in plans[:n_plans])
    assert plans[-1].lstrip().startswith("DF [")
    assert rows.height > 100
    assert rows.equals(rows.sort(list(TABLE.key), nulls_last=True))
