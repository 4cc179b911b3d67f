"""The docs stay in step with the code and data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_catalog_page_is_generated_from_the_current_data():
    out = subprocess.run([sys.executable, str(ROOT / "docs/scripts/gen_catalog.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, (
        "docs/catalog.md is stale: run `python docs/scripts/gen_catalog.py`" + out.stderr)


def test_estimator_error_table_is_the_recorded_calibration():
    """docs/text-estimate.md's held-out table states what data/estimator.toml records."""
    import re

    from tokenmeter._data import load_toml

    data = load_toml("estimator.toml")
    page = (ROOT / "docs/text-estimate.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (en|zh|other) \| ([^|]+) \|([^|]+)\|([^|]+)\|([^|]+)\|"
                      r"[^|]+\| ([\d,]+) \| ([\d,]+) \|$", page, re.M)
    assert len(rows) >= 18

    def pct(cell: str) -> float:
        return float(cell.strip().replace("−", "-").replace("%", "").replace("+", ""))

    for name, lang, agg, p5, p50, p95, paragraphs, tokens in rows:
        rec = data["calibrations"][name]["held_out"][lang]
        assert pct(agg) == round(rec["aggregate"] * 100, 2), (name, lang)
        for cell, key in ((p5, "p5"), (p50, "p50"), (p95, "p95")):
            assert pct(cell) == round(rec[key] * 100, 1), (name, lang, key)
        assert int(paragraphs.replace(",", "")) == rec["paragraphs"]
        assert int(tokens.replace(",", "")) == rec["tokens"]
