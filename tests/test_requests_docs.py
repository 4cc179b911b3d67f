"""The ```python blocks of docs/requests.md and of every page under docs/requests/ run, in
order, one namespace per page; the ```text output blocks that follow a printing block are
what it prints. Every shape page is in the mkdocs nav and has a worked example."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
OVERVIEW = DOCS / "requests.md"
SHAPE_PAGES = sorted((DOCS / "requests").glob("*.md"))
SHAPES = {"openai": "openai-chat.md", "openai-responses": "openai-responses.md",
          "anthropic": "anthropic.md", "gemini": "gemini.md", "dashscope": "dashscope.md"}


def run_page(page: Path) -> tuple[int, int]:
    """Run a page's blocks; (python blocks run, output blocks checked)."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, flags=re.S)
    namespace: dict[str, object] = {}
    printed = ""
    ran = checked = 0
    for kind, body in blocks:
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(body, str(page), "exec"), namespace)
            printed = out.getvalue()
            ran += 1
        elif printed:
            assert printed.strip() == body.strip(), f"{page.name}: output differs"
            checked += 1
            printed = ""
    return ran, checked


def test_requests_page_examples_run_as_written():
    ran, checked = run_page(OVERVIEW)
    assert ran >= 4
    assert checked >= 3


def test_there_is_a_page_per_shape():
    import tokenmeter as tm

    assert set(SHAPES) == set(tm._requests.SHAPES)
    assert sorted(p.name for p in SHAPE_PAGES) == sorted(SHAPES.values())
    overview = OVERVIEW.read_text(encoding="utf-8")
    for name in SHAPES.values():
        assert f"(requests/{name})" in overview  # linked from the overview


@pytest.mark.parametrize("page", SHAPE_PAGES, ids=lambda p: p.stem)
def test_shape_page_examples_run_as_written(page: Path):
    text = page.read_text(encoding="utf-8")
    assert "## Worked example" in text
    assert "(../requests.md)" in text  # back to the overview
    ran, checked = run_page(page)
    assert ran >= 2
    assert checked >= 1  # the worked example shows what it prints


def test_shape_pages_are_in_the_nav():
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert "requests.md" in nav
    for page in SHAPE_PAGES:
        assert f"requests/{page.name}" in nav, f"add docs/requests/{page.name} to mkdocs.yml"
