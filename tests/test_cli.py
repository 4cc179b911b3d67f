"""The command line, run in-process through ``main([...])``.

Every number the CLI prints is compared with what the public API returns for the same
input (the API's numbers are proven against the references elsewhere); every JSON
document is validated against ``docs/cli-schema.json``; every error path has a test.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import tokenmeter as tm
from tokenmeter import cli
from tokenmeter.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "cli-schema.json").read_text(encoding="utf-8"))
ENGLISH = "The quick brown fox jumps over the lazy dog. " * 3
CHINESE = "敏捷的棕色狐狸跳过了懒狗。今天天气很好。"


def validate(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, *argv, "--json")
    doc = json.loads(out)
    validate(doc)
    return code, doc, err


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder of small real files: images (one EXIF-rotated), a video with sound, a WAV,
    English and Chinese text, and two files that cannot be read."""
    pytest.importorskip("av")
    pytest.importorskip("PIL")
    pytest.importorskip("soundfile")
    from mediafactory import audio, image, video, write

    d = tmp_path_factory.mktemp("media")
    files = {
        "png": write(d / "a.png", image("PNG", (640, 480))),
        "jpg": write(d / "b.jpg", image("JPEG", (800, 600), orientation=6)),
        "mp4": write(d / "c.mp4", video("mp4", "libx264", (64, 48), fps=25, frames=50,
                                        audio=(16_000, 1, 2.0))),
        "wav": write(d / "d.wav", audio("WAV", sample_rate=16_000, frames=16_000 * 3)),
    }
    (d / "e-en.txt").write_text(ENGLISH, encoding="utf-8")
    (d / "f-zh.txt").write_text(CHINESE, encoding="utf-8")
    files["en"] = d / "e-en.txt"
    files["zh"] = d / "f-zh.txt"
    files["dir"] = d
    return files


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]) -> dict[str, Path]:
    """A folder with two good files and two that fail to probe."""
    d = tmp_path_factory.mktemp("broken")
    good_png = d / "good.png"
    good_png.write_bytes(media["png"].read_bytes())
    good_txt = d / "good.txt"
    good_txt.write_text(ENGLISH, encoding="utf-8")
    truncated = d / "truncated.png"
    truncated.write_bytes(media["png"].read_bytes()[:40])
    junk = d / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    return {"dir": d, "png": good_png, "txt": good_txt, "truncated": truncated, "junk": junk}


def api_usage(model: str, path: Path) -> tm.Usage:
    """What the public API counts for a file (text files as their text)."""
    try:
        info = tm.probe(path)
    except tm.UnsupportedFormatError:
        text = path.read_text(encoding="utf-8")
        m = tm.get_model(model)
        try:
            return tm.count(m, text)
        except tm.VocabularyUnavailableError:
            return tm.count(m, text, estimate=True)
    return tm.count(model, info)


def api_price(entry: str, usage: tm.Usage, book: str | None = None) -> str | None:
    try:
        return str(tm.load_price_book(book).quote(entry, usage).to_dict()["exact"])
    except tm.PricingError:
        return None


# -- estimate ---------------------------------------------------------------------------------


def test_estimate_rows_equal_the_public_api(capsys, media):
    model = "qwen2.5-omni-7b"
    code, doc, _ = run_json(capsys, "estimate", str(media["dir"]), "-m", model)
    assert code == 0
    assert doc["errors"] == []
    rows = {Path(r["input"]).name: r for r in doc["rows"]}
    assert set(rows) == {"a.png", "b.jpg", "c.mp4", "d.wav", "e-en.txt", "f-zh.txt"}
    for name, row in rows.items():
        usage = api_usage(model, media["dir"] / name)
        assert row["tokens"] == usage.input_tokens, name
        assert row["exact"] == usage.exact, name
        assert row["count"]["tokens"] == usage.input_tokens
        want = api_price(model, usage)
        got = row["price"]["exact"] if row["price"] else None
        assert got == want, name
        assert (row["status"] == "unpriced") == (want is None)
    assert rows["b.jpg"]["media"]["width"] == 600  # EXIF 6: displayed 600 x 800
    assert rows["b.jpg"]["media"]["orientation"] == 6
    assert rows["c.mp4"]["media"]["audio"]["duration"] == pytest.approx(2.0, abs=0.1)
    assert rows["e-en.txt"]["modality"] == "text"
    assert rows["f-zh.txt"]["media"] == {"kind": "text", "chars": len(CHINESE)}
    (total,) = doc["totals"]
    assert total["tokens"] == sum(r["tokens"] for r in rows.values())
    assert total["inputs"] == 6


