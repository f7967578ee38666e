"""The rules file is read with libyaml's safe loader when PyYAML has it (≈ 10× faster than the
pure-Python one, at the start of every run): the same data, and a file that is not YAML is still
reported with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lianjian import rules_config
from lianjian.errors import FatalError

ROOT = Path(__file__).resolve().parents[1]


def test_the_rules_file_is_read_by_libyaml_as_the_pure_python_loader_reads_it():
    assert rules_config._LOADER is yaml.CSafeLoader
    text = (ROOT / "rules" / "default.yaml").read_text(encoding="utf-8")
    rules = rules_config.load_rules(ROOT / "rules" / "default.yaml")
    assert rules.raw == yaml.safe_load(text)


def test_a_rules_file_that_is_not_yaml_is_reported_with_its_line(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text('version: "x"\nquality:\n  max_rejected_share: [0.1\n', encoding="utf-8")
    with pytest.raises(FatalError, match="第 [34] 行不是有效的 YAML"):
        rules_config.load_rules(bad)
