"""System packages some tests need, installed by `python3 dev.py test` before pytest runs.

The yearly-report test (tests/test_report_browser.py) renders the report in Debian's headless
Chromium and needs a Chinese font for the screenshot to show Chinese rather than boxes. This script
installs, only when missing and only as root on Debian/Ubuntu:

- ``chromium`` (Debian's own build; no browser is downloaded from anywhere else);
- ``fonts-wqy-microhei`` (文泉驿微米黑, ~5 MB: the smallest complete CJK font in Debian; the report's
  font stack names it after Microsoft YaHei / SimSun / Noto Sans CJK SC, so the same page uses the
  fonts a Windows or Kylin desktop already has).

It never fails the build: anything that goes wrong is one line on stdout and exit status 0. The
browser test itself skips (outside CI) or fails (in CI) when Chromium is still missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGES = {  # Debian package -> a file whose presence means it is installed
    "chromium": Path("/usr/bin/chromium"),
    "fonts-wqy-microhei": Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
}


def note(msg: str) -> None:
    print(f"[lianjian] setup_extra: {msg}", flush=True)


def is_debian() -> bool:
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def missing() -> list[str]:
    return [pkg for pkg, marker in PACKAGES.items() if not marker.exists()]


def main() -> int:
    todo = missing()
    if not todo:
        return 0
    if os.name != "posix" or not is_debian():
        note(f"未安装 {' '.join(todo)}，且不是 Debian 系统，浏览器测试将跳过 (not Debian: install them yourself)")
        return 0
    if os.geteuid() != 0:
        note(f"未安装 {' '.join(todo)}，需要 root 权限安装 (run as root or: sudo apt-get install {' '.join(todo)})")
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=900)
    try:
        note(f"正在安装 {' '.join(todo)} (installing for the report browser test)")
        subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *todo],
            check=True,
            **quiet,
        )
    except (subprocess.SubprocessError, OSError) as err:
        note(f"安装 {' '.join(todo)} 失败，浏览器测试将跳过（CI 中会失败）: {type(err).__name__}")
        return 0
    still = missing()
    if still:
        note(f"安装后仍缺少 {' '.join(still)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