def test_estimate_prices_like_the_price_book(capsys, media):
    # qwen2.5-72b-instruct is priced for text in the default book: exact quote lines.
    code, doc, _ = run_json(capsys, "estimate", str(media["en"]), str(media["zh"]),
                            "-m", "qwen2.5-72b-instruct")
    assert code == 0
    book = tm.load_price_book()
    quotes = []
    for row, path in zip(doc["rows"], (media["en"], media["zh"]), strict=True):
        q = book.quote("qwen2.5-72b-instruct", api_usage("qwen2.5-72b-instruct", path))
        quotes.append(q)
        assert row["price"] == {"book": "cn-2025", "version": q.version,
                                "entry": "qwen2.5-72b-instruct", "currency": "CNY",
                                "exact": q.to_dict()["exact"], "total": q.to_dict()["total"]}
    total = quotes[0] + quotes[1]
    assert doc["totals"][0]["price"]["exact"] == total.to_dict()["exact"]
    assert doc["totals"][0]["price"]["total"] == total.to_dict()["total"]
    assert doc["price_book"] == {"id": "cn-2025", "version": total.version, "currency": "CNY"}


def test_estimate_money_is_never_a_float(capsys, media):
    _, doc, _ = run_json(capsys, "estimate", str(media["en"]), "-m", "qwen2.5-72b-instruct")

    def walk(x: Any, key: str = "") -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif key in ("exact", "total") and x is not None and not isinstance(x, bool):
            assert isinstance(x, str), key
            Decimal(x)

    walk(doc)


def test_estimate_human_table_is_aligned(capsys, media):
    code, out, _ = run(capsys, "estimate", str(media["dir"]), "-m", "qwen2.5-omni-7b")
    assert code == 0
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("input"))
    table = lines[header:header + 8]
    assert table[-1].startswith("total (6 inputs)")
    # The tokens column ends at the same display column on every line (right-aligned).
    col = cli.display_width(table[0][:table[0].index("tokens") + len("tokens")])
    for ln in table[1:]:
        cut = 0
        while cli.display_width(ln[:cut]) < col:
            cut += 1
        assert ln[cut - 1].isdigit(), ln
        assert ln[cut:cut + 2] == "  ", ln


