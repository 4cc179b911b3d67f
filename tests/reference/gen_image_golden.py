"""Golden image token counts, produced by calling the reference implementations themselves.

Run in the reference venv (torch, torchvision, transformers 5.24, qwen-vl-utils 0.0.14,
mistral-common 1.13.1, opencv for the mistral-common end-to-end check); CI only reads
the JSON::

    /work/refvenv/bin/python tests/reference/gen_image_golden.py            # everything
    /work/refvenv/bin/python tests/reference/gen_image_golden.py --only qwen

Writes ``tests/golden/image/<name>.json`` (``{"meta": …, "columns": {…}}``; heights
``h`` and widths ``w`` in pixels, ``error`` = 1 where the reference raises or cannot
process the image):

* ``qwen_transformers_*.json`` — ``Qwen2VLImageProcessor.get_number_of_image_patches``
  and ``transformers…qwen2_vl…smart_resize`` with each hub config (Qwen2/2.5-VL,
  Qwen2.5-Omni, Qwen3-VL, the class defaults): ``patches``, ``resized_h``, ``resized_w``.
* ``qwen_vl_utils_*.json`` — ``qwen_vl_utils.vision_process.smart_resize`` (factor 28 and
  32; the DashScope bounds): ``resized_h``, ``resized_w``.
* ``llava.json`` — ``LlavaProcessor._get_num_multimodal_tokens`` (``placeholders``).
* ``llava_next.json`` — ``LlavaNextProcessor._get_num_multimodal_tokens`` and
  ``select_best_resolution`` (``placeholders``, ``best_h``, ``best_w``).
* ``internvl_max{6,12}.json`` — ``GotOcr2ImageProcessor.get_number_of_image_patches`` and
  ``get_optimal_tiled_canvas`` (``patches``, ``cols``, ``rows``), plus ``card_cols`` /
  ``card_rows`` from the model card's own ``find_closest_aspect_ratio`` (copied below,
  labelled), so the two orderings are compared on every case.
* ``pixtral_*.json`` / ``mistral_small_*.json`` — mistral-common's
  ``ImageEncoder._image_to_num_tokens`` (``rows``, ``cols``) and transformers'
  ``PixtralProcessor`` (``get_resize_output_image_size``: ``rows``, ``cols``).
* ``mllama.json`` — ``mllama.image_processing_mllama.get_optimal_tiled_canvas``.
* ``anthropic_{standard,high}.json`` — the reference ``resized_size`` published in
  Anthropic's vision docs (copied below, labelled): ``resized_w``, ``resized_h``.
* ``processors_e2e.json`` — real images run through the full processors (Qwen2-VL,
  LLaVA, LLaVA-NeXT, InternVL, Pixtral, Mllama) and mistral-common's ``ImageEncoder``:
  the placeholder ids and wrapper ids in ``input_ids``. This pins the wrapper counts the
  library adds to the helper functions' placeholder counts.
* ``vendor_examples.json`` — the numbers printed in OpenAI's, Anthropic's and Google's
  docs (and API measurements cited in ``docs/images.md``), with their sources.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _refenv  # (sets up torch/torchvision and offline mode)
import numpy as np

# -- image sizes ---------------------------------------------------------------------------------

#: Sizes every family is checked on, as (height, width).
EDGE_CASES: list[tuple[int, int]] = [
    (1, 1),
    (27, 27),
    (28, 28),
    (14, 14),
    (13, 13),
    (15, 15),
    (10, 2000),
    (2000, 10),
    (1, 200),
    (200, 1),
    (1, 201),
    (14, 2800),
    (2800, 14),
    (10, 10000),
    (10000, 10),
    (720, 1280),
    (1280, 720),
    (1080, 1920),
    (1920, 1080),
    (2160, 3840),
    (3840, 2160),
    (20000, 20000),
    (336, 336),
    (448, 448),
    (384, 384),
    (385, 384),
    (384, 385),
    (512, 512),
    (513, 512),
    (560, 560),
    (561, 561),
    (768, 768),
    (1024, 1024),
    (4096, 2048),
    (2048, 4096),
    (1520, 1075),
    (1500, 2000),
    (1092, 1092),
    (1000, 1000),
    (200, 200),
    (1502, 3000),
    (3000, 1502),
    (630, 630),
    (658, 658),
    (3584, 3598),
    (3584, 3599),
    (1, 3),
    (1, 4),
    (224, 224),
    (100, 1000),
    (1000, 100),
    (64, 128),
]


def size_cases(
    seed: int, n_random: int, factors: Iterable[int] = (28,), max_side: int = 20000
) -> list[tuple[int, int]]:
    """Edge cases, log-uniform sizes, aspect-controlled sizes and factor boundaries."""
    r = _refenv.rng(seed)
    out: dict[tuple[int, int], None] = dict.fromkeys(EDGE_CASES)

    def logu(lo: int, hi: int) -> int:
        return max(lo, min(hi, int(math.exp(r.uniform(math.log(lo), math.log(hi + 1))))))

    for _ in range(n_random // 2):
        out[(logu(1, max_side), logu(1, max_side))] = None
    for _ in range(n_random // 4):
        h = logu(1, max_side)
        w = max(1, min(max_side, round(h * math.exp(r.uniform(-math.log(150), math.log(150))))))
        out[(h, w)] = None
    fs = list(factors)
    for _ in range(n_random // 4):
        f = r.choice(fs)
        k = logu(1, max_side // f)
        d = r.choice((-1, 0, 1, f // 2 - 1, f // 2, f // 2 + 1))
        side = max(1, k * f + d)
        other = logu(1, max_side)
        out[(side, other) if r.random() < 0.5 else (other, side)] = None
    return list(out)


def columns_from(
    cases: list[tuple[int, int]], fn: Callable[[int, int], dict[str, int] | None]
) -> dict[str, list[int]]:
    """Run ``fn(h, w)`` for every case; None or ValueError marks ``error`` = 1."""
    cols: dict[str, list[int]] = {"h": [], "w": [], "error": []}
    keys: list[str] | None = None
    rows: list[tuple[int, int, dict[str, int] | None]] = []
    for h, w in cases:
        try:
            res = fn(h, w)
        except (ValueError, AssertionError, ZeroDivisionError):
            res = None
        rows.append((h, w, res))
        if res is not None and keys is None:
            keys = list(res)
    for h, w, res in rows:
        cols["h"].append(h)
        cols["w"].append(w)
        cols["error"].append(1 if res is None else 0)
        for k in keys or []:
            cols.setdefault(k, []).append(-1 if res is None else int(res[k]))
    return cols


# -- Qwen -----------------------------------------------------------------------------------------

QWEN_CONFIGS = {
    # name: (patch, merge, min_pixels, max_pixels, source)
    "qwen_transformers_qwen2_vl": (
        14,
        2,
        3136,
        12845056,
        "hub Qwen/Qwen2.5-VL-*-Instruct preprocessor_config.json",
    ),
    "qwen_transformers_qwen2_5_omni": (
        14,
        2,
        3136,
        12845056,
        "hub Qwen/Qwen2.5-Omni-7B preprocessor_config.json",
    ),
    "qwen_transformers_qwen3_vl": (
        16,
        2,
        65536,
        16777216,
        "hub Qwen/Qwen3-VL-*-Instruct preprocessor_config.json",
    ),
    "qwen_transformers_defaults": (
        14,
        2,
        3136,
        1003520,
        "Qwen2VLImageProcessor class defaults (56*56, 28*28*1280)",
    ),
}
QWEN_VL_UTILS_CONFIGS = {
    "qwen_vl_utils_f28": (28, 3136, 12845056, "qwen-vl-utils defaults, image_patch_size=14"),
    "qwen_vl_utils_f32": (32, 4096, 16777216, "qwen-vl-utils defaults, image_patch_size=16"),
    "qwen_vl_utils_dashscope": (28, 3136, 1003520, "the catalog's dashscope profile bounds"),
}


def gen_qwen(n: int) -> None:
    from qwen_vl_utils.vision_process import smart_resize as qvu_smart_resize
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import (
        Qwen2VLImageProcessor,
        smart_resize,
    )

    cases = size_cases(101, n, factors=(28, 32))
    for name, (patch, merge, lo, hi, src) in QWEN_CONFIGS.items():
        ip = Qwen2VLImageProcessor(
            min_pixels=lo, max_pixels=hi, patch_size=patch, merge_size=merge, temporal_patch_size=2
        )

        def one(
            h: int,
            w: int,
            ip: Any = ip,
            patch: int = patch,
            merge: int = merge,
            lo: int = lo,
            hi: int = hi,
        ) -> dict[str, int]:
            patches = ip.get_number_of_image_patches(h, w, {})
            rh, rw = smart_resize(h, w, factor=patch * merge, min_pixels=lo, max_pixels=hi)
            if rh <= 0 or rw <= 0:
                raise ValueError("zero side")
            return {"patches": patches, "resized_h": rh, "resized_w": rw}

        meta = {
            "reference": "transformers Qwen2VLImageProcessor.get_number_of_image_patches + "
            "models/qwen2_vl/image_processing_qwen2_vl.smart_resize",
            "config": {
                "patch_size": patch,
                "merge_size": merge,
                "min_pixels": lo,
                "max_pixels": hi,
                "source": src,
            },
        }
        _refenv.write("image", name, meta, columns_from(cases, one))
    for name, (factor, lo, hi, src) in QWEN_VL_UTILS_CONFIGS.items():

        def one_q(
            h: int, w: int, factor: int = factor, lo: int = lo, hi: int = hi
        ) -> dict[str, int]:
            rh, rw = qvu_smart_resize(h, w, factor=factor, min_pixels=lo, max_pixels=hi)
            if rh <= 0 or rw <= 0:
                raise ValueError("zero side: the image cannot be resized")
            return {"resized_h": rh, "resized_w": rw}

        meta = {
            "reference": "qwen_vl_utils.vision_process.smart_resize",
            "config": {"factor": factor, "min_pixels": lo, "max_pixels": hi, "source": src},
        }
        _refenv.write("image", name, meta, columns_from(cases, one_q))


# -- LLaVA -----------------------------------------------------------------------------------------

LLAVA_NEXT_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


def _llava_tokenizer() -> Any:
    return _refenv.tiny_tokenizer({"image_token": "<image>"})


def gen_llava(n: int) -> None:
    from transformers import CLIPImageProcessor, LlavaProcessor
    from transformers.image_processing_utils import select_best_resolution
    from transformers.models.llava_next import LlavaNextImageProcessor, LlavaNextProcessor

    cases = size_cases(202, n, factors=(336, 14))
    tok = _llava_tokenizer()
    lp = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
        ),
        tokenizer=tok,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )

    def one_l(h: int, w: int) -> dict[str, int]:
        return {
            "placeholders": lp._get_num_multimodal_tokens(image_sizes=[[h, w]]).num_image_tokens[0]
        }

    _refenv.write(
        "image",
        "llava",
        {
            "reference": "transformers LlavaProcessor._get_num_multimodal_tokens",
            "config": {
                "hub": "llava-hf/llava-1.5-7b-hf",
                "patch_size": 14,
                "crop": 336,
                "vision_feature_select_strategy": "default",
                "num_additional_image_tokens": 1,
            },
        },
        columns_from(cases[: n // 4], one_l),
    )

    np_ = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": 336},
            crop_size={"height": 336, "width": 336},
            image_grid_pinpoints=LLAVA_NEXT_PINPOINTS,
        ),
        tokenizer=tok,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )

    def one_n(h: int, w: int) -> dict[str, int]:
        ph = np_._get_num_multimodal_tokens(image_sizes=[[h, w]]).num_image_tokens[0]
        bh, bw = select_best_resolution((h, w), LLAVA_NEXT_PINPOINTS)
        return {"placeholders": ph, "best_h": bh, "best_w": bw}

    _refenv.write(
        "image",
        "llava_next",
        {
            "reference": "transformers LlavaNextProcessor._get_num_multimodal_tokens; "
            "image_processing_utils.select_best_resolution",
            "config": {
                "hub": "llava-hf/llava-v1.6-mistral-7b-hf",
                "patch_size": 14,
                "crop": 336,
                "pinpoints": LLAVA_NEXT_PINPOINTS,
                "vision_feature_select_strategy": "default",
                "num_additional_image_tokens": 1,
            },
        },
        columns_from(cases, one_n),
    )


# -- InternVL --------------------------------------------------------------------------------------


# fmt: off
# ---- BEGIN: copied from the OpenGVLab/InternVL2_5-8B model card (README "dynamic_preprocess"):
# find_closest_aspect_ratio verbatim (renamed with a card_ prefix), and the target_ratios
# expression of dynamic_preprocess. Kept to compare the card's set-ordered candidates with
# transformers' ordering on every golden case.
def card_find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):  # type: ignore[no-untyped-def]
    best_ratio_diff = float('inf')
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:  # noqa: SIM102
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio


def card_target_ratios(min_num: int, max_num: int) -> list[tuple[int, int]]:
    target_ratios = set(
        (i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1) if  # noqa: E501
        i * j <= max_num and i * j >= min_num)
    return sorted(target_ratios, key=lambda x: x[0] * x[1])
# ---- END: copied from the InternVL model card
# fmt: on


def gen_internvl(n: int) -> None:
    from transformers.models.got_ocr2 import GotOcr2ImageProcessor
    from transformers.models.got_ocr2.image_processing_got_ocr2 import get_optimal_tiled_canvas

    cases = size_cases(303, n, factors=(448,))
    for max_num in (12, 6):
        ip = GotOcr2ImageProcessor(
            crop_to_patches=True,
            min_patches=1,
            max_patches=max_num,
            size={"height": 448, "width": 448},
        )
        card = card_target_ratios(1, max_num)

        def one(
            h: int, w: int, ip: Any = ip, max_num: int = max_num, card: Any = card
        ) -> dict[str, int]:
            patches = ip.get_number_of_image_patches(h, w, {})
            cols, rows = get_optimal_tiled_canvas((h, w), (448, 448), 1, max_num)
            cc, cr = card_find_closest_aspect_ratio(w / h, card, w, h, 448)
            return {
                "patches": patches,
                "cols": cols,
                "rows": rows,
                "card_cols": cc,
                "card_rows": cr,
            }

        _refenv.write(
            "image",
            f"internvl_max{max_num}",
            {
                "reference": "transformers GotOcr2ImageProcessor.get_number_of_image_patches "
                "(crop_to_patches) + got_ocr2 get_optimal_tiled_canvas; model card "
                "find_closest_aspect_ratio (card_*)",
                "config": {
                    "hub": "OpenGVLab/InternVL2_5-8B-MPO-hf",
                    "tile": 448,
                    "min_patches": 1,
                    "max_patches": max_num,
                    "image_seq_length": 256,
                },
            },
            columns_from(cases, one),
        )


# -- Pixtral / Mistral -----------------------------------------------------------------------------

MISTRAL_CONFIGS = {
    # name: (patch, max_image_size, merge, hub)
    "pixtral_12b": (16, 1024, 1, "mistralai/Pixtral-12B-2409 tekken.json"),
    "mistral_small_3_1": (14, 1540, 2, "mistralai/Mistral-Small-3.1-24B-Instruct-2503"),
}


class _SizeOnly:
    """Stands in for a PIL image: ``_image_to_num_tokens`` reads only ``.size``."""

    def __init__(self, w: int, h: int) -> None:
        self.size = (w, h)


def gen_mistral(n: int) -> None:
    from mistral_common.tokens.tokenizers.image import ImageConfig, ImageEncoder, SpecialImageIDs
    from transformers.models.pixtral.image_processing_pixtral import get_resize_output_image_size

    cases = size_cases(404, n, factors=(16, 28, 1024, 1540))
    for name, (patch, max_size, merge, hub) in MISTRAL_CONFIGS.items():
        enc = ImageEncoder(
            ImageConfig(image_patch_size=patch, max_image_size=max_size, spatial_merge_size=merge),
            SpecialImageIDs(img=10, img_break=12, img_end=13),
        )

        def one_mc(h: int, w: int, enc: Any = enc) -> dict[str, int]:
            cols, rows = enc._image_to_num_tokens(_SizeOnly(w, h))  # type: ignore[arg-type]
            return {"rows": rows, "cols": cols}

        _refenv.write(
            "image",
            f"{name}_mistral_common",
            {
                "reference": "mistral_common ImageEncoder._image_to_num_tokens",
                "config": {
                    "image_patch_size": patch,
                    "max_image_size": max_size,
                    "spatial_merge_size": merge,
                    "hub": hub,
                },
            },
            columns_from(cases, one_mc),
        )
        p = patch * merge

        def one_tf(h: int, w: int, max_size: int = max_size, p: int = p) -> dict[str, int]:
            # The processor's _get_num_multimodal_tokens passes np.zeros((h, w, 3)); a
            # broadcast view has the same shape without allocating h*w*3 floats. The
            # channel axis is named: left to inference, an image 1 or 3 px high reads as
            # channels-first (a quirk of that helper, not of the real processing path).
            img = np.broadcast_to(np.zeros((1, 1, 3)), (h, w, 3))
            rh, rw = get_resize_output_image_size(
                img, size=(max_size, max_size), patch_size=(p, p), input_data_format="channels_last"
            )
            rows, cols = rh // p, rw // p
            if rows <= 0 or cols <= 0:
                raise ValueError("zero side: the processor cannot resize to it")
            return {"rows": rows, "cols": cols}

        _refenv.write(
            "image",
            f"{name}_transformers",
            {
                "reference": "transformers pixtral get_resize_output_image_size (what "
                "PixtralProcessor._get_num_multimodal_tokens calls)",
                "config": {
                    "patch_size": patch,
                    "spatial_merge_size": merge,
                    "longest_edge": max_size,
                    "hub": hub,
                },
            },
            columns_from(cases, one_tf),
        )


# -- Llama 3.2 Vision ------------------------------------------------------------------------------


def gen_mllama(n: int) -> None:
    from transformers.models.mllama.image_processing_mllama import get_optimal_tiled_canvas

    cases = size_cases(505, n, factors=(560,))

    def one(h: int, w: int) -> dict[str, int]:
        ch, cw = get_optimal_tiled_canvas(h, w, 4, 560)
        return {"rows": int(ch) // 560, "cols": int(cw) // 560}

    _refenv.write(
        "image",
        "mllama",
        {
            "reference": "transformers mllama image_processing_mllama.get_optimal_tiled_canvas",
            "config": {
                "hub": "meta-llama/Llama-3.2-11B-Vision-Instruct",
                "max_image_tiles": 4,
                "tile_size": 560,
            },
        },
        columns_from(cases, one),
    )


# -- Anthropic -------------------------------------------------------------------------------------


# fmt: off
# ---- BEGIN: copied verbatim from Anthropic's vision docs ---------------------------------------
# Source: https://platform.claude.com/docs/en/build-with-claude/vision (section "Resize your
# image before uploading"; the same function is on .../vision-coordinates), read 2026-11 from
# a stored copy of the page. It is the docs' reference for the resize and the token count.
def count_image_tokens(width: int, height: int) -> int:
    """Visual tokens consumed by an image: one token per 28x28 pixel patch."""
    return math.ceil(width / 28) * math.ceil(height / 28)


def resized_size(
    width: int,
    height: int,
    max_edge: int = 1568,
    max_tokens: int = 1568,
) -> tuple[int, int]:
    """The size Claude resizes an image to before padding.

    Defaults are for most models. For Claude Opus 4.7 and later models, use
    max_edge=2576 and max_tokens=4784. Returns (width, height). Images that
    already fit within the limits are returned unchanged.
    """

    def fits(w: int, h: int) -> bool:
        return (
            math.ceil(w / 28) * 28 <= max_edge
            and math.ceil(h / 28) * 28 <= max_edge
            and count_image_tokens(w, h) <= max_tokens
        )

    if fits(width, height):
        return (width, height)
    if height > width:
        resized_h, resized_w = resized_size(height, width, max_edge, max_tokens)
        return (resized_w, resized_h)

    # Binary search along the long edge for the largest aspect-preserving
    # size that fits.
    aspect_ratio = width / height
    lo, hi = 1, width  # lo always fits; hi never fits
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fits(mid, max(round(mid / aspect_ratio), 1)):
            lo = mid
        else:
            hi = mid
    return (lo, max(round(lo / aspect_ratio), 1))
# ---- END: copied from Anthropic's vision docs --------------------------------------------------
# fmt: on


def gen_anthropic(n: int) -> None:
    cases = size_cases(606, n, factors=(28, 1568, 2576))
    for name, edge, cap in (("anthropic_standard", 1568, 1568), ("anthropic_high", 2576, 4784)):

        def one(h: int, w: int, edge: int = edge, cap: int = cap) -> dict[str, int]:
            rw, rh = resized_size(w, h, edge, cap)
            return {"resized_h": rh, "resized_w": rw, "tokens": count_image_tokens(rw, rh)}

        _refenv.write(
            "image",
            name,
            {
                "reference": "resized_size / count_image_tokens from Anthropic's vision docs "
                "(copied into tests/reference/gen_image_golden.py)",
                "config": {"max_edge": edge, "max_tokens": cap},
            },
            columns_from(cases, one),
        )


# -- end to end through the processors ------------------------------------------------------------


E2E_SIZES = [
    (1, 1),
    (27, 27),
    (14, 14),
    (10, 200),
    (200, 10),
    (100, 1000),
    (720, 1280),
    (1080, 1920),
    (333, 500),
    (500, 333),
    (448, 1344),
    (1344, 448),
    (600, 600),
    (1200, 300),
    (64, 128),
    (1502, 300),
    (300, 1502),
    (2000, 1500),
    (37, 53),
]


def gen_e2e() -> None:
    from PIL import Image
    from transformers import (
        CLIPImageProcessor,
        LlavaProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
    )
    from transformers.models.got_ocr2 import GotOcr2ImageProcessor
    from transformers.models.internvl import InternVLProcessor, InternVLVideoProcessor
    from transformers.models.llava_next import LlavaNextImageProcessor, LlavaNextProcessor
    from transformers.models.mllama import MllamaImageProcessor
    from transformers.models.pixtral import PixtralImageProcessor, PixtralProcessor
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor

    cols: dict[str, list[Any]] = {
        "family": [],
        "h": [],
        "w": [],
        "placeholders": [],
        "wrappers": [],
        "tiles": [],
    }

    def add(fam: str, h: int, w: int, ph: int, wr: int, tiles: int = -1) -> None:
        for k, v in (
            ("family", fam),
            ("h", h),
            ("w", w),
            ("placeholders", ph),
            ("wrappers", wr),
            ("tiles", tiles),
        ):
            cols[k].append(v)

    def count(ids: Any, tok: Any, names: list[str]) -> list[int]:
        ids = list(np.asarray(ids).ravel())
        return [ids.count(tok.convert_tokens_to_ids(t)) for t in names]

    qtok = _refenv.tiny_tokenizer(
        {
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_bos_token": "<|vision_start|>",
            "vision_eos_token": "<|vision_end|>",
        }
    )
    qproc = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056),
        tokenizer=qtok,
        video_processor=Qwen2VLVideoProcessor(),
    )
    ltok = _llava_tokenizer()
    lproc = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
        ),
        tokenizer=ltok,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    nproc = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": 336},
            crop_size={"height": 336, "width": 336},
            image_grid_pinpoints=LLAVA_NEXT_PINPOINTS,
        ),
        tokenizer=ltok,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    itok = _refenv.tiny_tokenizer(
        {
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        }
    )
    iproc = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(
            crop_to_patches=True, min_patches=1, max_patches=12, size={"height": 448, "width": 448}
        ),
        tokenizer=itok,
        video_processor=InternVLVideoProcessor(),
        image_seq_length=256,
    )
    ptok = _refenv.tiny_tokenizer(
        {"image_token": "[IMG]", "image_break_token": "[IMG_BREAK]", "image_end_token": "[IMG_END]"}
    )
    pproc = PixtralProcessor(
        image_processor=PixtralImageProcessor(
            size={"longest_edge": 1024}, patch_size={"height": 16, "width": 16}
        ),
        tokenizer=ptok,
        patch_size=16,
        spatial_merge_size=1,
    )
    mproc = MllamaImageProcessor(max_image_tiles=4, size={"height": 560, "width": 560})

    for h, w in E2E_SIZES:
        img = Image.new("RGB", (w, h), (128, 64, 32))
        try:
            out = qproc(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[img])
            ph, a, b = count(
                out["input_ids"], qtok, ["<|image_pad|>", "<|vision_start|>", "<|vision_end|>"]
            )
            add("qwen2_vl", h, w, ph, a + b)
        except ValueError:
            add("qwen2_vl", h, w, -1, -1)
        out = lproc(text=["<image>"], images=[img])
        add("llava", h, w, count(out["input_ids"], ltok, ["<image>"])[0], 0)
        out = nproc(text=["<image>"], images=[img])
        add("llava_next", h, w, count(out["input_ids"], ltok, ["<image>"])[0], 0)
        out = iproc(text=["<IMG_CONTEXT>"], images=[img])
        ph, a, b = count(out["input_ids"], itok, ["<IMG_CONTEXT>", "<img>", "</img>"])
        add("internvl", h, w, ph, a + b, int(np.asarray(out["pixel_values"]).shape[0]))
        out = pproc(text=["[IMG]"], images=[img])
        ph, a, b = count(out["input_ids"], ptok, ["[IMG]", "[IMG_BREAK]", "[IMG_END]"])
        add("pixtral_transformers", h, w, ph, a + b)
        mout = mproc(images=[[img]])
        add("mllama", h, w, 1, 0, int(np.asarray(mout["num_tiles"]).ravel()[0]))
    try:
        import cv2  # noqa: F401
        from mistral_common.protocol.instruct.chunk import ImageChunk
        from mistral_common.tokens.tokenizers.image import (
            ImageConfig,
            ImageEncoder,
            SpecialImageIDs,
        )
    except ImportError:
        print("opencv not installed: skipping mistral-common end-to-end cases")
    else:
        for name, (patch, max_size, merge, _) in MISTRAL_CONFIGS.items():
            enc = ImageEncoder(
                ImageConfig(patch, max_size, merge),
                SpecialImageIDs(img=10, img_break=12, img_end=13),
            )
            for h, w in E2E_SIZES:
                toks = enc(ImageChunk(image=Image.new("RGB", (w, h)))).tokens
                add(f"{name}_mistral_common", h, w, toks.count(10), toks.count(12) + toks.count(13))
    _refenv.write(
        "image",
        "processors_e2e",
        {
            "reference": "full processors on real images (PIL.Image.new), counting ids in "
            "input_ids; mistral_common ImageEncoder.__call__ token lists",
            "note": "tiles: InternVL pixel_values tiles (thumbnail included); Mllama num_tiles",
        },
        cols,
    )


# -- vendor docs ---------------------------------------------------------------------------------


def gen_vendor() -> None:
    """Numbers printed in the vendors' docs, and API measurements cited in docs/images.md."""
    rows: list[tuple[str, str, int, int, str, int, str]] = []
    oa = "https://platform.openai.com/docs/guides/images-vision#calculating-costs"
    measured = "https://community.openai.com/t/vision-pricing-calculator-inaccurate-resizing-rounding-vs-api-costs/1281361"
    rows += [
        ("gpt-4o", "high", 1024, 1024, "tokens", 765, oa),
        ("gpt-4o", "high", 4096, 2048, "tokens", 1105, oa),
        ("gpt-4o", "low", 8192, 4096, "tokens", 85, oa),
        ("gpt-4.1-mini", "", 1024, 1024, "patches", 1024, oa),
        ("gpt-4.1-mini", "", 2400, 1800, "patches", 1452, oa),
        # API measurements (bill minus the text framing): 2049x513 is 8 tiles, 2050x513 is 4.
        ("gpt-4.1", "high", 513, 2049, "tiles", 8, measured),
        ("gpt-4.1", "high", 513, 2050, "tiles", 4, measured),
        # gpt-4o bills 170 more at high than at low for 128x64: one tile.
        (
            "gpt-4o",
            "high",
            64,
            128,
            "tiles",
            1,
            "https://community.openai.com/t/vision-more-than-one-way-to-send-a-request-undocumented-and-different-pricing-realized/1262691",
        ),
        # gpt-4.1-mini at 4000x1474 is billed the 1536-patch cap x 1.62 = 2488.
        ("gpt-4.1-mini", "", 1474, 4000, "tokens", 2488, measured),
        # gpt-image-1 (low fidelity: 65 + 129 per tile, short side 512): 1024x1025 and
        # 1023x1024 bill one tile (194), a 512x513 image two.
        ("gpt-image-1", "high", 1025, 1024, "tokens", 194, measured),
        ("gpt-image-1", "high", 1024, 1023, "tokens", 194, measured),
        ("gpt-image-1", "high", 513, 512, "tiles", 2, measured),
    ]
    an = "https://platform.claude.com/docs/en/build-with-claude/vision (Calculate image costs)"
    for (w, h), std, high in (
        ((200, 200), 64, 64),
        ((1000, 1000), 1296, 1296),
        ((1092, 1092), 1521, 1521),
        ((1920, 1080), 1560, 2691),
        ((2000, 1500), 1564, 3888),
        ((3840, 2160), 1560, 4784),
    ):
        rows.append(("claude-sonnet-4-5", "", h, w, "tokens", std, an))
        rows.append(("claude-opus-4-7", "", h, w, "tokens", high, an))
    for (w, h), (rw, rh) in (
        ((1920, 1080), (1456, 819)),
        ((2000, 1500), (1270, 952)),
        ((3840, 2160), (1456, 819)),
        ((1075, 1520), (924, 1307)),
    ):
        rows.append(("claude-sonnet-4-5", "", h, w, "resized_w", rw, an))
        rows.append(("claude-sonnet-4-5", "", h, w, "resized_h", rh, an))
    rows.append(("claude-opus-4-7", "", 2160, 3840, "resized_w", 2576, an))
    rows.append(("claude-opus-4-7", "", 2160, 3840, "resized_h", 1449, an))
    gg = "https://ai.google.dev/gemini-api/docs/tokens (images with both dimensions <= 384 px: 258)"
    for h, w in ((384, 384), (1, 1), (200, 384), (384, 100), (27, 27)):
        rows.append(("gemini-2.5-flash", "", h, w, "tokens", 258, gg))
    g3 = "https://ai.google.dev/gemini-api/docs/media-resolution (image budgets)"
    for res, budget in (("low", 280), ("medium", 560), ("high", 1120), ("ultra_high", 2240)):
        rows.append(("gemini-3-pro", res, 1080, 1920, "tokens", budget, g3))
    cols = {
        k: [r[i] for r in rows]
        for i, k in enumerate(("model", "option", "h", "w", "quantity", "value", "source"))
    }
    _refenv.write(
        "image",
        "vendor_examples",
        {
            "reference": "numbers printed in the vendors' docs and cited API measurements",
            "option": "OpenAI detail / Gemini media_resolution",
        },
        cols,
    )


FAMILIES = {
    "qwen": gen_qwen,
    "llava": gen_llava,
    "internvl": gen_internvl,
    "mistral": gen_mistral,
    "mllama": gen_mllama,
    "anthropic": gen_anthropic,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=[*FAMILIES, "e2e", "vendor"], action="append")
    ap.add_argument("-n", type=int, default=3000, help="random cases per family")
    args = ap.parse_args()
    todo = args.only or [*FAMILIES, "e2e", "vendor"]
    for name in todo:
        if name == "e2e":
            gen_e2e()
        elif name == "vendor":
            gen_vendor()
        else:
            FAMILIES[name](args.n)


if __name__ == "__main__":
    main()
