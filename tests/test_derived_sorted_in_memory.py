"""R1's talk obligations come in the order of their key without a sort of the table by its text key
(docs/performance.md, "The assessed steps' inputs read once a year"): the roster's rows are sorted by
(year, person_id) and numbered, every obligation carries its person's number and its code's place in
the codes' text order, and the obligations are sorted by those integers and the event id; the
matched talks are put back in their rows, not joined. The golden and boundary tests of R1
(tests/test_r1_talks.py, tests/test_rules_boundaries.py) and the key order
(tests/test_scoring_outputs.py) hold the rows."""

from pathlib import Path

import polars as pl
import pytest

from lianjian.rules_config import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _staged(wh: Path, name: str) -> pl.LazyFrame:
    return pl.scan_parquet(wh / "staged" / f"{name}.parquet")


def test_talk_obligations_come_in_key_order_without_a_sort_by_their_text_key(demo_run):
    from lianjian.scoring.talks import TABLE, talk_obligations

    _, wh = demo_run
    sorts: list[tuple[str, ...]] = []
    plans: list[str] = []
    frame_sort, lazy_sort, collect = pl.DataFrame.sort, pl.LazyFrame.sort, pl.LazyFrame.collect

    def names(by, more) -> tuple[str, ...]:
        by = list(by) if isinstance(by, list | tuple) else [by]
        return tuple(b if isinstance(b, str) else b.meta.output_name() for b in [*by, *more])

    def recording_frame_sort(self, by, *more, **kwargs):
        sorts.append(names(by, more))
        return frame_sort(self, by, *more, **kwargs)

    def recording_lazy_sort(self, by, *more, **kwargs):
        sorts.append(names(by, more))
        return lazy_sort(self, by, *more, **kwargs)

    def recording_collect(self, *args, **kwargs):
        plans.append(self.explain())
        return collect(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(pl.DataFrame, "sort", recording_frame_sort)
        m.setattr(pl.LazyFrame, "sort", recording_lazy_sort)
        m.setattr(pl.LazyFrame, "collect", recording_collect)
        out = talk_obligations(
            _staged(wh, "personnel"), _staged(wh, "departments"), _staged(wh, "personnel_events"), _staged(wh, "talks"),
            load_rules(RULES),
        )
        rows = out.collect()
    # the roster sorted by its key, the obligations by the person's number, the code's place and the
    # event id; never the obligations by their text key
    assert ("year", "person_id") in sorts
    assert ("_person", "_order", "event_id") in sorts
    assert not any(set(s) >= {"person_id", "obligation"} for s in sorts)
    # no join of the matched talks back to the obligations
    assert plans and not any('ON: [col("_row")]' in p for p in plans)
    assert rows.height > 100
    assert rows.equals(rows.sort(list(TABLE.key), nulls_last=True))


def test_the_obligation_codes_are_ranked_in_their_text_order():
    from lianjian.contract import ENUMS
    from lianjian.scoring.talks import _ORDER

    codes = ENUMS["obligation"].codes
    assert sorted(codes, key=_ORDER.__getitem__) == pl.Series(codes, dtype=pl.String).sort().to_list()