def test_estimate_csv_matches_json(capsys, media):
    code, out, _ = run(capsys, "estimate", str(media["dir"]), "-m", "qwen2.5-omni-7b", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(cli._CSV_ROW_FIELDS)
    _, doc, _ = run_json(capsys, "estimate", str(media["dir"]), "-m", "qwen2.5-omni-7b")
    assert [int(r["tokens"]) for r in rows] == [r["tokens"] for r in doc["rows"]]
    assert [r["status"] for r in rows] == [r["status"] for r in doc["rows"]]
    by_name = {Path(r["input"]).name: r for r in rows}
    assert by_name["b.jpg"]["width"] == "600"
    assert by_name["c.mp4"]["frames"] == "50"
    assert by_name["e-en.txt"]["chars"] == str(len(ENGLISH))


def test_estimate_several_models_gives_a_row_each_and_a_total_each(capsys, media):
    code, doc, _ = run_json(capsys, "estimate", str(media["png"]), str(media["en"]),
                            "-m", "qwen2.5-vl-7b-instruct", "-m", "gpt-4o")
    assert code == 0
    assert [(Path(r["input"]).name, r["model"]) for r in doc["rows"]] == [
        ("a.png", "qwen2.5-vl-7b-instruct"), ("e-en.txt", "qwen2.5-vl-7b-instruct"),
        ("a.png", "gpt-4o"), ("e-en.txt", "gpt-4o")]
    assert [t["model"] for t in doc["totals"]] == ["qwen2.5-vl-7b-instruct", "gpt-4o"]
    assert doc["rows"][2]["tokens"] == tm.get_model("gpt-4o").count_image(640, 480).tokens


def test_estimate_failed_files_are_listed_and_the_rest_count(capsys, broken):
    code, doc, err = run_json(capsys, "estimate", str(broken["dir"]), "-m", "qwen2.5-omni-7b")
    assert code == 1
    assert sorted(Path(r["input"]).name for r in doc["rows"]) == ["good.png", "good.txt"]
    failed = {Path(e["input"]).name: e for e in doc["errors"]}
    assert set(failed) == {"truncated.png", "junk.bin"}
    assert failed["truncated.png"]["type"] == "CorruptMediaError"
    assert failed["junk.bin"]["type"] == "UnsupportedFormatError"
    assert doc["totals"][0]["failed"] == 2
    assert doc["totals"][0]["tokens"] == (
        api_usage("qwen2.5-omni-7b", broken["png"]).input_tokens
        + api_usage("qwen2.5-omni-7b", broken["txt"]).input_tokens)
    assert "2 of 4 counts failed" in err


def test_estimate_failures_in_the_human_output_go_to_stderr(capsys, broken):
    code, out, err = run(capsys, "estimate", str(broken["dir"]), "-m", "qwen2.5-omni-7b")
    assert code == 1
    assert "good.png" in out
    assert "truncated.png" not in out
    assert "truncated.png: CorruptMediaError" in err
    assert "junk.bin: UnsupportedFormatError" in err


def test_estimate_missing_file_fails_with_exit_1(capsys, media):
    missing = media["dir"] / "nope.png"
    code, doc, _ = run_json(capsys, "estimate", str(media["png"]), str(missing))
    assert code == 1
    assert [e["type"] for e in doc["errors"]] == ["MediaNotFoundError"]
    assert len(doc["rows"]) == 1


def test_estimate_unsupported_modality_is_a_failed_row(capsys, media):
    code, doc, _ = run_json(capsys, "estimate", str(media["wav"]), str(media["png"]),
                            "-m", "qwen2.5-vl-7b-instruct")
    assert code == 1
    assert [e["type"] for e in doc["errors"]] == ["UnsupportedModalityError"]
    assert [Path(r["input"]).name for r in doc["rows"]] == ["a.png"]


def test_estimate_folders_recursive_and_hidden(capsys, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "top.txt").write_text("top", encoding="utf-8")
    (tmp_path / "sub" / "deep.txt").write_text("deep", encoding="utf-8")
    (tmp_path / ".dot.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / ".hidden" / "x.txt").write_text("hidden", encoding="utf-8")
    _, flat, _ = run_json(capsys, "estimate", str(tmp_path), "-m", "qwen2.5-72b-instruct")
    _, deep, _ = run_json(capsys, "estimate", str(tmp_path), "-r", "-m", "qwen2.5-72b-instruct")
    assert [Path(r["input"]).name for r in flat["rows"]] == ["top.txt"]
    assert sorted(Path(r["input"]).name for r in deep["rows"]) == ["deep.txt", "top.txt"]


def test_estimate_jobs_gives_the_same_rows(capsys, media):
    _, one, _ = run_json(capsys, "estimate", str(media["dir"]), "--jobs", "1")
    _, two, _ = run_json(capsys, "estimate", str(media["dir"]), "--jobs", "2")
    assert one["rows"] == two["rows"]


def test_estimate_default_model_is_documented_constant(capsys, media):
    _, doc, _ = run_json(capsys, "estimate", str(media["png"]))
    assert doc["models"] == [{"id": cli.DEFAULT_MODEL,
                              "profile": tm.get_model(cli.DEFAULT_MODEL).profile}]


def test_unpriced_is_shown_as_unpriced_never_zero(capsys, media):
    # The default book prices no image input for qwen2.5-vl: "unpriced", never 0.00.
    code, out, _ = run(capsys, "estimate", str(media["png"]), "-m", "qwen2.5-vl-7b-instruct")
    assert code == 0
    row = next(ln for ln in out.splitlines() if ln.startswith(str(media["png"])))
    assert row.rstrip().endswith("unpriced [1]")
    assert "0.00" not in row
    assert "never" in out  # the footnote carries the book's reason
    total = next(ln for ln in out.splitlines() if ln.startswith("total"))
    assert total.rstrip().endswith("unpriced")
    _, doc, _ = run_json(capsys, "estimate", str(media["png"]), "-m", "qwen2.5-vl-7b-instruct")
    assert doc["rows"][0]["price"] is None
    assert doc["rows"][0]["status"] == "unpriced"
    assert "qwen2.5-vl-7b-instruct" in doc["rows"][0]["unpriced"]
    assert doc["totals"][0]["price"] is None
    assert doc["totals"][0]["unpriced_inputs"] == 1


def test_partly_priced_total_says_so(capsys, media):
    # Text is priced for qwen-omni-turbo in the default book: the total names the rest.
    _, doc, _ = run_json(capsys, "estimate", str(media["en"]), str(media["png"]),
                         "-m", "qwen2.5-omni-7b", "--price-as", "nope-not-priced")
    assert doc["totals"][0]["price"] is None
    code, doc, _ = run_json(capsys, "estimate", str(media["en"]), "-m", "qwen2.5-omni-7b",
                            "--price-as", "qwen-omni-turbo")
    assert code == 0
    usage = api_usage("qwen2.5-omni-7b", media["en"])
    assert doc["rows"][0]["price"]["exact"] == api_price("qwen-omni-turbo", usage)
    assert doc["rows"][0]["price"]["entry"] == "qwen-omni-turbo"
    assert doc["price_as"] == "qwen-omni-turbo"


def test_no_price_counts_only(capsys, media):
    code, doc, _ = run_json(capsys, "estimate", str(media["png"]), "--no-price")
    assert code == 0
    assert doc["price_book"] is None
    assert doc["rows"][0]["price"] is None
    assert doc["rows"][0]["status"] == "ok"


def _missing_vocab_model() -> str | None:
    for mid in tm.list_models():
        m = tm.get_model(mid)
        if m.tokenizer_name and "text" in m.modalities:
            try:
                m.count_text("x")
            except tm.VocabularyUnavailableError:
                return mid
    return None


def test_missing_vocabulary_falls_back_to_a_labelled_estimate(capsys, media, monkeypatch,
                                                              tmp_path):
    monkeypatch.setenv("TOKENMETER_VOCAB_DIR", str(tmp_path))
    mid = _missing_vocab_model()
    if mid is None:
        pytest.skip("every vocabulary is installed here")
    code, doc, _ = run_json(capsys, "estimate", str(media["en"]), "-m", mid)
    assert code == 0
    row = doc["rows"][0]
    assert row["exact"] is False
    assert row["tokens"] == tm.get_model(mid).count_text(ENGLISH, estimate=True).tokens
    assert any("estimated" in n and "pip install" in n for n in row["notes"])
    code, out, _ = run(capsys, "estimate", str(media["en"]), "-m", mid)
    assert "estimate [1]" in out
    assert "[1] estimated" in out
    # --exact refuses the estimate: the row fails and says why.
    code, doc, _ = run_json(capsys, "estimate", str(media["en"]), "-m", mid, "--exact")
    assert code == 1
    assert doc["rows"] == []
    assert doc["errors"][0]["type"] == "VocabularyUnavailableError"


# -- usage and fatal errors -----------------------------------------------------------------


def test_unknown_model_exits_1_with_close_matches(capsys, media):
    code, out, err = run(capsys, "estimate", str(media["png"]), "-m", "qwen2.5-vl-72")
    assert code == 1
    assert out == ""
    assert err.startswith("tokenmeter: error: unknown model 'qwen2.5-vl-72'")
    assert "qwen2.5-vl-72b-instruct" in err


def test_unknown_profile_exits_1(capsys):
    code, _, err = run(capsys, "count", "--text", "hi", "-m", "qwen2.5-vl-7b-instruct",
                       "--profile", "nope")
    assert code == 1
    assert "nope" in err


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["estimate"],
    ["estimate", "x", "--jobs", "0"],
    ["estimate", "x", "--json", "--csv"],
    ["count", "--image", "12x"],
    ["count", "--video", "1280x720@30"],
    ["count", "--video", "1280x720@0:10s"],
    ["count", "--audio", "ten seconds"],
    ["count", "--text", "hi", "--at", "2025-01-01T10:00:00"],
    ["count", "--image", "10x10", "-o", "nonsense"],
    ["count"],
    ["count", "--image", "64x64", "-o", "no_such_option=1"],
    ["plot", "--kind", "image", "-m", "gpt-4o"],
    ["plot", "--kind", "smell", "-m", "gpt-4o", "--json"],
    ["compare"],
    ["explain", "-m", "gpt-4o", "image:12"],
])
def test_usage_errors_exit_2(capsys, argv):
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2, argv
    assert "error" in err or "usage" in err


