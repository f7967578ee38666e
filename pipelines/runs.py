"""How a pipeline run is requested — the same functions for the nightly schedule, the landing sensor,
a launch from the UI and ``lianjian run`` (docs/architecture.md, "Running").

A pipeline run is two Dagster runs:

1. ``lianjian_ingest`` (landing + staging and their checks, but the suites'), requested by
   ``ingest_request``;
2. ``lianjian_assess`` (derived → assessed → the staged tables' suites → published → reports; the
   suites block publishing, not the scoring: checks/quality.py), requested by ``assess_request``
   once the first run succeeded — over the years the staged data holds (``years_to_assess``: each
   source's ``year_from`` column, so never an empty year, widened to a year whose data has left the
   landing zone so that its results are emptied), narrowed to the years whose staged data changed
   since they were computed (``changed_years``, lianjian/digests.py), or the years the pipeline run
   was asked for.

Why two runs: a Dagster run's partitions are fixed when it is launched, and the years are known only
once the landing files are read and staged. The daemon chains them with the run-status sensor
``lianjian_assess_after_ingest``; ``lianjian run`` executes both requests in its own process, and so
does the process of a first run that lianjian's run launcher started (pipelines/chain.py), which the
launcher says on that run when it launches it (``CHAINS_TAG``): the sensor leaves such a run alone.

Every run of one pipeline run carries the same ``lianjian/*`` tags: ``lianjian/run_id`` (one id for
the pipeline run), ``lianjian/landing``, ``lianjian/warehouse``, ``lianjian/rules`` (absolute paths,
equal to the run configuration), ``lianjian/trigger`` (nightly, landing, cli, ui); the second run also
``lianjian/ingest_run`` (the first run's Dagster id), which the manifest lists with its own. The
instance's run queue allows one run per ``lianjian/warehouse`` value (dagster.yaml.example).
"""

from __future__ import annotations

import uuid

import dagster as dg

from checks.quality import SUITE_CHECK_KEYS
from lianjian.errors import FatalError
from pipelines.partitions import parse_years, range_tags, years_to_assess
from pipelines.resources import PATH_TAGS, RUN_ID_TAG, TRIGGER_TAG, LianjianSettings

INGEST_JOB = "lianjian_ingest"
ASSESS_JOB = "lianjian_assess"

#: The asset groups of the first run; everything else is the second run's, and so are the checks fed
#: by the staged tables' suites: they block publishing, not the scoring (checks/quality.py), so they
#: run beside it, in the second run.
INGEST_GROUPS = ("landing", "staged")
SUITES_SELECTION = dg.AssetSelection.checks(*SUITE_CHECK_KEYS)
INGEST_SELECTION = dg.AssetSelection.groups(*INGEST_GROUPS) - SUITES_SELECTION
ASSESS_SELECTION = (dg.AssetSelection.all() - dg.AssetSelection.groups(*INGEST_GROUPS)) | SUITES_SELECTION
REPORTS_GROUP = "reports"

INGEST_RUN_TAG = "lianjian/ingest_run"
#: Optional: only these years (``2024`` or ``2021-2025``) instead of the staged data's years.
YEARS_TAG = "lianjian/years"
#: Optional: ``skip`` leaves the yearly reports out of the second run (the benchmark's "to publish").
REPORTS_TAG = "lianjian/reports"
#: On a second run: the year-partitioned results it keeps as they are (``kept_assets``), for the UI.
KEPT_TAG = "lianjian/kept"
#: The layers of year-partitioned results a second run may keep.
KEEPABLE_GROUPS = ("derived", "assessed")
#: On a first run: its own id when the process that executes it executes the second run too (lianjian's
#: run launcher, pipelines/chain.py), set when it is launched, so before it can end. The run's id, not
#: a flag: a run re-executed from the UI copies its parent's tags, and one launched by Dagster's own
#: launcher must still be chained by the sensor. Not under ``lianjian/`` (copied to the second run).
CHAINS_TAG = "lianjian-launcher/chains"


def chained_in_its_process(ingest_run: dg.DagsterRun) -> bool:
    """Whether ``ingest_run``'s own process executes its second run (then the sensor must not)."""
    return ingest_run.tags.get(CHAINS_TAG) == ingest_run.run_id


def new_run_id() -> str:
    return str(uuid.uuid4())


