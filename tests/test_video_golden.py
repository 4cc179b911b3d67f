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
    assert ok.sum() > 0.8 * len(ok)
    # Rows run through the whole processor call, as the model's cookbook makes it (Qwen2.5-VL
    # resizes again with its hub bounds; Qwen3-VL passes do_resize=False).
    assert g["e2e"].sum() >= 50
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
        # Placeholders from the processor's replace_video_token (Qwen2.5-VL's for factor
        # 28, Qwen3-VL's with its per-group wrappers and timestamp text for 32), plus the
        # prompt's own <|vision_start|>/<|vision_end|> pair.
        np.testing.assert_array_equal(g["pads"][ix], g["patches"][ix] // 4)
        want = g["pads"][ix] + g["wrappers"][ix] + meta["outer_wrappers"] + g["ts_tokens"][ix]
        np.testing.assert_array_equal(res.tokens, want)
        np.testing.assert_array_equal(
            res.wrapper_tokens, g["wrappers"][ix] + meta["outer_wrappers"]
        )
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
        assert sel.sum() >= 1000
        ok = np.flatnonzero(sel & (g["error"] == 0))
        # One vectorized call per model, the pipeline argument per video.
        got = m.video_tokens(
            g["w"][ok],
            g["h"][ok],
            None,
            None,
            frames=g["num_frames"][ok],
            num_frames=g["num_frames"][ok],
        )
        np.testing.assert_array_equal(got, g["tokens"][ok])
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


# -- qwen-vl-utils element options -------------------------------------------------------


def vl_options(meta: dict[str, Any], g: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    """tokenmeter options for row ``i`` (an ``opt_*`` column of -1 = not passed)."""
    opts: dict[str, Any] = {}
    for key, name in meta["option_names"].items():
        v = g[f"opt_{key}"][i].item()
        if v != -1:
            opts[name] = float(v) if key == "fps" else int(v)
    return opts


@pytest.mark.parametrize(
    ("factor", "model"), [(28, "qwen2.5-vl-72b-instruct"), (32, "qwen3-vl-8b-instruct")]
)
def test_qwen_vl_utils_options(factor: int, model: str) -> None:
    """fetch_video's fps / nframes / min_frames / max_frames / min_pixels / max_pixels /
    total_pixels, each alone and combined, through count_video (every row) and video_tokens
    (one call per option set)."""
    meta, g = load(f"qwen_vl_utils_options_{factor}")
    m = tm.get_model(model, profile="qwen-vl-utils")
    outer = meta["outer_wrappers"]
    want = g["pads"] + g["wrappers"] + outer + g["ts_tokens"]
    ok = g["error"] == 0
    assert 0.5 * len(ok) < ok.sum() < len(ok)  # the sweep reaches refusals too
    assert g["e2e"].sum() >= 50  # rows through the whole processor call
    for i in range(len(ok)):
        opts = vl_options(meta, g, i)
        args = (int(g["w"][i]), int(g["h"][i]))
        if not ok[i]:
            with pytest.raises(InvalidInputError):
                m.count_video(*args, fps=float(g["fps"][i]), frames=int(g["total"][i]), **opts)
            continue
        c = m.count_video(*args, fps=float(g["fps"][i]), frames=int(g["total"][i]), **opts)
        got = (c.frames, c.resized, c.encoder_patches, c.tokens)
        assert got == (
            g["frames"][i],
            (g["resized_h"][i], g["resized_w"][i]),
            g["patches"][i],
            want[i],
        ), {**{k: v[i].item() for k, v in g.items()}, "opts": opts, "got": got}
    for s in np.unique(g["set"]):
        ix = np.flatnonzero((g["set"] == s) & ok)
        if not ix.size:
            continue
        opts = vl_options(meta, g, int(ix[0]))
        got = m.video_tokens(
            g["w"][ix],
            g["h"][ix],
            None,
            g["fps"][ix].astype(np.float64),
            frames=g["total"][ix],
            **opts,
        )
        np.testing.assert_array_equal(got, want[ix], err_msg=str(opts))


# -- Qwen2.5-Omni with the soundtrack -------------------------------------------------------


def test_qwen2_5_omni_use_audio_in_video() -> None:
    """Qwen2_5OmniProcessor interleaves the clip's audio tokens with its video tokens in 2 s
    chunks between <|audio_bos|> and <|audio_eos|>: the count is video + audio + 4 wrappers
    (the prompt's <|vision_bos|>/<|vision_eos|> too), whatever the order."""
    _, all_rows = load("qwen2_5_omni_audio_in_video")
    m = tm.get_model("qwen2.5-omni-7b")
    ok = all_rows["error"] == 0
    assert ok.mean() > 0.95
    assert all_rows["e2e"][ok].sum() >= 20
    for i in np.flatnonzero(~ok):  # a clip with no frame: the processor has nothing to sample
        with pytest.raises(InvalidInputError):
            m.count_video(
                int(all_rows["w"][i]),
                int(all_rows["h"][i]),
                float(all_rows["duration"][i]),
                float(all_rows["fps"][i]),
                use_audio_in_video=True,
            )
    g = {k: v[ok] for k, v in all_rows.items()}
    want = g["video_pads"] + g["audio_pads"] + g["audio_wrappers"] + g["vision_wrappers"]
    got = m.video_tokens(
        g["w"], g["h"], g["duration"], g["fps"], frames=g["total"], use_audio_in_video=True
    )
    np.testing.assert_array_equal(got, want)
    counts = m.video_counts(
        g["w"], g["h"], g["duration"], g["fps"], frames=g["total"], use_audio_in_video=True
    )
    np.testing.assert_array_equal(counts.encoder_patches, g["patches"])
    np.testing.assert_array_equal(counts.derivation["frames"], g["frames"])
    np.testing.assert_array_equal(counts.wrapper_tokens, g["audio_wrappers"] + g["vision_wrappers"])
    # The soundtrack costs nothing unless asked for: the video part alone.
    plain = m.video_tokens(g["w"], g["h"], g["duration"], g["fps"], frames=g["total"])
    np.testing.assert_array_equal(plain, g["video_pads"] + g["vision_wrappers"])
    for i in range(0, len(want), max(1, len(want) // 60)):
        c = m.count_video(
            int(g["w"][i]),
            int(g["h"][i]),
            float(g["duration"][i]),
            float(g["fps"][i]),
            frames=int(g["total"][i]),
            use_audio_in_video=True,
        )
        assert c.tokens == want[i], {k: v[i].item() for k, v in g.items()}
        assert c.details["audio_tokens"] == g["audio_pads"][i] + g["audio_wrappers"][i]


# -- InternVL -----------------------------------------------------------------------------------


def test_internvl_video() -> None:
    """InternVL video against the model card's load_video/get_index + prompt and against
    transformers' InternVLProcessor, on the same clips."""
    _, g = load("internvl")
    m = tm.get_model("internvl2.5-78b")  # Qwen2.5's tokenizer: the labels are exact
    # get_index always returns num_segments frames, all inside the clip, whatever its length.
    np.testing.assert_array_equal(g["frames"], g["num_segments"])
    assert g["indices_ok"].all()
    assert g["e2e"].sum() >= 100  # rows also run through InternVLProcessor.__call__
    hf = g["hf_pads"] + g["hf_wrappers"] + g["hf_text_tokens"]
    for k in np.unique(g["num_segments"]):
        ix = np.flatnonzero(g["num_segments"] == k)
        opts = {"num_frames": int(k)}
        got = m.video_tokens(
            g["w"][ix], g["h"][ix], None, g["fps"][ix], frames=g["total"][ix], **opts
        )
        np.testing.assert_array_equal(got, hf[ix])
        c = m.count_video(
            int(g["w"][ix[0]]),
            int(g["h"][ix[0]]),
            fps=float(g["fps"][ix[0]]),
            frames=int(g["total"][ix[0]]),
            **opts,
        )
        assert (c.frames, c.wrapper_tokens, c.details["text_tokens"]) == (
            k,
            g["hf_wrappers"][ix[0]],
            g["hf_text_tokens"][ix[0]],
        )
        assert c.exact
    # The card's prompt is the processor's plus one "\n" after the last frame: the
    # separator before the question (transformers' chat template writes "<video>\n" there
    # too, outside the video's replacement), which tokenmeter leaves to the prompt.
    one = g["max_num"] == 1
    np.testing.assert_array_equal(g["card_pads"][one], g["hf_pads"][one])
    np.testing.assert_array_equal(g["card_wrappers"], g["hf_wrappers"])
    np.testing.assert_array_equal(g["card_text_tokens"], g["hf_text_tokens"] + 1)
    # load_video(max_num > 1) tiles each frame as an image: the card's per-frame placeholders
    # equal tokenmeter's image count for that frame size under the same max_num (count_video
    # itself follows the card's chat example and transformers: one tile per frame).
    for mx in np.unique(g["max_num"][~one]):
        ix = np.flatnonzero(g["max_num"] == mx)
        per_frame = m.image_tokens(g["w"][ix], g["h"][ix], max_num=int(mx)) - 2
        np.testing.assert_array_equal(g["card_pads"][ix], g["frames"][ix] * per_frame)
        np.testing.assert_array_equal(per_frame, 256 * g["tiles_per_frame"][ix])
    # InternVL2.5-8B (InternLM2's tokenizer): the same count, labelled an estimate.
    c8 = tm.get_model("internvl2.5-8b").count_video(1280, 720, 10, 30)
    assert not c8.exact
    assert c8.tokens == hf[(g["num_segments"] == 8)][0]


# -- vLLM's frame choice -------------------------------------------------------------------------


def test_vllm_loaders() -> None:
    """vLLM's own frame-selection code (vllm/multimodal/video.py of the pinned wheel).

    * ``profile="vllm-opencv"`` is the generic ``opencv`` loader: ``VideoMediaIO``'s
      ``num_frames`` (32) uniformly spaced frames, all of a shorter clip (``nframes=``
      is the ``--media-io-kwargs`` ``num_frames``), then transformers' resize with the hub
      bounds.
    * vLLM maps ``Qwen2VLVideoProcessor`` (Qwen2-VL, Qwen2.5-VL, Qwen2.5-Omni) and
      ``Qwen3VLVideoProcessor`` to fps loaders that reproduce transformers'
      ``sample_frames``: their frame counts equal tokenmeter's default (transformers)
      profile.
    """
    meta, g = load("vllm")
    assert meta["video_media_io_num_frames"] == 32
    assert meta["processor_to_loader"]["Qwen2VLVideoProcessor"] == "qwen2_vl"
    assert meta["processor_to_loader"]["Qwen3VLVideoProcessor"] == "qwen3_vl"
    m = tm.get_model("qwen2.5-vl-72b-instruct", profile="vllm-opencv")
    ok = g["error"] == 0
    for nf in np.unique(g["num_frames"]):
        ix = np.flatnonzero(ok & (g["num_frames"] == nf))
        opts = {"nframes": int(nf)} if nf else {}
        counts = m.video_counts(
            g["w"][ix], g["h"][ix], None, g["fps"][ix], frames=g["total"][ix], **opts
        )
        np.testing.assert_array_equal(counts.derivation["frames"], g["generic_frames"][ix])
        np.testing.assert_array_equal(counts.encoder_patches, g["patches"][ix])
        np.testing.assert_array_equal(counts.tokens, g["patches"][ix] // 4 + 2)
    for i in np.flatnonzero(~ok):  # the processor refuses the frame size
        with pytest.raises(InvalidInputError):
            m.count_video(
                int(g["w"][i]), int(g["h"][i]), fps=float(g["fps"][i]), frames=int(g["total"][i])
            )
    for d in meta["decoded_clips"]:  # real files through vLLM's decode path
        assert m.count_video(64, 48, fps=d["fps"], frames=d["total"]).frames == d["generic_frames"]
    for model, col in (
        ("qwen2.5-vl-72b-instruct", "qwen2_vl_frames"),
        ("qwen3-vl-8b-instruct", "qwen3_vl_frames"),
    ):
        t = tm.get_model(model)  # the transformers profile
        # -1: the loader raises (a 1-frame clip at fps 2); 1: Qwen3-VL's loader keeps the one
        # frame and its processor's smart_resize raises on it. tokenmeter refuses both.
        good = g[col] >= 2
        got = t.video_counts(
            np.full(good.sum(), 1280),
            np.full(good.sum(), 720),
            None,
            g["fps"][good],
            frames=g["total"][good],
        ).derivation["frames"]
        np.testing.assert_array_equal(got, g[col][good])
        for i in np.flatnonzero(~good):
            with pytest.raises(InvalidInputError):
                t.count_video(1280, 720, fps=float(g["fps"][i]), frames=int(g["total"][i]))