def test_help_and_version_exit_0(capsys):
    assert main(["--help"]) == 0
    assert "estimate" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert tm.__version__ in capsys.readouterr().out


def test_missing_media_extra_names_the_pip_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    code, _, err = run(capsys, "demo")
    assert code == 1
    assert "pip install 'tokenmeter[media]'" in err


# -- count ------------------------------------------------------------------------------------


def test_count_equals_the_model_methods(capsys):
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    code, doc, _ = run_json(capsys, "count", "-m", m.id, "--image", "1280x720",
                            "--video", "1280x720@30:10s", "--video", "640x360@25:100f",
                            "--audio", "1m", "--text", CHINESE, "--no-price")
    # qwen2.5-vl takes no audio: that one input fails, the rest count.
    assert code == 1
    assert [e["type"] for e in doc["errors"]] == ["UnsupportedModalityError"]
    tokens = [r["tokens"] for r in doc["rows"]]
    assert tokens == [
        m.count_image(1280, 720).tokens,
        m.count_video(1280, 720, 10.0, 30.0).tokens,
        m.count_video(640, 360, 4.0, 25.0, frames=100).tokens,
        m.count_text(CHINESE).tokens,
    ]
    assert tokens[0] == 1198  # the design's worked example
    assert doc["rows"][1]["count"]["encoder_patches"] == 47840