def ingest_request(
    settings: LianjianSettings,
    *,
    trigger: str,
    run_key: str | None = None,
    years: str | None = None,
    reports: bool = True,
    run_id: str | None = None,
    extra_tags: dict[str, str] | None = None,
    force: bool = False,
) -> dg.RunRequest | dg.SkipReason:
    """The first run of a pipeline run: landing and staging, pinned to ``settings`` (run configuration
    and tags). ``years`` (checked here) and ``reports=False`` are passed on to the second run as tags.

    A ``SkipReason`` instead when the published version is current — no landing file, the rules file
    nor the code changed since it was published, and its run finished (lianjian/fingerprint.py,
    checked under the warehouse lock without waiting) — unless ``force`` or ``years`` (asking for
    years is asking to recompute them)."""
    if not force and not years:
        from lianjian.fingerprint import check_current

        current = check_current(settings.landing_path, settings.warehouse_path, settings.rules_path)
        if current is not None:
            return dg.SkipReason(current.message())
    tags = {RUN_ID_TAG: run_id or new_run_id(), TRIGGER_TAG: trigger, **settings.tags(), **(extra_tags or {})}
    if years:
        first, last = parse_years(years)
        tags[YEARS_TAG] = first if first == last else f"{first}-{last}"
    if not reports:
        tags[REPORTS_TAG] = "skip"
    return dg.RunRequest(run_key=run_key, job_name=INGEST_JOB, run_config=settings.run_config(), tags=tags)


def requested_subset(job, request: dg.RunRequest):
    """(job, asset selection) to execute ``request`` with, as Dagster's run launcher executes it:
    when the request names its checks (``asset_check_keys``: the second run without the reports, or
    with kept years — the suites' checks are on staged tables it does not select), the job's subset of
    those assets and checks, and no further selection; else the job and the request's assets.
    ``job``: a job definition (``lianjian run``) or a reconstructable job (the daemon's path in
    benchmarks/daemon_path.py) — both subset alike."""
    if request.asset_check_keys is None:
        return job, request.asset_selection
    subset = job.get_subset(asset_selection=set(request.asset_selection or ()), asset_check_selection=set(request.asset_check_keys))
    return subset, None


def newer_ingest_run(instance: dg.DagsterInstance, ingest_run: dg.DagsterRun, warehouse_tag: str) -> dg.DagsterRun | None:
    """A first run on the same warehouse created after ``ingest_run``: it has replaced (or is replacing)
    the staged tables, so assessing them would not assess ``ingest_run``'s data."""
    record = instance.get_run_record_by_id(ingest_run.run_id)
    if record is None:
        return None
    later = instance.get_runs(
        filters=dg.RunsFilter(job_name=INGEST_JOB, tags={PATH_TAGS["warehouse"]: warehouse_tag}, created_after=record.create_timestamp),
        limit=5,
    )
    return next((r for r in later if r.run_id != ingest_run.run_id), None)


def _record_key(settings: LianjianSettings) -> dict[str, str] | None:
    """What recorded results must have been computed with to be compared (lianjian/digests.py): the
    rules file's SHA-256, the code version and the run month; None when the rules file cannot be
    read or the run date is not a date (the run itself says so)."""
    from lianjian.clock import run_month
    from lianjian.fingerprint import code_version
    from lianjian.files import sha256_file

    try:
        return {"rules_sha256": sha256_file(settings.rules_path), "code_version": code_version(), "run_month": run_month()}
    except (OSError, FatalError):
        return None


def changed_years(settings: LianjianSettings) -> tuple[str, str]:
    """The years the second run recomputes when none were asked for: of the years a full run would
    compute (``years_to_assess``), those whose staged data changed since their results were computed,
    widened by what the rules read across years (lianjian/digests.py) — every year when that is not
    known. When no year changed (the landing files' bytes changed, not their rows), the last year
    alone: the run still publishes the new manifest and reports, and one year is the least a run
    computes."""
    from lianjian.digests import dirty_years, widening

    first, last = years_to_assess(settings.warehouse_path)
    key = _record_key(settings)
    if key is None:
        return first, last
    try:
        dirty = dirty_years(settings.warehouse_path, first=int(first), last=int(last), widen=widening(settings.load_rules()), **key)
    except FatalError:  # a rules file that does not load: the run itself says so
        return first, last
    if dirty is None:
        return last, last
    return str(dirty[0]), str(dirty[1])


