"""The two jobs of a pipeline run and the executor (the schedule and the sensors that start them are in
``pipelines/schedules.py`` and ``pipelines/sensors.py``).

A pipeline run (``lianjian run``, the nightly schedule, the landing sensor, a launch from the UI) is two
Dagster runs, built by the same functions (``pipelines/runs.py``):

1. ``lianjian_ingest`` — landing and staging with their checks, the suites' aside (unpartitioned: it
   reads every landing file, whatever years they hold);
2. ``lianjian_assess`` — derived, assessed, the staged tables' suites (before publishing, beside the
   scoring: checks/quality.py), published and the reports, over the years the staged data
   holds (the year partitions of ``pipelines/partitions.py``; never the empty ones), launched when the
   first run succeeded: by the first run's own process when lianjian's run launcher started it (the
   project's settings: pipelines/chain.py), else by ``lianjian_assess_after_ingest`` (a run-status
   sensor) in the daemon; by ``lianjian run`` in its own process.

Both run in one process by default: the executor below is Dagster's ``multi_or_in_process_executor``
with ``in_process`` as its default, because the default multiprocess mode starts a Python process per
step that imports Dagster, Polars and Great Expectations again (≈ 10× slower on the demo data;
docs/performance.md). The multiprocess mode stays one run-configuration switch away
(``execution: {config: {multiprocess: {max_concurrent: 2}}}``, tests/test_executors.py).
"""

from __future__ import annotations

import dagster as dg

from pipelines.executor import warehouse_locked
from pipelines.runs import ASSESS_JOB, ASSESS_SELECTION, INGEST_JOB, INGEST_SELECTION

_BASE = dg.multi_or_in_process_executor

#: Dagster's in-process-or-multiprocess executor, in process unless a run's configuration says
#: ``multiprocess`` (the default of the definitions: every job, UI materializations and backfills),
#: holding the warehouse's lock for the whole run (pipelines/executor.py).
EXECUTOR = warehouse_locked(
    dg.ExecutorDefinition(
        name="lianjian_executor",
        config_schema=dg.Field(_BASE.config_schema.config_type, default_value={"in_process": {}}),
        requirements=_BASE.get_requirements,
        executor_creation_fn=_BASE.executor_creation_fn,
        description="默认单进程执行；运行配置 multiprocess 时每步一个进程。In process by default; multiprocess on request.",
    )
)

lianjian_ingest = dg.define_asset_job(
    INGEST_JOB,
    selection=INGEST_SELECTION,
    description=(
        "廉检流程第一步：读取落地区并暂存、校验（含数据质量检查）。成功后由同一进程（lianjian 的运行启动器）"
        "或传感器 lianjian_assess_after_ingest 接着运行 lianjian_assess（只算暂存数据所含的年度）。从界面运行整个流程时启动本作业。"
        " Step 1 of a pipeline run: landing and staging with their checks; lianjian_assess follows over the staged years."
    ),
)

lianjian_assess = dg.define_asset_job(
    ASSESS_JOB,
    selection=ASSESS_SELECTION,
    description=(
        "廉检流程第二步：派生 → 考核 → 暂存表数据契约检查（GX 套件，阻断发布）→ 发布 → 年度报告，按年度分区，只算暂存数据所含的年度（由 lianjian_ingest "
        "成功后自动启动）。 Step 2: derived, assessed, the staged tables' suites (they block publishing), published and reports over the years the staged data holds."
    ),
)

defs = dg.Definitions(jobs=[lianjian_ingest, lianjian_assess], executor=EXECUTOR)