def test_count_video_with_soundtrack_and_options(capsys):
    m = tm.get_model("qwen2.5-omni-7b")
    _, doc, _ = run_json(capsys, "count", "-m", m.id, "--video", "1280x720@30:10s+audio",
                         "-o", "video.sample_fps=1", "--no-price")
    info = tm.VideoInfo(width=1280, height=720, duration=10.0, fps=30.0, frames=300,
                        audio=tm.AudioInfo(duration=10.0, sample_rate=16_000))
    assert doc["rows"][0]["tokens"] == tm.count(m, info, sample_fps=1).input_tokens
    assert doc["rows"][0]["media"]["audio"]["duration"] == 10.0


def test_count_unscoped_option_goes_to_the_rules_that_take_it(capsys):
    _, doc, _ = run_json(capsys, "count", "-m", "gpt-4o", "-m", "qwen2.5-vl-7b-instruct",
                         "--image", "1280x720", "-o", "detail=low", "--no-price")
    assert [r["tokens"] for r in doc["rows"]] == [
        tm.get_model("gpt-4o").count_image(1280, 720, detail="low").tokens,
        tm.get_model("qwen2.5-vl-7b-instruct").count_image(1280, 720).tokens,
    ]


def test_count_prices_text_like_the_book(capsys):
    text = "你好，世界。" * 500
    code, doc, _ = run_json(capsys, "count", "-m", "qwen2.5-72b-instruct", "--text", text)
    assert code == 0
    q = tm.load_price_book().quote("qwen2.5-72b-instruct",
                                   tm.count("qwen2.5-72b-instruct", text))
    assert doc["totals"][0]["price"]["exact"] == q.to_dict()["exact"]