def kept_assets(settings: LianjianSettings, graph, first: str, last: str) -> set[dg.AssetKey]:
    """The year-partitioned results (derived, assessed) that the second run need not compute again:
    none of the staged sources they read, directly or through other results, changed since the
    results were computed (lianjian/digests.py ``changed_sources``: same rules file, code and run
    month, no half-finished run since), and a file of each of the run's years is there. They keep
    their files — the same rows from the same inputs — and publishing reads them as they are
    (docs/operations.md, "只重算变化的年度"). An operation that computes several results keeps all
    of them or none."""
    from lianjian.digests import changed_sources
    from pipelines.io_manager import table_path

    key = _record_key(settings)
    changed = None if key is None else changed_sources(settings.warehouse_path, **key)
    if changed is None:
        return set()
    selected = ASSESS_SELECTION.resolve(graph)
    years = [str(y) for y in range(int(first), int(last) + 1)]
    kept: set[dg.AssetKey] = set()
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if key not in selected or node.partitions_def is None or node.group_name not in KEEPABLE_GROUPS:
            continue
        sources_same = all((p.path[0] == "staged" and p.path[-1] not in changed) or p in kept for p in node.parent_keys)
        if sources_same and all(table_path(settings.warehouse_path, key, y).is_file() for y in years):
            kept.add(key)
    while True:  # all outputs of an operation, and nothing downstream of one computed again
        dropped = {
            k
            for k in kept
            if not {s for s in graph.get_execution_set_asset_and_check_keys(k) if isinstance(s, dg.AssetKey)} <= kept
            or not all(p.path[0] == "staged" or p in kept for p in graph.get(k).parent_keys)
        }
        if not dropped:
            return kept
        kept -= dropped


def assess_request(ingest_run: dg.DagsterRun, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    """The second run of the pipeline run whose first run is ``ingest_run`` (succeeded): the same
    ``lianjian/*`` tags and paths, over the years the staged data holds (or the years asked for)."""
    tags = {k: v for k, v in ingest_run.tags.items() if k.startswith("lianjian/")}
    tags.setdefault(RUN_ID_TAG, ingest_run.run_id)
    settings = LianjianSettings.from_tags(tags)
    tags.update(settings.tags())
    tags[INGEST_RUN_TAG] = ingest_run.run_id
    later = newer_ingest_run(instance, ingest_run, tags[PATH_TAGS["warehouse"]])
    if later is not None:
        return dg.SkipReason(
            f"数据仓库 {settings.warehouse_path} 在运行 {ingest_run.run_id[:8]} 之后又由运行 {later.run_id[:8]} 重新暂存，"
            "由后者接着考核与发布 (a later staging run replaced the staged data)"
        )
    first, last = parse_years(tags[YEARS_TAG]) if YEARS_TAG in tags else changed_years(settings)
    asset_selection = asset_check_keys = None
    skip_reports = tags.get(REPORTS_TAG) == "skip"
    kept: set[dg.AssetKey] = set()
    if skip_reports or YEARS_TAG not in tags:
        from pipelines.definitions import defs

        graph = defs.resolve_asset_graph()
        if YEARS_TAG not in tags:
            kept = kept_assets(settings, graph, first, last)
        if skip_reports or kept:
            asset_selection = sorted(
                k
                for k in ASSESS_SELECTION.resolve(graph)
                if k not in kept and not (skip_reports and graph.get(k).group_name == REPORTS_GROUP)
            )
            # the selected assets' own checks and the suites' (whose staged tables are not selected)
            asset_check_keys = sorted(
                (k for k in ASSESS_SELECTION.resolve_checks(graph) if k.asset_key in asset_selection or k in SUITE_CHECK_KEYS),
                key=lambda k: k.to_user_string(),
            )
        if kept:
            tags[KEPT_TAG] = ",".join(sorted(k.to_user_string() for k in kept))
    return dg.RunRequest(
        run_key=f"{tags[RUN_ID_TAG]}:assess",
        job_name=ASSESS_JOB,
        run_config=settings.run_config(),
        tags={**tags, **range_tags(first, last)},
        asset_selection=asset_selection,
        asset_check_keys=asset_check_keys,
    )
