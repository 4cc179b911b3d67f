"""Video counts against golden vectors that the reference code produced.

The JSON under ``tests/golden/video/`` is written by ``tests/reference/gen_video_golden.py``,
which calls qwen-vl-utils' ``fetch_video``, transformers' Qwen2-VL / Qwen3-VL video
processors and processor, and diffusers' Wan / HunyuanVideo / CogVideoX pipelines. Nothing
here compares against numbers computed with tokenmeter's own code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenmeter as tm
from tokenmeter.errors import InvalidInputError

GOLDEN = Path(__file__).parent / "golden" / "video"


def load(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    cols = {k: np.asarray(v) for k, v in doc["columns"].items()}
    assert doc["meta"]["cases"] == len(next(iter(cols.values())))
    return doc["meta"], cols


def mismatches(
    got: np.ndarray, want: np.ndarray, cols: dict[str, np.ndarray], sel: np.ndarray
) -> list[dict[str, Any]]:
    bad = np.flatnonzero(got != want)
    return [{**{k: v[sel][i].item() for k, v in cols.items()}, "got": int(got[i])} for i in bad[:5]]


def test_transformers_qwen2() -> None:
    _, g = load("hf_qwen2")
    for bounds, model in (("hub", "qwen2.5-vl-72b-instruct"), ("omni", "qwen2.5-omni-7b")):
        m = tm.get_model(model)
        for cap in (0, 1):
            for sfps in np.unique(g["sample_fps"]):
                sel = (
                    (g["bounds"] == bounds)
                    & (g["cap"] == cap)
                    & (g["error"] == 0)
                    & (g["sample_fps"] == sfps)
                    & (g["num_frames"] == 0)
                )
                if not sel.any():
                    continue
                res = m.rule("video").evaluate(
                    g["h"][sel],
                    g["w"][sel],
                    g["total"][sel] / g["fps"][sel],
                    g["fps"][sel],
                    g["total"][sel],
                    sample_fps=float(sfps),
                    cap_pixels_per_frame=bool(cap),
                )
                got = res.encoder_patches
                assert got is not None
                assert not mismatches(got, g["patches"][sel], g, sel)
                assert (res.derivation["frames"] == g["frames"][sel]).all()
    # num_frames given: rounded to pairs, then arange's float step decides the length.
    sel = (g["num_frames"] > 0) & (g["error"] == 0) & (g["bounds"] == "hub") & (g["cap"] == 0)
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    for i in np.flatnonzero(sel):
        c = m.count_video(
            int(g["w"][i]),
            int(g["h"][i]),
            fps=float(g["fps"][i]),
            frames=int(g["total"][i]),
            nframes=int(g["num_frames"][i]),
        )
        assert c.encoder_patches == g["patches"][i]


def test_transformers_qwen2_refusals() -> None:
    _, g = load("hf_qwen2")
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    errs = np.flatnonzero((g["error"] == 1) & (g["bounds"] == "hub"))
    for i in errs[:50]:
        with pytest.raises(InvalidInputError):
            m.count_video(
                int(g["w"][i]),
                int(g["h"][i]),
                fps=float(g["fps"][i]),
                frames=int(g["total"][i]),
                sample_fps=float(g["sample_fps"][i]),
                cap_pixels_per_frame=bool(g["cap"][i]),
                **({"nframes": int(g["num_frames"][i])} if g["num_frames"][i] else {}),
            )


def groups(g: dict[str, np.ndarray], keys: tuple[str, ...], sel: np.ndarray):  # type: ignore[no-untyped-def]
    """Yield (options row, index array) for each distinct combination of ``keys``."""
    combo = np.stack([g[k].astype(np.float64) for k in keys], axis=1)[sel]
    idx = np.flatnonzero(sel)
    for row in np.unique(combo, axis=0):
        yield dict(zip(keys, row.tolist(), strict=True)), idx[(combo == row).all(axis=1)]


def test_transformers_qwen3() -> None:
    meta, g = load("hf_qwen3")
    outer = meta["outer_wrappers"]
    m = tm.get_model("qwen3-vl-8b-instruct")
    ok = g["error"] == 0
    assert ok.sum() > 0.9 * len(ok)
    checked = 0
    for o, ix in groups(g, ("sample_fps", "cap", "num_frames"), ok):
        opts: dict[str, Any] = {
            "sample_fps": o["sample_fps"],
            "cap_pixels_per_frame": bool(o["cap"]),
        }
        if o["num_frames"]:
            opts["nframes"] = int(o["num_frames"])
        res = m.rule("video").evaluate(
            g["h"][ix],
            g["w"][ix],
            g["total"][ix] / g["fps"][ix],
            g["fps"][ix].astype(np.float64),
            g["total"][ix],
            **opts,
        )
        want = g["pads"][ix] + g["wrappers"][ix] + outer + g["ts_tokens"][ix]
        assert res.encoder_patches is not None
        np.testing.assert_array_equal(res.encoder_patches, g["patches"][ix])
        np.testing.assert_array_equal(res.derivation["frames"], g["frames"][ix])
        np.testing.assert_array_equal(res.tokens, want)
        np.testing.assert_array_equal(res.wrapper_tokens, g["wrappers"][ix] + outer)
        checked += len(ix)
    assert checked == ok.sum()


def test_transformers_qwen3_refusals() -> None:
    _, g = load("hf_qwen3")
    m = tm.get_model("qwen3-vl-8b-instruct")
    for i in np.flatnonzero(g["error"] == 1):
        opts: dict[str, Any] = {
            "sample_fps": float(g["sample_fps"][i]),
            "cap_pixels_per_frame": bool(g["cap"][i]),
        }
        if g["num_frames"][i]:
            opts["nframes"] = int(g["num_frames"][i])
        with pytest.raises(InvalidInputError):
            m.count_video(
                int(g["w"][i]),
                int(g["h"][i]),
                fps=float(g["fps"][i]),
                frames=int(g["total"][i]),
                **opts,
            )


@pytest.mark.parametrize(
    ("factor", "model"), [(28, "qwen2.5-vl-72b-instruct"), (32, "qwen3-vl-8b-instruct")]
)
def test_qwen_vl_utils(factor: int, model: str) -> None:
    meta, g = load(f"qwen_vl_utils_{factor}")
    m = tm.get_model(model, profile="qwen-vl-utils")
    ok = g["error"] == 0
    assert ok.sum() > 0.85 * len(ok)
    for o, ix in groups(g, ("nframes", "max_pixels"), ok):
        opts = {k: int(v) for k, v in o.items() if v}
        res = m.rule("video").evaluate(
            g["h"][ix],
            g["w"][ix],
            g["total"][ix] / g["fps"][ix],
            g["fps"][ix].astype(np.float64),
            g["total"][ix],
            **opts,
        )
        np.testing.assert_array_equal(res.derivation["frames"], g["frames"][ix])
        np.testing.assert_array_equal(res.derivation["resized_h"], g["resized_h"][ix])
        np.testing.assert_array_equal(res.derivation["resized_w"], g["resized_w"][ix])
        assert res.encoder_patches is not None
        np.testing.assert_array_equal(res.encoder_patches, g["patches"][ix])
        if factor == 32:
            want = (
                g["patches"][ix] // 4
                + g["wrappers"][ix]
                + meta["outer_wrappers"]
                + g["ts_tokens"][ix]
            )
            np.testing.assert_array_equal(res.tokens, want)
    # Where fetch_video raises, tokenmeter refuses too (one at a time: each is an error).
    for i in np.flatnonzero(~ok):
        opts = {k: int(g[k][i]) for k in ("nframes", "max_pixels") if g[k][i]}
        with pytest.raises(InvalidInputError):
            m.count_video(
                int(g["w"][i]),
                int(g["h"][i]),
                fps=float(g["fps"][i]),
                frames=int(g["total"][i]),
                **opts,
            )
    # The scalar path gives the same numbers as the vector path on a sample.
    for i in np.flatnonzero(ok)[:25]:
        opts = {k: int(g[k][i]) for k in ("nframes", "max_pixels") if g[k][i]}
        c = m.count_video(
            int(g["w"][i]),
            int(g["h"][i]),
            fps=float(g["fps"][i]),
            frames=int(g["total"][i]),
            **opts,
        )
        assert (c.frames, c.resized, c.encoder_patches) == (
            g["frames"][i],
            (g["resized_h"][i], g["resized_w"][i]),
            g["patches"][i],
        )


def test_vector_form_matches_golden_qwen2_default() -> None:
    """One vectorized call over every default-options case equals the reference."""
    _, g = load("hf_qwen2")
    sel = (
        (g["bounds"] == "hub")
        & (g["cap"] == 0)
        & (g["error"] == 0)
        & (g["sample_fps"] == 2.0)
        & (g["num_frames"] == 0)
    )
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    got = m.video_tokens(g["w"][sel], g["h"][sel], None, g["fps"][sel], frames=g["total"][sel])
    np.testing.assert_array_equal(got, g["patches"][sel] // 4 + 2)


def test_dit_pipelines() -> None:
    _, g = load("dit")
    for model in np.unique(g["model"]):
        m = tm.get_model(str(model))
        sel = g["model"] == model
        for i in np.flatnonzero(sel):
            args = (int(g["w"][i]), int(g["h"][i]))
            nf = int(g["num_frames"][i])
            if g["error"][i]:
                with pytest.raises(InvalidInputError):
                    m.count_video(*args, frames=nf, num_frames=nf)
                continue
            c = m.count_video(*args, frames=nf, num_frames=nf)
            assert c.tokens == g["tokens"][i], {k: v[i].item() for k, v in g.items()}


def test_documented_examples() -> None:
    _, g = load("vendor_examples")
    for i in range(len(g["model"])):
        m = tm.get_model(str(g["model"][i]), profile=str(g["profile"][i]) or None)
        fps = float(g["fps"][i]) or None
        c = m.count_video(
            int(g["width"][i]),
            int(g["height"][i]),
            float(g["seconds"][i]),
            fps,
            **json.loads(str(g["options"][i])),
        )
        got = c.tokens - c.wrapper_tokens - int(c.details.get("text_tokens", 0))
        assert got == g["placeholders"][i], (g["model"][i], g["profile"][i], got)


def test_headline_example() -> None:
    """10 s of 1280x720 at 30 fps: the product's headline numbers, explained."""
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    c = m.count_video(1280, 720, 10, 30)
    assert (c.encoder_patches, c.tokens, c.wrapper_tokens) == (47_840, 11_962, 2)
    assert (c.frames, c.grid, c.resized) == (20, (10, 52, 92), (728, 1288))
    text = c.explain()
    for s in (
        "11962 tokens",
        "encoder patches (before merge): 47840",
        "placeholders 11960",
        "wrappers 2",
        "frames sampled: 20",
        "10 x 52 x 92",
    ):
        assert s in text
    assert m.with_profile("qwen-vl-utils").count_video(1280, 720, 10, 30).tokens == 7_202
    w = tm.get_model("wan2.1-t2v").count_video(1280, 720, 10)
    assert (w.tokens, w.grid, w.frames) == (147_600, (41, 45, 80), 161)
    assert "not LLM tokens" in w.explain()