@pytest.mark.parametrize(("spec", "seconds"), [
    ("10", 10.0), ("10s", 10.0), ("2.5s", 2.5), ("1m30s", 90.0), ("1h", 3600.0),
    ("500ms", 0.5), ("1m 30s", 90.0),
])
def test_duration_specs(spec, seconds):
    assert cli.parse_duration(spec) == seconds


@pytest.mark.parametrize(("spec", "want"), [
    ("1280x720@30:10s", (1280, 720, 30.0, 10.0, 300, False)),
    ("1920x1080@30000/1001:1001f", (1920, 1080, 30000 / 1001, 1001 / (30000 / 1001), 1001,
                                     False)),
    ("640×360@25:4+audio", (640, 360, 25.0, 4.0, 100, True)),
])
def test_video_specs(spec, want):
    v = cli.parse_video(spec)
    assert (v.width, v.height, v.fps, v.duration, v.frames, v.audio is not None) == \
        pytest.approx(want)


# -- compare ----------------------------------------------------------------------------------


def test_compare_equals_compare_text(capsys):
    models = ["qwen2.5-72b-instruct", "llama-3.1-70b-instruct", "gpt-4o-mini", "ernie-4.0"]
    argv = ["compare", CHINESE]
    for m in models:
        argv += ["-m", m]
    code, doc, _ = run_json(capsys, *argv)
    assert code == 0
    want = tm.compare_text(CHINESE, models)
    assert [r["model"] for r in doc["rows"]] == [w.model for w in want]
    assert [r["tokens"] for r in doc["rows"]] == [w.tokens for w in want]
    assert [r["exact"] for r in doc["rows"]] == [w.exact for w in want]
    assert [r["token_ratio"] for r in doc["rows"]] == [round(w.ratio, 3) for w in want]
    assert [r["chars_per_token"] for r in doc["rows"]] == [round(w.chars_per_token, 3)
                                                           for w in want]
    book = tm.load_price_book()
    prices = [Decimal(book.quote(w.model, tm.Usage(text=w.tokens)).to_dict()["exact"])
              for w in want]
    assert [Decimal(r["price"]["exact"]) for r in doc["rows"]] == prices
    cheapest = min(prices)
    assert [r["price_ratio"] for r in doc["rows"]] == [round(float(p / cheapest), 3)
                                                       for p in prices]
    assert min(r["price_ratio"] for r in doc["rows"]) == 1.0


def test_compare_defaults_to_the_books_models(capsys):
    _, doc, _ = run_json(capsys, "compare", "hello")
    book = tm.load_price_book()
    want = []
    for entry in book.models():
        try:
            m = tm.get_model(entry)
        except tm.UnknownModelError:
            continue
        if "text" in m.modalities:
            want.append(m.id)
    assert [r["model"] for r in doc["rows"]] == want
    assert all(r["status"] == "ok" for r in doc["rows"])


