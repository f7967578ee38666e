"""`lianjian ui`: the Dagster UI (and daemon) over the project's definitions, with the project's instance
settings and the same paths `lianjian run` would use here.

- The instance folder is ``$DAGSTER_HOME``, else ``./.dagster_home`` (made on first use, with the
  settings of ``pipelines/instance.py``: no telemetry, no community pop-up, one queued run per
  warehouse). `lianjian run` records its runs there too once it exists, so the UI shows them.
- The paths (--landing, --warehouse, --rules, else LIANJIAN_*, else the defaults) are passed to the UI's
  process as absolute LIANJIAN_* variables, which the definitions read through ``dg.EnvVar``: runs
  launched from the UI, the schedule and the sensors use the same folders as `lianjian run` here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.instance import ensure_instance, instance_notice
from pipelines.resources import PROJECT_ROOT, SETTINGS, LianjianSettings

PROJECT_DAGSTER_HOME = ".dagster_home"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_DAGSTER_HOME).expanduser().absolute()


def ui_environment(settings: LianjianSettings, home: Path) -> dict[str, str]:
    """The UI process's environment: this one plus DAGSTER_HOME and the three paths."""
    env = dict(os.environ, DAGSTER_HOME=str(home))
    for setting, path in settings.paths().items():
        env[SETTINGS[setting][0]] = path
    return env


def ui_command_line(host: str, port: int) -> list[str]:
    """``dagster dev`` (webserver, daemon and code server). ``-W ignore::FutureWarning`` silences, in
    this launcher process only, Dagster's notice that ``dagster dev`` is superseded by ``dg dev`` (a
    separate package that lianjian does not need)."""
    return [
        sys.executable, "-W", "ignore::FutureWarning", "-m", "dagster", "dev",
        "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port),
    ]


def ui_command(settings: LianjianSettings, *, port: int = 3000, host: str = "127.0.0.1") -> int:
    """Replaces this process by ``dagster dev`` (so Ctrl+C and a service manager's stop reach the
    webserver and daemon directly, and nothing is left running)."""
    home = dagster_home()
    notice = instance_notice(ensure_instance(home))
    if notice:
        print(notice, file=sys.stderr, flush=True)
    print(
        f"Dagster 界面 http://{host}:{port}（实例 {home}；落地区 {settings.landing_path}；数据仓库 {settings.warehouse_path}）"
        " — 按 Ctrl+C 退出",
        file=sys.stderr,
        flush=True,
    )
    cmd = ui_command_line(host, port)
    os.execve(cmd[0], cmd, ui_environment(settings, home))
    return 0  # not reached
