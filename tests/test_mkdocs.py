"""The documentation site builds with ``mkdocs build --strict``, and the CLI page keeps up."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tokenmeter.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed (pip install -e '.[docs]')")
def test_mkdocs_build_strict(tmp_path):
    for mod in ("material", "mkdocstrings"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "cli" / "index.html").exists()
    api = (tmp_path / "api" / "index.html").read_text(encoding="utf-8")
    assert "count_image" in api  # mkdocstrings rendered the docstrings


def test_cli_reference_names_every_command_and_option():
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert f"`{name}`" in doc or f"tokenmeter {name}" in doc, name
        for action in p._actions:
            if action.help == argparse.SUPPRESS:
                continue
            longs = [o for o in action.option_strings if o.startswith("--")]
            if longs and longs[0] != "--help":
                assert longs[0] in doc, f"{name} {longs[0]} is not in docs/cli.md"


def test_api_reference_documents_every_public_name():
    import tokenmeter as tm
    from tokenmeter import errors

    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert "::: tokenmeter.errors" in api  # every error class, from the module
    # Names loaded lazily (tokenmeter.__getattr__) are documented from their module.
    missing = [n for n in tm.__all__
               if n != "__version__" and n not in errors.__all__
               and not re.search(rf"^::: tokenmeter\.(\w+\.)?{n}$", api, flags=re.M)]
    assert not missing, f"add `::: tokenmeter.NAME` to docs/api.md for: {missing}"