def test_compare_human_table_and_sort(capsys):
    code, out, _ = run(capsys, "compare", ENGLISH, "-m", "qwen2.5-72b-instruct",
                       "-m", "llama-3.1-70b-instruct", "--sort", "price")
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.startswith(("qwen", "llama"))]
    assert lines[0].startswith("qwen2.5-72b-instruct")  # ¥3.50/M is cheaper than ¥5.20/M
    assert lines[0].rstrip().endswith("1.00")


def test_compare_mixed_inputs_and_unsupported_model(capsys, media):
    code, doc, _ = run_json(capsys, "compare", str(media["png"]), "text:a caption",
                            "-m", "qwen2.5-vl-7b-instruct", "-m", "qwen2.5-72b-instruct")
    assert code == 1  # qwen2.5-72b takes no image: its row fails
    vl, text_only = doc["rows"]
    m = tm.get_model("qwen2.5-vl-7b-instruct")
    assert vl["tokens"] == m.count_image(640, 480).tokens + m.count_text("a caption").tokens
    assert vl["by_modality"]["image"] == m.count_image(640, 480).tokens
    assert text_only["status"] == "error"
    assert text_only["error"]["type"] == "UnsupportedModalityError"


def test_compare_several_price_books(capsys):
    _, doc, _ = run_json(capsys, "compare", "hello world", "-m", "gpt-4o-mini", "-m", "gpt-4o",
                         "-b", "cn-2025", "-b", "vendors-2026-11")
    got = [(r["model"], r["price"]["book"] if r["price"] else None) for r in doc["rows"]]
    assert ("gpt-4o-mini", "cn-2025") in got
    assert ("gpt-4o", "vendors-2026-11") in got
    # Ratios compare only within a currency.
    for r in doc["rows"]:
        if r["price"]:
            same = [Decimal(o["price"]["exact"]) for o in doc["rows"]
                    if o["price"] and o["price"]["currency"] == r["price"]["currency"]]
            assert r["price_ratio"] == round(float(Decimal(r["price"]["exact"]) / min(same)), 3)


def test_compare_missing_file_is_not_silently_text(capsys, tmp_path):
    code, doc, err = run_json(capsys, "compare", str(tmp_path / "typo.png"), "hello",
                              "-m", "qwen2.5-72b-instruct")
    assert code == 1
    assert doc["errors"][0]["type"] == "MediaNotFoundError"
    assert "typo.png" in err


def test_compare_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(CHINESE))
    _, doc, _ = run_json(capsys, "compare", "-", "-m", "qwen2.5-72b-instruct")
    assert doc["rows"][0]["tokens"] == tm.get_model("qwen2.5-72b-instruct").count_text(
        CHINESE).tokens


# -- explain ----------------------------------------------------------------------------------


def test_explain_prints_the_api_explanations(capsys, media):
    m = tm.get_model("qwen2.5-72b-instruct")
    code, out, _ = run(capsys, "explain", "-m", m.id, "text:" + ENGLISH)
    assert code == 0
    c = m.count_text(ENGLISH)
    assert c.explain() in out
    assert tm.load_price_book().quote(m.id, tm.count(m, ENGLISH)).explain() in out


def test_explain_a_file_with_derivation(capsys, media):
    m = tm.get_model("qwen2.5-vl-7b-instruct")
    code, out, _ = run(capsys, "explain", "-m", m.id, str(media["jpg"]))
    assert code == 0
    assert m.count_image(600, 800).explain() in out
    assert "EXIF 6" in out
    assert "price: unpriced" in out


def test_explain_json(capsys):
    code, doc, _ = run_json(capsys, "explain", "-m", "qwen2.5-vl-72b-instruct",
                            "video:1280x720@30:10s")
    assert code == 0
    (e,) = doc["explanations"]
    c = tm.get_model("qwen2.5-vl-72b-instruct").count_video(1280, 720, 10.0, 30.0)
    assert e["tokens"] == c.tokens
    assert e["explanation"] == c.explain()
    assert e["count"]["grid"] == list(c.grid or ())
    assert e["quote"] is None
    assert e["unpriced"]


