"""The installed ``tokenmeter`` console script, run as a user runs it.

``tokenmeter demo --json`` here is the README's main job running in CI from the fresh
install; the progress bar is checked under a pseudo-terminal, and its absence when piped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tokenmeter as tm
from tokenmeter import cli

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "cli-schema.json").read_text(encoding="utf-8"))


def script() -> str:
    """The console script installed next to this interpreter (``pip install -e .``)."""
    found = shutil.which("tokenmeter", path=str(Path(sys.executable).parent))
    assert found, ("the `tokenmeter` console script is not installed next to "
                   f"{sys.executable}; install the project: pip install -e '.[test]'")
    return found


def validate(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([script(), *argv], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                           Path, float]:
    pytest.importorskip("av")
    keep = tmp_path_factory.mktemp("demo") / "samples"
    t0 = time.perf_counter()
    proc = run("demo", "--json", "--keep", str(keep))
    return proc, keep, time.perf_counter() - t0


def test_demo_runs_from_the_installed_script(demo):
    proc, keep, seconds = demo
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["command"] == "demo"
    assert doc["models"] == [{"id": cli.DEFAULT_MODEL,
                              "profile": tm.get_model(cli.DEFAULT_MODEL).profile}]
    assert doc["price_book"]["id"] == tm.load_price_book().id
    assert doc["errors"] == []
    names = [s["name"] for s in doc["samples"]]
    assert [r["input"] for r in doc["rows"]] == names
    assert sorted(p.name for p in keep.iterdir()) == sorted(names)
    print(f"tokenmeter demo took {seconds:.1f} s")  # shown with -s; the budget is CI's


def test_demo_sample_set_is_what_the_issue_asks_for(demo):
    proc, _, _ = demo
    rows = {r["input"]: r for r in json.loads(proc.stdout)["rows"]}
    video = rows["clip-720p-10s.mp4"]["media"]
    assert (video["width"], video["height"]) == (1280, 720)
    assert video["duration"] == pytest.approx(10.0, abs=0.05)
    assert video["audio"] is not None
    assert video["audio"]["duration"] == pytest.approx(10.0, abs=0.1)
    photo = rows["photo-exif-rotated.jpg"]["media"]
    assert (photo["width"], photo["height"], photo["orientation"]) == (1200, 1600, 6)
    assert len([r for r in rows.values() if r["modality"] == "image"]) >= 3
    wav = rows["voice-note.wav"]["media"]
    assert (wav["kind"], wav["format"]) == ("audio", "WAV")
    assert rows["notes-zh.txt"]["modality"] == "text"
    assert rows["notes-en.txt"]["modality"] == "text"


def test_demo_numbers_equal_the_public_api(demo):
    proc, keep, _ = demo
    doc = json.loads(proc.stdout)
    model = tm.get_model(cli.DEFAULT_MODEL)
    book = tm.load_price_book()
    total = 0
    for row in doc["rows"]:
        path = keep / row["input"]
        if row["modality"] == "text":
            usage = tm.count(model, path.read_text(encoding="utf-8"))
        else:
            usage = tm.count(model, tm.probe(path))
        assert row["tokens"] == usage.input_tokens, row["input"]
        assert row["exact"] == usage.exact
        try:
            want = book.quote(doc["price_as"] or model.id, usage).to_dict()["exact"]
        except tm.PricingError:
            want = None
        assert (row["price"] or {}).get("exact") == want, row["input"]
        total += usage.input_tokens
    assert doc["totals"][0]["tokens"] == total


def test_demo_human_output(tmp_path):
    pytest.importorskip("av")
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    assert "made 7 sample files" in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(cli.DEFAULT_MODEL)
    assert any(ln.startswith("clip-720p-10s.mp4") and "1280x720" in ln for ln in lines)
    assert any(ln.startswith("total (7 inputs)") for ln in lines)


def test_python_dash_m_is_the_same_program():
    proc = subprocess.run([sys.executable, "-m", "tokenmeter", "--version"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"tokenmeter {tm.__version__}"


def test_script_errors_and_usage_errors():
    proc = run("count", "--text", "hi", "-m", "gpt-5o-mega")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "unknown model 'gpt-5o-mega'" in proc.stderr
    proc = run("count", "--image", "wide")
    assert proc.returncode == 2
    assert "WIDTHxHEIGHT" in proc.stderr


def test_script_json_is_valid_for_models_and_price_books():
    for cmd in ("models", "price-books"):
        proc = run(cmd, "--json")
        assert proc.returncode == 0, proc.stderr
        validate(json.loads(proc.stdout))


# -- progress ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_texts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("texts")
    for i in range(6):
        (d / f"t{i}.txt").write_text(f"note number {i} " * 20, encoding="utf-8")
    return d


def run_in_pty(*argv: str) -> tuple[int, str]:
    """Run the script with stdout and stderr on a pseudo-terminal; return its output."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([script(), *argv], stdin=slave, stdout=slave, stderr=slave,
                            close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_progress_bar_on_a_terminal(many_texts):
    code, out = run_in_pty("estimate", str(many_texts), "-m", "qwen2.5-72b-instruct")
    assert code == 0
    assert "\rreading [" in out
    assert "6/6" in out
    # The bar is wiped before the table is printed.
    bar_end = out.rindex("6/6")
    assert "\r" in out[bar_end:out.index("total (6 inputs)")]
    assert "total (6 inputs)" in out


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_no_progress_bar_with_json_or_no_progress_even_on_a_terminal(many_texts):
    code, out = run_in_pty("estimate", str(many_texts), "-m", "qwen2.5-72b-instruct", "--json")
    assert code == 0
    assert "reading [" not in out
    code, out = run_in_pty("estimate", str(many_texts), "-m", "qwen2.5-72b-instruct",
                           "--no-progress")
    assert code == 0
    assert "reading [" not in out


def test_no_progress_bar_when_piped(many_texts):
    proc = run("estimate", str(many_texts), "-m", "qwen2.5-72b-instruct")
    assert proc.returncode == 0
    assert "reading [" not in proc.stderr
    assert "\r" not in proc.stdout
    assert "total (6 inputs)" in proc.stdout
