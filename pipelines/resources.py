"""Where lianjian reads and writes: landing zone, warehouse and rules file — ONE Dagster resource.

``LianjianSettings`` (resource key ``lianjian``) is the only place these three paths live. The IO
manager takes the warehouse from it (a resource dependency, ``pipelines/io_manager.py``); the assets,
checks, schedule and sensors read it; the command line passes it as run configuration
(``resources: {lianjian: {config: …}}``), never through the environment. So the Dagster UI, the daemon
and ``lianjian run`` cannot disagree about where things are.

In the deployment's Definitions each setting is ``dg.EnvVar("LIANJIAN_…")`` when that environment
variable is set where the code location loads (the daemon's and webserver's environment), else the
embedded default of docs/contract.md "Commands" — ``data/landing``, ``warehouse``, ``rules/default.yaml``, relative
to the working directory (the project's own ``rules/default.yaml`` when the working directory has
none). A run's configuration overrides both; the UI's Launchpad shows the three fields.

Every run records the paths it used as run tags (``lianjian/landing``, ``lianjian/warehouse``,
``lianjian/rules``, absolute): the schedule, the sensors and ``lianjian run`` set them with the run
configuration (``pipelines/runs.py``); a run launched from the UI without them gets them when it
starts, and a run whose tags name other paths than its configuration stops before it reads anything.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import dagster as dg
from pydantic import Field

from lianjian.errors import FatalError
from lianjian.paths import PROJECT_ROOT, SETTINGS, absolute, resolve_paths  # noqa: F401 - PROJECT_ROOT re-exported
from lianjian.rules_config import Rules, load_rules

#: Run tags naming the paths a run used (absolute), set on every run of a pipeline run.
PATH_TAGS = {"landing": "lianjian/landing", "warehouse": "lianjian/warehouse", "rules": "lianjian/rules"}
RUN_ID_TAG = "lianjian/run_id"
TRIGGER_TAG = "lianjian/trigger"

@lru_cache(maxsize=8)
def _rules(path: str, mtime_ns: int) -> Rules:
    return load_rules(path)


class LianjianSettings(dg.ConfigurableResource):
    """落地区、数据仓库与规则文件（每次运行的配置；默认取环境变量 LIANJIAN_*，否则为 data/landing、warehouse、
    rules/default.yaml）。Landing zone, warehouse and rules file of a run."""

    landing: str = Field(default=SETTINGS["landing"][1], description="落地区目录 landing zone folder")
    warehouse: str = Field(default=SETTINGS["warehouse"][1], description="数据仓库目录 warehouse folder")
    rules: str = Field(default=SETTINGS["rules"][1], description="规则文件 rules file")

    @property
    def landing_path(self) -> Path:
        return absolute("landing", self.landing)

    @property
    def warehouse_path(self) -> Path:
        return absolute("warehouse", self.warehouse)

    @property
    def rules_path(self) -> Path:
        return absolute("rules", self.rules)

    def load_rules(self) -> Rules:
        p = self.rules_path
        mtime = p.stat().st_mtime_ns if p.exists() else 0
        return _rules(str(p), mtime)

    # ---- how a run carries these settings ------------------------------------------------------
    def paths(self) -> dict[str, str]:
        """The three settings as absolute paths."""
        return {
            "landing": str(self.landing_path),
            "warehouse": str(self.warehouse_path),
            "rules": str(self.rules_path),
        }

    def run_config(self) -> dict:
        """The run configuration that pins a run to these paths."""
        return {"resources": {"lianjian": {"config": self.paths()}}}

    def tags(self) -> dict[str, str]:
        """The run tags naming these paths (``lianjian/landing``, ``lianjian/warehouse``, ``lianjian/rules``)."""
        return {PATH_TAGS[k]: v for k, v in self.paths().items()}

    @classmethod
    def resolve(
        cls, landing: str | os.PathLike | None = None, warehouse: str | os.PathLike | None = None,
        rules: str | os.PathLike | None = None,
    ) -> "LianjianSettings":
        """Settings with absolute paths: the given value, else the environment variable, else the
        default (what the command line uses; reads the environment, never writes it)."""
        return cls(**{k: str(v) for k, v in resolve_paths(landing, warehouse, rules).items()})

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> "LianjianSettings":
        """The settings a run recorded in its tags (missing ones: environment or default)."""
        return cls.resolve(**{k: tags.get(tag) for k, tag in PATH_TAGS.items()})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """At the start of a run: record the paths as run tags when the run has none (a launch from
        the UI), and stop when its tags name other paths than its configuration."""
        run, instance = context.run, context.instance
        if run is None or instance is None:
            return
        want = self.tags()
        differ = [t for t, v in want.items() if run.tags.get(t) not in (None, v)]
        if differ:
            tag = differ[0]
            raise FatalError(
                f"运行标签 {tag}={run.tags[tag]} 与运行配置 {want[tag]} 不一致 — 请在 Launchpad 中让两者一致，"
                "或去掉该标签重新启动 (run tag and run configuration name different paths)"
            )
        missing = {t: v for t, v in want.items() if t not in run.tags}
        if RUN_ID_TAG not in run.tags:  # launched by hand (the UI): its own pipeline run
            missing[RUN_ID_TAG] = run.run_id
            missing.setdefault(TRIGGER_TAG, run.tags.get(TRIGGER_TAG, "ui"))
        if missing:
            instance.add_run_tags(run.run_id, missing)


def deployment_settings():
    """The ``lianjian`` resource of the deployment's Definitions: each setting ``dg.EnvVar`` when the
    environment variable is set, else the default; configured at launch (a run's configuration
    overrides it), so the IO manager and every asset share the one resource."""
    return LianjianSettings.configure_at_launch(
        **{setting: dg.EnvVar(env) if os.environ.get(env) else default for setting, (env, default) in SETTINGS.items()}
    )


def local_resources(
    landing: str | os.PathLike | None = None,
    warehouse: str | os.PathLike | None = None,
    rules: str | os.PathLike | None = None,
) -> dict:
    """``{"lianjian": settings, "io_manager": …}`` wired as in the deployment's Definitions — one
    settings resource that the IO manager depends on — with these paths (for ``dg.materialize`` in
    tests and tools): the IO manager writes where the settings say."""
    from pipelines.io_manager import WarehouseIOManager

    settings = LianjianSettings.configure_at_launch(**LianjianSettings.resolve(landing, warehouse, rules).paths())
    return {"lianjian": settings, "io_manager": WarehouseIOManager(settings=settings)}