def test_explain_missing_file_exits_1(capsys, tmp_path):
    code, _, err = run(capsys, "explain", str(tmp_path / "gone.mp4"))
    assert code == 1
    assert "gone.mp4" in err


# -- models / price-books -------------------------------------------------------------------


def test_models_lists_the_catalog(capsys):
    code, doc, _ = run_json(capsys, "models")
    assert code == 0
    assert [m["id"] for m in doc["models"]] == tm.list_models()
    by_id = {m["id"]: m for m in doc["models"]}
    assert by_id["qwen2.5-72b-instruct"]["price_books"][0] == "cn-2025"
    assert by_id["gpt-4o"]["tokenizer"] == tm.get_model("gpt-4o").tokenizer_name
    _, video, _ = run_json(capsys, "models", "--modality", "video")
    assert all("video" in m["modalities"] for m in video["models"])
    code, out, _ = run(capsys, "models")
    assert out.splitlines()[0].split()[:2] == ["model", "inputs"]
    code, out, _ = run(capsys, "models", "--csv")
    assert [r["id"] for r in csv.DictReader(io.StringIO(out))] == tm.list_models()


def test_price_books(capsys):
    code, doc, _ = run_json(capsys, "price-books")
    assert code == 0
    assert [b["id"] for b in doc["price_books"]] == tm.list_price_books()
    default = next(b for b in doc["price_books"] if b["default"])
    assert default["id"] == tm.load_price_book().id
    versions = default["versions"]
    assert versions[-1]["models"] == tm.load_price_book().models()
    code, out, _ = run(capsys, "price-books")
    assert f"{default['id']} (default)" in out
    code, out, _ = run(capsys, "price-books", "--csv")
    assert out.startswith("id,version,")


def test_estimate_without_the_media_extra_names_the_pip_install(capsys, media, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    code, doc, _ = run_json(capsys, "estimate", str(media["mp4"]), str(media["en"]),
                            "--jobs", "1")
    assert code == 1
    assert [Path(r["input"]).name for r in doc["rows"]] == ["e-en.txt"]  # text still counts
    (e,) = doc["errors"]
    assert "pip install 'tokenmeter[media]'" in e["message"]


def test_missing_price_book_exits_1(capsys, tmp_path):
    code, out, err = run(capsys, "count", "--text", "hi", "-m", "qwen2.5-72b-instruct",
                         "-b", str(tmp_path / "nope.toml"))
    assert code == 1
    assert out == ""
    assert "nope.toml" in err
    assert "cn-2025" in err  # the message lists the packaged books


def test_at_picks_the_time_of_day_price(capsys):
    import datetime as dt

    book = tm.load_price_book("vendors-2026-11")
    try:
        usage = tm.count("deepseek-chat", CHINESE * 50)
    except tm.VocabularyUnavailableError:  # the CLI falls back to the labelled estimate
        usage = tm.count("deepseek-chat", CHINESE * 50, estimate=True)
    prices = []
    for at in ("2026-11-20T03:00:00+00:00", "2026-11-20T12:00:00Z"):
        code, doc, _ = run_json(capsys, "count", "-m", "deepseek-chat", "--text", CHINESE * 50,
                                "-b", "vendors-2026-11", "--at", at)
        assert code == 0
        when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        want = book.quote("deepseek-chat", usage, at=when).to_dict()["exact"]
        assert doc["rows"][0]["price"]["exact"] == want
        assert doc["at"] == when.isoformat()
        prices.append(Decimal(want))
    assert prices[0] != prices[1]  # peak and off-peak differ
    # Without --at a time-of-day price cannot be chosen: unpriced, and the reason says so.
    _, doc, _ = run_json(capsys, "count", "-m", "deepseek-chat", "--text", "hi",
                         "-b", "vendors-2026-11")
    assert doc["rows"][0]["status"] == "unpriced"
    assert "at=" in doc["rows"][0]["unpriced"]
