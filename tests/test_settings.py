"""One place for settings: landing zone, warehouse and rules file are one Dagster resource, read through
``dg.EnvVar`` in the deployment's definitions, shared with the IO manager, and passed by the command
line as run configuration — never by changing the environment. And the project's instance settings
(`lianjian ui`, dagster.yaml)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl
import yaml

from lianjian.cli import main
from pipelines.instance import INSTANCE_YAML, ensure_instance
from pipelines.io_manager import WarehouseIOManager
from pipelines.resources import SETTINGS, LianjianSettings, deployment_settings
from tests.support_ingest import write_landing

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _listing(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns) if p.is_file() else (0, 0)
    return out


def test_a_cli_run_leaves_the_environment_alone_and_writes_only_into_its_warehouse(tmp_path, monkeypatch):
    for env, _ in SETTINGS.values():
        monkeypatch.delenv(env, raising=False)
    landing = write_landing(tmp_path / "landing")
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(RULES.read_bytes())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # temporary files must not be left behind either
    warehouse = tmp_path / "X"
    # lianjian.quality switches Great Expectations' analytics off once, when it is first imported (a
    # setting of the process, before GX is imported, not of a run): import it before taking the snapshot
    import lianjian.quality.suites  # noqa: F401

    before, environ = _listing(tmp_path), dict(os.environ)

    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--rules", str(rules)])

    assert code == 0
    assert dict(os.environ) == environ  # no LIANJIAN_* (nor anything else) set by the command
    assert _listing(tmp_path, skip=warehouse) == before  # landing, rules, working directory: untouched
    assert not (cwd / "warehouse").exists() and not (cwd / ".dagster_home").exists()
    assert (warehouse / "published" / "_manifest.json").is_file()
    assert (warehouse / "staged" / "personnel.parquet").is_file()  # the IO manager wrote into X as well


@dg.asset(key=["derived", "where"])
def where(lianjian: LianjianSettings) -> pl.DataFrame:
    """A toy asset that says which warehouse its settings name; the IO manager writes it."""
    return pl.DataFrame({"warehouse": [str(lianjian.warehouse_path)]})


def _materialize(settings, run_config: dict | None = None) -> Path:
    resources = {"lianjian": settings, "io_manager": WarehouseIOManager(settings=settings)}
    result = dg.materialize([where], resources=resources, run_config=run_config or {})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return Path(event.event_specific_data.materialization.metadata["path"].value)


def test_the_io_manager_writes_where_the_settings_say(tmp_path, monkeypatch):
    # the deployment's resource: LIANJIAN_WAREHOUSE read through dg.EnvVar when set where the code loads
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(tmp_path / "from_env"))
    settings = deployment_settings()
    assert isinstance(settings.data["warehouse"], dg.EnvVar)
    assert settings.data["warehouse"].env_var_name == "LIANJIAN_WAREHOUSE"
    path = _materialize(settings)
    assert path == tmp_path / "from_env" / "derived" / "where.parquet"
    assert pl.read_parquet(path)["warehouse"][0] == str(tmp_path / "from_env")

    # resolved when the run starts: a new value is used by the asset and the IO manager alike
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(tmp_path / "changed"))
    path = _materialize(settings)
    assert path == tmp_path / "changed" / "derived" / "where.parquet"
    assert pl.read_parquet(path)["warehouse"][0] == str(tmp_path / "changed")

    # a run's configuration (what the command line passes) wins over the environment, for both
    chosen = LianjianSettings.resolve(warehouse=tmp_path / "chosen")
    path = _materialize(settings, chosen.run_config())
    assert path == tmp_path / "chosen" / "derived" / "where.parquet"
    assert pl.read_parquet(path)["warehouse"][0] == str(tmp_path / "chosen")


def test_defaults_without_environment_are_the_contracts(tmp_path, monkeypatch):
    for env, _ in SETTINGS.values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = deployment_settings()
    assert settings.data == {"landing": "data/landing", "warehouse": "warehouse", "rules": "rules/default.yaml"}
    resolved = LianjianSettings.resolve()
    assert resolved.landing_path == tmp_path / "data" / "landing"
    assert resolved.warehouse_path == tmp_path / "warehouse"
    assert resolved.rules_path == RULES  # no rules/default.yaml here: the project's own
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "default.yaml").write_bytes(RULES.read_bytes())
    assert LianjianSettings.resolve().rules_path == tmp_path / "rules" / "default.yaml"
    # flags before environment before defaults
    monkeypatch.setenv("LIANJIAN_LANDING", str(tmp_path / "env_landing"))
    assert LianjianSettings.resolve().landing_path == tmp_path / "env_landing"
    assert LianjianSettings.resolve(landing="flag").landing_path == tmp_path / "flag"


def test_the_project_instance_settings(tmp_path):
    home = tmp_path / "home"
    path = ensure_instance(home)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["telemetry"] == {"enabled": False} and config["nux"] == {"enabled": False}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert not instance.telemetry_enabled and not instance.nux_enabled
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        (limit,) = coordinator.get_run_queue_config().tag_concurrency_limits
        assert limit == {"key": "lianjian/warehouse", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    path.write_text("telemetry:\n  enabled: true\n", encoding="utf-8")
    ensure_instance(home)  # an operator's own file is never overwritten
    assert path.read_text(encoding="utf-8") != INSTANCE_YAML
    # the production example carries the same settings below its storage section
    example = yaml.safe_load((ROOT / "dagster.yaml.example").read_text(encoding="utf-8"))
    ours = yaml.safe_load(INSTANCE_YAML)
    for key in ("telemetry", "nux", "run_coordinator"):
        assert example[key] == ours[key], key


def test_an_earlier_lianjians_settings_are_brought_up_to_date_and_no_other_file(tmp_path):
    """A home whose dagster.yaml an earlier lianjian wrote (without the project's storages, so Dagster's
    own classes held the run history) gets the project's file, whose classes keep their connections;
    a file edited by hand since, the production example (PostgreSQL) and the project's own are left
    as they are."""
    import hashlib

    from support_instance import EARLIER_WITHOUT, earlier_yaml

    from pipelines.instance import EARLIER_INSTANCE_YAMLS

    for n, without in enumerate(EARLIER_WITHOUT):
        home = tmp_path / f"earlier{n}"
        home.mkdir()
        earlier = earlier_yaml(without)
        assert hashlib.sha256(earlier.encode("utf-8")).hexdigest() in EARLIER_INSTANCE_YAMLS  # what it wrote
        (home / "dagster.yaml").write_text(earlier, encoding="utf-8")
        assert ensure_instance(home).read_text(encoding="utf-8") == INSTANCE_YAML, without
        assert [p.name for p in home.iterdir()] == ["dagster.yaml"]  # no file left beside it
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.event_log_storage).__name__ == "HeldSqliteEventLogStorage"
            assert type(instance.run_storage).__name__ == "HeldSqliteRunStorage"
            assert type(instance.compute_log_manager).__name__ == "MirroredComputeLogManager"
    kept = {
        "edited": earlier_yaml(EARLIER_WITHOUT[0]).replace("max_concurrent_runs: 2", "max_concurrent_runs: 3"),
        "commented": earlier_yaml(EARLIER_WITHOUT[1]) + "# our own note\n",
        "production": (ROOT / "dagster.yaml.example").read_text(encoding="utf-8"),
        "ours": INSTANCE_YAML,
    }
    for name, text in kept.items():
        home = tmp_path / name
        home.mkdir()
        (home / "dagster.yaml").write_text(text, encoding="utf-8")
        before = (home / "dagster.yaml").stat().st_mtime_ns
        assert ensure_instance(home).read_text(encoding="utf-8") == text, name
        assert (home / "dagster.yaml").stat().st_mtime_ns == before, name


#: sha256 of ``INSTANCE_YAML`` as this code writes it. A change of the file makes every home it wrote an
#: "earlier" one: this digest then belongs in ``EARLIER_INSTANCE_YAMLS`` (so those homes are brought up
#: to date) and the new file's here.
CURRENT_INSTANCE_YAML = "890678dce156d9b1d155d5f7f332308ea5f5f820d2110ff5c145d7b347a56c77"


def test_the_settings_file_written_now_is_pinned_and_earlier_ones_are_not_it():
    """``INSTANCE_YAML`` is the file pinned above, and none of the earlier ones (whose homes
    ``ensure_instance`` writes over): changing it without recording what it replaces fails here."""
    import hashlib

    from pipelines.instance import EARLIER_INSTANCE_YAMLS

    digest = hashlib.sha256(INSTANCE_YAML.encode("utf-8")).hexdigest()
    assert digest == CURRENT_INSTANCE_YAML, (
        f"INSTANCE_YAML changed: add {CURRENT_INSTANCE_YAML} to EARLIER_INSTANCE_YAMLS, then pin {digest} here"
    )
    assert digest not in EARLIER_INSTANCE_YAMLS


def test_a_home_keeping_dagsters_sqlite_classes_is_told_what_to_add(tmp_path, monkeypatch, capsys):
    """A SQLite home whose file was edited (so not brought up to date) and keeps Dagster's own
    classes for some of the run history's sections gets one line naming them and where the fix is
    written — from `lianjian run`'s instance and from `lianjian ui`; the project's file, a PostgreSQL
    home and a home naming lianjian's classes get none."""
    from support_instance import EARLIER_WITHOUT, earlier_yaml

    from lianjian.runner import instance_for_run
    from pipelines.instance import sections_left_to_dagster

    edited = earlier_yaml(EARLIER_WITHOUT[1]) + "# our own note\n"  # no run storage, no compute logs
    named = INSTANCE_YAML.replace("module: pipelines.run_storage\n  class: HeldSqliteRunStorage",
                                  "module: dagster._core.storage.runs\n  class: SqliteRunStorage")
    assert named != INSTANCE_YAML
    cases = {
        "edited": (edited, ("run_storage", "compute_logs")),
        "named": (named, ("run_storage",)),
        "bare": ("telemetry:\n  enabled: false\n", ("event_log_storage", "run_storage", "compute_logs")),
        "ours": (INSTANCE_YAML, ()),
        "production": ((ROOT / "dagster.yaml.example").read_text(encoding="utf-8"), ()),
        "other database": ("event_log_storage:\n  module: elsewhere\n  class: PostgresEventLogStorage\n", ()),
    }
    for name, (text, left) in cases.items():
        home = tmp_path / name
        home.mkdir()
        (home / "dagster.yaml").write_text(text, encoding="utf-8")
        assert sections_left_to_dagster(home / "dagster.yaml") == left, name

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "edited"))
    capsys.readouterr()
    with instance_for_run():
        pass
    err = capsys.readouterr().err
    assert "run_storage、compute_logs" in err and "A home made by older code" in err
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "ours"))
    with instance_for_run():
        pass
    assert "提示" not in capsys.readouterr().err

    import lianjian.ui as ui

    monkeypatch.setattr(ui, "dagster_home", lambda: tmp_path / "edited")
    monkeypatch.setattr(ui.os, "execve", lambda exe, cmd, env: None)
    ui.ui_command(ui.LianjianSettings.resolve())
    assert "run_storage、compute_logs" in capsys.readouterr().err


