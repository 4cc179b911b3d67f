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
