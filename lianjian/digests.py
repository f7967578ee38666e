"""Only the years whose inputs changed: which assessment years a pipeline run's second run recomputes
(docs/operations.md, "只重算变化的年度"; docs/performance.md).

Staging writes ``<warehouse>/staged/_year_digests.json`` (lianjian/ingest/digests.py): per source
and assessment year (the contract's ``year_from`` column of the source; rows without a year under
``"none"``), a digest of that year's staged rows in their stored order::

    {"version": 2, "sources": {"talks": {"2024": "<sha256 hex>", ...}, ...}}

A digests file of another version (version 1, written by older code: two row hashes a row) is not
read: the run then computes every year, once.

When the second run has published, it records what its results were computed from in
``<warehouse>/derived/_computed_from.json`` (private): those digests, the rules file's SHA-256, the
code version and the month of the run date (R9's monthly counts depend on it). The next second run
recomputes only the years that differ, widened by what the rules read across years
(:func:`dirty_years`):

- a changed year Y of any source dirties Y−1 (R1: a talk in Y fulfils an obligation whose window
  began in Y−1), Y, and Y+1 and Y+2 (R7 counts the two previous years' reports; R9's month-on-month
  change reads the previous December) — wider when the rules file's must-talk windows reach further
  than a year (:func:`widening`: a window ending ``to`` days after its event lets a talk of Y fulfil
  an event up to ⌈to / 365⌉ years earlier, one starting ``-from`` days before it an event up to
  ⌈-from / 365⌉ years later);
- a changed year Y of ``cases`` dirties every year up to Y as well (R5: a case counts in every year
  from the one it was accepted in to the one it was closed in, and its digest year is the closing
  year);
- a change under ``"none"`` (units, open cases …), of the rules file, of the code version or of the
  run date's month, no record, or no digests: every year;
- a year whose result files were written after the record (a run that failed half-way): that year
  again;
- a year whose data left the landing zone is emptied, as before (``years_to_assess``).

R4 and publishing read every year and are not partitioned: they always run. A Dagster run's
partitions are one contiguous range, so the run computes min..max of the dirty years, within the
range a full run would compute. Results are byte-identical to a full recompute: every year-partitioned
asset computes a year from the whole staged tables, so a year whose inputs (widened as above) did not
change gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

DIGESTS_FILE = "_year_digests.json"
COMPUTED_FILE = "_computed_from.json"
VERSION = 1
#: The version of ``staged/_year_digests.json`` (lianjian/ingest/digests.py writes it): 2 since a
#: year's digest hashes one 64-bit row hash a row (1: two). A file of any other version is not read,
#: so every year counts as changed (its digests are not comparable with those recorded).
DIGESTS_VERSION = 2
NO_YEAR = "none"
#: Sources whose rows count in years before their digest year (R5: accepted … closed).
SPANS_EARLIER_YEARS = ("cases",)
#: A changed year Y dirties Y+offset for each of these (R1 backwards one year; R7/R9 forwards two),
#: at least; :func:`widening` widens it for must-talk windows longer than a year.
WIDEN = (-1, 0, 1, 2)
#: Days of the shortest year: a window of D days crosses at most ⌈D / 365⌉ New Years.
YEAR_DAYS = 365


def widening(rules) -> tuple[int, ...]:
    """The offsets a changed year dirties under ``rules`` (lianjian.rules_config.Rules): :data:`WIDEN`,
    reaching back ⌈max to / 365⌉ and ahead ⌈max(−from) / 365⌉ years when the must-talk windows
    (``talks.must_talk_windows``, in the base settings or any year's override) reach beyond one year."""
    settings = [rules.settings(), *(rules.settings(y) for y in rules.overrides)]
    windows = [w for s in settings for w in s.talks.must_talk_windows.values()]
    back = max([-min(WIDEN), *(-(-w.to // YEAR_DAYS) for w in windows)])
    ahead = max([max(WIDEN), *(-(w.from_ // YEAR_DAYS) for w in windows)])
    return tuple(range(-back, ahead + 1))
#: The year-partitioned layers whose files a half-finished run may have rewritten.
PARTITIONED_LAYERS = ("derived", "assessed")


def _read(path: Path, version: int = VERSION) -> dict | None:
    """The JSON object in ``path`` when it is of ``version``, else None."""
    from lianjian.files import read_json

    data = read_json(path)
    return data if data is not None and data.get("version") == version else None


def _write(path: Path, data: dict) -> None:
    from lianjian.files import private_mkdir, write_json_private

    private_mkdir(path.parent)
    write_json_private(path, data, sort_keys=True)


def read_year_digests(warehouse: Path) -> dict | None:
    """The staged tables' digests (written by staging: lianjian/ingest/digests.py), None when there are
    none (every year is then recomputed)."""
    data = _read(Path(warehouse) / "staged" / DIGESTS_FILE, DIGESTS_VERSION)
    return data if data is not None and isinstance(data.get("sources"), dict) else None


def computed_path(warehouse: Path) -> Path:
    return Path(warehouse) / "derived" / COMPUTED_FILE


def record_computed(
    warehouse: Path, *, rules_sha256: str, code_version: str, run_month: str | None, all_years: bool, published_version: str | None = None
) -> None:
    """After the second run published: its results, every year of them, were computed from the staged
    digests now, this rules file, this code and this run month. A run limited to some years
    (``--years``) leaves the other years as they were, so it removes the record instead: the next run
    recomputes every year."""
    path = computed_path(warehouse)
    digests = read_year_digests(warehouse)
    if not all_years or digests is None or run_month is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    _write(
        path,
        {
            "version": VERSION,
            "sources": digests["sources"],
            "rules_sha256": rules_sha256,
            "code_version": code_version,
            "run_month": run_month,
            "published_version": published_version,
        },
    )


def recorded_for(warehouse: Path, published_version: str) -> bool:
    """Whether the record was written when ``published_version`` was published: then the years a
    run does not compute again are that version's results, and publishing may link their files."""
    data = _read(computed_path(warehouse))
    return data is not None and data.get("published_version") == published_version


def _rewritten_since(warehouse: Path, since_ns: int) -> set[int]:
    """Years whose result files were written after ``since_ns`` (a run that failed after writing them)."""
    years: set[int] = set()
    for layer in PARTITIONED_LAYERS:
        root = Path(warehouse) / layer
        if not root.is_dir():
            continue
        for path in root.glob("*/*.parquet"):
            if path.stem.isdigit():
                try:
                    if path.stat().st_mtime_ns > since_ns:
                        years.add(int(path.stem))
                except OSError:
                    continue
    return years


def _comparable(warehouse: Path, rules_sha256: str, code_version: str, run_month: str) -> tuple[dict, dict, Path] | None:
    """(recorded digests, staged digests now, the record's path) when the record was written for this
    rules file, code and run month and both are there; None otherwise (nothing can be compared)."""
    now = read_year_digests(warehouse)
    path = computed_path(warehouse)
    before = _read(path)
    if now is None or before is None:
        return None
    if (before.get("rules_sha256"), before.get("code_version"), before.get("run_month")) != (rules_sha256, code_version, run_month):
        return None
    return before.get("sources") or {}, now["sources"], path


def changed_sources(warehouse: Path, *, rules_sha256: str, code_version: str, run_month: str) -> set[str] | None:
    """The sources whose staged digests (any year, or rows without a year) differ from those the
    recorded results were computed from; None when that is not known — no record or no digests,
    another rules file, code or run month, or result files written after the record (a run that
    failed half-way): then every result counts as changed. A year-partitioned result none of whose
    sources is in this set is computed from the same rows as before and need not be computed again
    (pipelines/runs.py ``kept_assets``)."""
    compared = _comparable(warehouse, rules_sha256, code_version, run_month)
    if compared is None:
        return None
    old, new, path = compared
    try:
        if _rewritten_since(warehouse, path.stat().st_mtime_ns):
            return None
    except OSError:
        return None
    return {s for s in set(old) | set(new) if (old.get(s) or {}) != (new.get(s) or {})}


def dirty_years(
    warehouse: Path,
    *,
    first: int,
    last: int,
    rules_sha256: str,
    code_version: str,
    run_month: str,
    widen: tuple[int, ...] = WIDEN,
) -> tuple[int, int] | None:
    """The years to recompute, as one range within ``first``..``last`` (what a full run computes),
    or None when no year needs it; ``widen``: the offsets a changed year dirties (:func:`widening` of
    the rules file). See the module docstring for the rules."""
    every = (first, last)
    compared = _comparable(warehouse, rules_sha256, code_version, run_month)
    if compared is None:
        return every
    old, new, path = compared
    dirty: set[int] = set()
    for source in set(old) | set(new):
        a, b = old.get(source) or {}, new.get(source) or {}
        for key in set(a) | set(b):
            if a.get(key) == b.get(key):
                continue
            if key == NO_YEAR or not str(key).isdigit():
                return every
            year = int(key)
            dirty.update(year + d for d in widen)
            if source in SPANS_EARLIER_YEARS:
                dirty.update(range(first, year + 1))
    try:
        dirty |= _rewritten_since(warehouse, path.stat().st_mtime_ns)
    except OSError:
        return every
    dirty = {y for y in dirty if first <= y <= last}
    if not dirty:
        return None
    return min(dirty), max(dirty)
