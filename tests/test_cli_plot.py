"""``tokenmeter plot``: the plotted numbers are the vectorized API's; the picture is a PNG."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import tokenmeter as tm
from tokenmeter import _plot
from tokenmeter.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "cli-schema.json").read_text(encoding="utf-8"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def plot_json(capsys, *argv: str) -> dict:
    assert main(["plot", *argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def test_image_series_equal_image_tokens(capsys):
    doc = plot_json(capsys, "--kind", "image", "-m", "qwen2.5-vl-72b-instruct", "-m", "gpt-4o",
                    "--no-price")
    w = np.array(doc["x"], dtype=np.int64)
    h = np.array([int(s.split("x")[1]) for s in doc["inputs"]], dtype=np.int64)
    assert np.all(h == np.maximum(np.rint(w * 9 / 16), 1))
    for s in doc["series"]:
        m = tm.get_model(s["model"])
        assert s["tokens"] == m.image_tokens(w, h).tolist()
        # ...which are the scalar counts too, at a few sizes.
        for i in (0, len(w) // 2, len(w) - 1):
            assert s["tokens"][i] == m.count_image(int(w[i]), int(h[i])).tokens
    assert doc["series"][0]["prices"] is None


def test_video_and_audio_series(capsys):
    doc = plot_json(capsys, "--kind", "video", "-m", "qwen2.5-vl-7b-instruct", "--size",
                    "640x360", "--fps", "25", "--max-seconds", "2m", "--no-price")
    assert max(doc["x"]) == 120.0
    m = tm.get_model("qwen2.5-vl-7b-instruct")
    toks = doc["series"][0]["tokens"]
    assert toks[5] == m.count_video(640, 360, doc["x"][5], 25.0).tokens
    assert toks == sorted(toks)  # more video never costs fewer tokens here
    doc = plot_json(capsys, "--kind", "audio", "-m", "whisper-large-v3", "--no-price")
    m = tm.get_model("whisper-large-v3")
    assert doc["series"][0]["tokens"][-1] == m.count_audio(doc["x"][-1]).tokens


def test_prices_are_the_books(capsys):
    doc = plot_json(capsys, "--kind", "image", "-m", "gpt-4o", "-m", "qwen2.5-vl-7b-instruct",
                    "-b", "vendors-2026-11")
    book = tm.load_price_book("vendors-2026-11")
    gpt, qwen = doc["series"]
    assert gpt["currency"] == "USD"
    i = 7
    usage = tm.Usage(image=gpt["tokens"][i])
    assert gpt["prices"][i] == book.quote("gpt-4o", usage).to_dict()["exact"]
    assert all(isinstance(p, str) for p in gpt["prices"])
    assert Decimal(gpt["prices"][-1]) >= Decimal(gpt["prices"][0])
    assert qwen["prices"] is None
    assert "qwen2.5-vl-7b-instruct" in qwen["unpriced"]


def test_csv(capsys):
    assert main(["plot", "--kind", "audio", "-m", "qwen2-audio-7b-instruct", "--csv",
                 "--no-price", "--max-seconds", "60"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    m = tm.get_model("qwen2-audio-7b-instruct")
    assert len(rows) == 60
    for r in rows[::17]:
        assert int(r["tokens"]) == m.count_audio(float(r["x"])).tokens


def test_png_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "tokens.png"
    assert main(["plot", "--kind", "image", "-m", "gpt-4o", "-m", "claude-sonnet-4-5",
                 "-b", "vendors-2026-11", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert f"wrote {out}" in capsys.readouterr().out


def test_model_without_the_modality_exits_1(capsys):
    assert main(["plot", "--kind", "audio", "-m", "pixtral-12b", "--json"]) == 1
    assert "pixtral-12b does not take audio" in capsys.readouterr().err


def test_missing_matplotlib_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", "--kind", "image", "-m", "gpt-4o", "--out",
                 str(tmp_path / "x.png")]) == 1
    assert "pip install 'tokenmeter[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_series_rejects_a_bad_kind():
    with pytest.raises(tm.InvalidInputError):
        _plot.series([tm.get_model("gpt-4o")], "smell")


def test_docs_plot_script_uses_this_code(tmp_path):
    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "scripts" / "gen_plots.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    for kind in ("image", "video", "audio"):
        assert (tmp_path / f"plot-{kind}.png").read_bytes()[:8] == PNG_MAGIC
