"""Regenerate lianjian/contract/traditional.json: the traditional-character forms of every Chinese
header and enumeration label of the contract. A developer tool (needs `pip install zhconv`); the
output is committed so the pipeline needs no converter at run time."""

import json
from pathlib import Path

import yaml
import zhconv

HERE = Path(__file__).resolve().parents[1] / "lianjian" / "contract"


def strings(node):
    if isinstance(node, str):
        if any("\u4e00" <= ch <= "\u9fff" for ch in node):
            yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k in ("zh",) or not isinstance(v, str) or k not in ("note",):
                yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def main() -> None:
    found = set()
    for name in ("sources.yaml", "published.yaml"):
        doc = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
        for key in ("enums", "sources", "tables"):
            found.update(strings(doc.get(key, {})))
    out = {}
    for s in sorted(found):
        forms = sorted({zhconv.convert(s, v) for v in ("zh-hant", "zh-tw", "zh-hk")} - {s})
        if forms:
            out[s] = forms
    (HERE / "traditional.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(out)} strings with traditional forms")


if __name__ == "__main__":
    main()
