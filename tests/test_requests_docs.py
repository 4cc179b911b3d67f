"""The ```python blocks of docs/requests.md run, in order, in one namespace; the ```text
output blocks that follow a printing block are what it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "requests.md"


def test_requests_page_examples_run_as_written():
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    assert sum(kind == "python" for kind, _ in blocks) >= 10
    namespace: dict[str, object] = {}
    printed = ""
    checked = 0
    for kind, body in blocks:
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, str(PAGE), "exec"), namespace)
            printed = out.getvalue()
        elif printed:
            assert printed.strip() == body.strip()
            checked += 1
            printed = ""
    assert checked >= 3
