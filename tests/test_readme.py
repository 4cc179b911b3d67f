"""README.md says what CI does, and its examples run as written."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

import tokenmeter as tm
from tokenmeter.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
SETUP = [
    "pip install -e '.[all]' && tokenmeter demo",
    "pip install -e '.[test]' && python -m pytest -q",
]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def test_the_two_setup_commands_come_first():
    lines = README.splitlines()
    assert lines[0] == "# tokenmeter"
    body = [ln for ln in lines[1:] if ln.strip()]
    assert body[0] == "```bash"
    assert body[1:4] == [*SETUP, "```"]


def ci_commands() -> list[str]:
    return [ln.strip() for ln in CI.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_ci_runs_the_readme_test_command():
    install, test = SETUP[1].split(" && ")
    cmds = ci_commands()
    # .ci/run spells pip as `python -m pip` (the venv's pip); the arguments are the README's.
    assert any(c == install or c == f"python -m {install}" for c in cmds), cmds
    assert test in cmds


def test_main_job_command_is_the_declared_script_and_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["scripts"]["tokenmeter"] == "tokenmeter.cli:main"
    extras = meta["project"]["optional-dependencies"]
    assert "all" in extras
    assert "test" in extras
    assert any("media" in dep for dep in extras["all"])  # the demo writes real media files


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    pytest.importorskip("av")
    from tokenmeter._demo import make_samples

    root = tmp_path_factory.mktemp("readme")
    make_samples(root / "samples")
    return root / "samples"


@pytest.fixture
def samples(sample_dir, monkeypatch):
    """The README's examples run where `tokenmeter demo --keep samples` was run."""
    monkeypatch.chdir(sample_dir.parent)
    return sample_dir


def test_python_example_runs_and_its_comments_are_true(samples):
    (code,) = blocks("python")
    assert len(code.strip().splitlines()) <= 12
    out = io.StringIO()
    ns: dict[str, object] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), ns)
    image, video, quote = ns["image"], ns["video"], ns["quote"]
    assert image.tokens == 1198
    assert image.wrapper_tokens == 2
    clip = ns["clip"]
    assert (clip.width, clip.height, clip.duration, clip.fps) == (1280, 720, 10.0, 25.0)
    assert video.explain() in out.getvalue()
    assert quote.explain() in out.getvalue()
    assert quote.currency == "CNY"
    # Every modality of the usage is priced (the book prices qwen-omni-turbo's media).
    assert {ln.modality for ln in quote.lines if ln.kind == "charge"} == {"image", "video", "text"}
    assert quote.total == tm.Money(sum((ln.rounded for ln in quote.lines), 0), "CNY")


def test_cli_examples_run(samples, capsys):
    (code,) = [b for b in blocks("bash") if "tokenmeter estimate" in b]
    lines = [ln.split("  #")[0].strip() for ln in code.strip().splitlines()]
    assert len(lines) == 5
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "tokenmeter"
        if argv[1] == "plot":
            pytest.importorskip("matplotlib")
        assert main(argv[1:]) == 0, (line, capsys.readouterr().err)
    assert (samples.parent / "video.png").exists()


def test_doc_links_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
