"""The process of one run launched by the daemon (the nightly schedule, the sensors) or the UI, as
lianjian's run launcher starts it (pipelines/launcher.py):

    python -m pipelines.run_process [--suites-beside-staging LANDING] EXECUTE_RUN_ARGS

— or forked from the launcher's warm process (pipelines/warm_process.py), which calls :func:`main` with
the same arguments. ``EXECUTE_RUN_ARGS`` is what ``dagster api execute_run`` takes (Dagster's ``ExecuteRunArgs``: the job's
code origin, the run's id, the instance), and the run is executed as that command executes it — the
run's events, status, failure and termination are Dagster's own.

What comes first: with ``--suites-beside-staging``, the suite worker (lianjian/quality/worker.py) is
started before anything else, Dagster included, so that it imports Great Expectations while this
process imports Dagster and the definitions and opens the instance (≈ 3 s of one core before the
run's executor, which started the worker until then: docs/performance.md). The launcher passes it for a
first run (``lianjian_ingest``) executed in process over a landing zone small enough for the worker
beside staging — the executor's own condition (pipelines/executor.py ``start_suite_worker``), which
then finds the worker started.

What comes next: after a first run (``lianjian_ingest``) that succeeded, the pipeline run's second run
is requested, created and executed in this process (pipelines/chain.py ``execute_assess_after``), as
``lianjian run`` does: no second import of Dagster, instance and definitions, no sensor tick, and the
suite worker still running, so that the second run finds the suites handed to it during the first.

What comes last: after the run(s) that succeeded, the suites handed to the worker are waited for (their
results cached in the warehouse) before the process ends — the run's status is already recorded, and
a later run finds them cached instead of importing Great Expectations again. After a failed or
terminated run the worker is ended at once.

Nothing above this module's ``main`` imports Dagster: the worker starts first.
"""

from __future__ import annotations

import sys
from pathlib import Path

BESIDE_STAGING = "--suites-beside-staging"


def arguments(job_args: str, *, landing: Path | None = None) -> list[str]:
    """The arguments of :func:`main`: ``job_args`` (serialized ``ExecuteRunArgs``), and the landing zone
    when the suite worker is to start beside staging."""
    return [BESIDE_STAGING, str(landing), job_args] if landing is not None else [job_args]


def command(job_args: str, *, landing: Path | None = None, executable: str | None = None) -> list[str]:
    """The command line of a run's process (:func:`arguments`)."""
    return [executable or sys.executable, "-m", "pipelines.run_process", *arguments(job_args, landing=landing)]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [BESIDE_STAGING]:
        from lianjian.quality.worker import warm_beside_staging

        warm_beside_staging(Path(args[1]))
        args = args[2:]
    (job_args,) = args
    from dagster._cli.api import execute_run_command
    from dagster._utils.interrupts import setup_interrupt_handlers

    from lianjian.quality.worker import suite_worker

    setup_interrupt_handlers()  # SIGTERM (the launcher's ``terminate``) interrupts as SIGINT does
    try:
        execute_run_command.callback(input_json=job_args, compressed_input_json=None)
        from pipelines.chain import execute_assess_after

        execute_assess_after(job_args)
    except BaseException:  # a failed run (its exit code), an interrupt: nothing more to wait for
        suite_worker().close(kill=True)
        raise
    suite_worker().finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
