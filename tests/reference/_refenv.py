"""Shared set-up for the video/audio golden generators (run in the reference venv, not in CI).

* Offline: ``HF_HUB_OFFLINE=1``; every processor is built from its class with the hub
  config values written in the generator.
* torchvision from PyPI is a CUDA build: the two op schemas it registers fakes for are
  defined before it is imported.
* Processors need a tokenizer only to map placeholder strings to ids, so a tiny offline
  WordLevel tokenizer that holds the special tokens serves (:func:`tiny_tokenizer`).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import contextlib

import torch

_lib = torch.library.Library("torchvision", "DEF")
_lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_lib.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

QWEN_SPECIALS = {
    "audio_token": "<|AUDIO|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
}


def tiny_tokenizer(specials: dict[str, str] | None = None, extra: list[str] | None = None) -> Any:
    """A WordLevel tokenizer whose vocabulary is the special tokens (one id each)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = dict(QWEN_SPECIALS if specials is None else specials)
    names = ["[UNK]", *specials.values(), *(extra or [])]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(names))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]",
                                   extra_special_tokens=specials)


def rng(seed: int) -> random.Random:
    return random.Random(seed)


#: Packages only some golden files use: recorded in a file's versions when its
#: ``meta["reference"]`` names them (e.g. "mistral_common ImageEncoder...", "tiktoken").
_NAMED_IN_REFERENCE = {"mistral-common": ("mistral_common", "mistral-common"),
                       "tiktoken": ("tiktoken",), "opencv-python-headless": ("opencv", "cv2")}


def versions(reference: str = "") -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "torchvision", "transformers", "qwen-vl-utils", "diffusers", "librosa",
                "numpy", "soxr"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[pkg] = md.version(pkg)
    for pkg, names in _NAMED_IN_REFERENCE.items():
        if any(n in reference for n in names):
            with contextlib.suppress(md.PackageNotFoundError):
                out[pkg] = md.version(pkg)
    return out


def write(kind: str, name: str, meta: dict[str, Any], columns: dict[str, list[Any]]) -> None:
    """Write ``tests/golden/<kind>/<name>.json``: metadata plus column arrays of one length."""
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{name}: columns differ in length: {lengths}")
    out = GOLDEN / kind / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    # meta["versions"] adds what is not installed (e.g. a wheel's source run in isolation).
    vers = {**versions(str(meta.get("reference", ""))), **meta.get("versions", {})}
    doc = {"meta": {**meta, "versions": vers, "cases": next(iter(lengths.values()))},
           "columns": columns}
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(GOLDEN.parent.parent)}: {doc['meta']['cases']} cases")