def test_lianjian_ui_starts_dagster_dev_with_the_project_instance_and_paths(tmp_path, monkeypatch):
    import lianjian.ui as ui

    for env, _ in SETTINGS.values():
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setattr(ui, "PROJECT_DAGSTER_HOME", ".dagster_home")
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(ui.os, "execve", lambda exe, cmd, env: calls.append((cmd, env)))
    environ = dict(os.environ)
    assert main(["ui", "--warehouse", "wh", "--port", "3999"]) == 0
    (cmd, env), = calls
    assert cmd[cmd.index("-m") + 1 : cmd.index("-m") + 3] == ["dagster", "dev"]
    assert cmd[cmd.index("-w") + 1] == str(ROOT / "workspace.yaml")
    assert cmd[cmd.index("-p") + 1] == "3999"
    assert env["DAGSTER_HOME"] == str(tmp_path / ".dagster_home")
    assert (tmp_path / ".dagster_home" / "dagster.yaml").read_text(encoding="utf-8") == INSTANCE_YAML
    assert env["LIANJIAN_WAREHOUSE"] == str(tmp_path / "wh") and env["LIANJIAN_LANDING"] == str(tmp_path / "data" / "landing")
    assert dict(os.environ) == environ
    # `lianjian run` records its runs in that instance from now on, so the UI shows them
    from lianjian.runner import instance_for_run

    with instance_for_run() as instance:
        assert instance.is_persistent and Path(instance.root_directory) == tmp_path / ".dagster_home"
