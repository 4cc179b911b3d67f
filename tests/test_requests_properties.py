"""Properties of count_request over hypothesis-built requests (random mixes of parts).

* A text-only request counts exactly what ``Model.count_messages`` counts, in every chat
  format (ChatML, Llama 3, OpenAI, Mistral, the estimated ones).
* With media, the total is the sum of the parts counted one by one (each media part equal
  to the modality rule for its size, each text part to ``count_text``) plus the framing,
  and the framing is the reference's: the Qwen2-VL Jinja template tokenized with Qwen's
  vocabulary and special tokens, ``llama_models``' ``ChatFormat`` with real images, the
  OpenAI cookbook rule.
* The same conversation in the four vendor shapes counts the same on one model.

Media sizes come from a resolver (``https://img.test/<w>x<h>``), so hypothesis can pick any
size without encoding an image; the data-URL path is exercised by the golden files and by
the tests at the end of this module.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediafactory as mf
import tokenmeter as tm
from strategies import text_alphabet
from test_requests_golden import cookbook_text, qwen_template_reference
from tokenmeter.text import vocabulary_available

QWEN_VL = "qwen2.5-vl-72b-instruct"

short_text = st.text(alphabet=text_alphabet, max_size=40)


def resolver(url: str) -> tm.ImageInfo | tm.VideoInfo | tm.AudioInfo:
    """Media described by their URL: img.test/WxH, vid.test/WxHxSECONDSxFPS, aud.test/SECONDS."""
    kind, spec = re.match(r"https://(\w+)\.test/(.+)$", url).groups()  # type: ignore[union-attr]
    if kind == "img":
        w, h = map(int, spec.split("x"))
        return tm.ImageInfo(width=w, height=h, format="PNG")
    if kind == "vid":
        w, h, d, fps = spec.split("x")
        frames = max(1, round(float(d) * float(fps)))
        return tm.VideoInfo(width=int(w), height=int(h), duration=float(d), fps=float(fps),
                            frames=frames)
    d = float(spec)
    return tm.AudioInfo(duration=d, sample_rate=16000, samples=round(d * 16000))


# A part: ("text", str) | ("image", (w, h)) | ("video", (w, h, seconds, fps)) | ("audio", s)
sides = st.integers(28, 2500)
images = st.tuples(sides, sides).filter(lambda s: max(s) / min(s) <= 150)
videos = st.tuples(st.integers(56, 1280), st.integers(56, 1280), st.integers(2, 12),
                   st.sampled_from([24, 25, 30]))
audios = st.integers(1, 40).map(lambda n: n / 4)


def parts(*kinds: str) -> st.SearchStrategy[list[tuple[str, Any]]]:
    options = [st.tuples(st.just("text"), short_text)]
    if "image" in kinds:
        options.append(st.tuples(st.just("image"), images))
    if "video" in kinds:
        options.append(st.tuples(st.just("video"), videos))
    if "audio" in kinds:
        options.append(st.tuples(st.just("audio"), audios))
    return st.lists(st.one_of(*options), min_size=1, max_size=5)


def conversation(*kinds: str) -> st.SearchStrategy[list[tuple[str, list[tuple[str, Any]]]]]:
    """Alternating user/assistant turns ending with the user; media only in user turns."""
    turn = st.tuples(st.sampled_from(["user"]), parts(*kinds))
    # mistral-common refuses an empty assistant turn; every other format takes one.
    reply = st.tuples(st.just("assistant"),
                      st.lists(st.tuples(st.just("text"), short_text.filter(str.strip)),
                               min_size=1, max_size=3))
    return st.tuples(st.booleans(), short_text, st.lists(st.tuples(turn, reply), max_size=2),
                     turn).map(lambda t: ([("system", [("text", t[1])])] if t[0] else [])
                               + [m for pair in t[2] for m in pair] + [t[3]])


def url(kind: str, v: Any) -> str:
    if kind == "image":
        return f"https://img.test/{v[0]}x{v[1]}"
    if kind == "video":
        return f"https://vid.test/{v[0]}x{v[1]}x{v[2]}x{v[3]}"
    return f"https://aud.test/{v}"


# -- the shapes ----------------------------------------------------------------------------


def as_openai(conv: list[tuple[str, list[tuple[str, Any]]]]) -> dict[str, Any]:
    msgs = []
    for role, ps in conv:
        content = []
        for kind, v in ps:
            if kind == "text":
                content.append({"type": "text", "text": v})
            elif kind == "image":
                content.append({"type": "image_url", "image_url": {"url": url(kind, v)}})
            elif kind == "video":
                content.append({"type": "video_url", "video_url": {"url": url(kind, v)}})
            else:
                content.append({"type": "audio_url", "audio_url": {"url": url(kind, v)}})
        msgs.append({"role": role, "content": content})
    return {"messages": msgs}


def as_dashscope(conv: list[tuple[str, list[tuple[str, Any]]]]) -> dict[str, Any]:
    return {"model": "qwen-vl-max", "input": {"messages": [
        {"role": role, "content": [{"text": v} if k == "text" else {k: url(k, v)}
                                   for k, v in ps]} for role, ps in conv]}}


def as_anthropic(conv: list[tuple[str, list[tuple[str, Any]]]]) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": []}
    for role, ps in conv:
        blocks = [{"type": "text", "text": v} if k == "text" else
                  {"type": "image", "source": {"type": "url", "url": url(k, v)}} for k, v in ps]
        if role == "system":
            body["system"] = blocks
        else:
            body["messages"].append({"role": role, "content": blocks})
    return body


def as_gemini(conv: list[tuple[str, list[tuple[str, Any]]]]) -> dict[str, Any]:
    mimes = {"image": "image/png", "video": "video/mp4", "audio": "audio/wav"}
    body: dict[str, Any] = {"contents": []}
    for role, ps in conv:
        gparts = [{"text": v} if k == "text" else
                  {"fileData": {"mimeType": mimes[k], "fileUri": url(k, v)}} for k, v in ps]
        if role == "system":
            body["systemInstruction"] = {"parts": gparts}
        else:
            body["contents"].append({"role": "model" if role == "assistant" else "user",
                                     "parts": gparts})
    return body


def media_sum(model: tm.Model, conv: list[tuple[str, list[tuple[str, Any]]]]) -> int:
    """Every media part counted on its own by the modality rules."""
    total = 0
    for _, ps in conv:
        for kind, v in ps:
            if kind == "image":
                total += model.count_image(*v).tokens
            elif kind == "video":
                w, h, d, fps = v
                total += model.count_video(w, h, float(d), float(fps),
                                           frames=max(1, round(d * fps)),
                                           **({"has_audio": False} if "has_audio" in
                                              model.rule("video").options else {})).tokens
            elif kind == "audio":
                opts = {"samples": round(v * 16000), "sample_rate": 16000} if "samples" in \
                    model.rule("audio").options else {}
                total += model.count_audio(v, **opts).tokens
    return total


def check_parts(model: tm.Model, usage: tm.Usage, conv: list) -> None:
    """Total = parts one by one + framing; each part equals its own count."""
    by_kind: dict[str, int] = {}
    for p in usage.parts:
        by_kind[p.kind] = by_kind.get(p.kind, 0) + p.tokens
    assert usage.input_tokens == sum(by_kind.values())
    assert by_kind.get("image", 0) + by_kind.get("video", 0) + by_kind.get("audio", 0) == \
        media_sum(model, conv)
    texts = [v for _, ps in conv for k, v in ps if k == "text"]
    estimate = model.tokenizer_name is None or model.text_config.get("chat") in (
        "anthropic", "gemini", "deepseek", "vicuna")
    assert by_kind.get("text", 0) == sum(model.count_text(t, estimate=estimate).tokens
                                         for t in texts)


# -- text only: the same as count_messages ---------------------------------------------------

FORMAT_MODELS = ["qwen2.5-72b-instruct", QWEN_VL, "llama-3.3-70b-instruct", "gpt-4-turbo",
                 "pixtral-12b", "claude-sonnet-4-5", "gemini-2.5-flash", "internvl2.5-8b",
                 "deepseek-chat"]


@pytest.mark.parametrize("model_id", FORMAT_MODELS)
@given(conv=conversation())
@settings(max_examples=40)
def test_text_only_requests_count_what_count_messages_counts(model_id, conv):
    model = tm.get_model(model_id)
    msgs = [{"role": role, "content": "".join(v for _, v in ps)} for role, ps in conv]
    plain = {"messages": msgs}
    if model.tokenizer_name and not vocabulary_available(model.tokenizer_name):
        # Neither counts exactly without the vocabulary, and neither guesses silently.
        with pytest.raises(tm.VocabularyUnavailableError):
            model.count_messages(msgs)
        with pytest.raises(tm.VocabularyUnavailableError):
            tm.count_request(model, plain)
        return
    usage = tm.count_request(model, plain)
    ref = model.count_messages(msgs)
    assert usage.input_tokens == usage.text == ref.tokens
    assert usage.exact == ref.exact
    assert usage.input_tokens == sum(p.tokens for p in usage.parts)


# -- with media: parts + framing, and the framing is the reference's -------------------------


@given(conv=conversation("image", "video"))
@settings(max_examples=60)
def test_qwen_vl_total_is_its_chat_template_tokenized(conv):
    model = tm.get_model(QWEN_VL)
    body = as_dashscope(conv)
    usage = tm.count_request(model, body, resolver=resolver)
    check_parts(model, usage, conv)
    assert usage.exact
    assert usage.input_tokens == qwen_template_reference(body, usage)
    # The OpenAI shape of the same conversation, as vLLM serves it, is framed the same.
    assert tm.count_request(model, as_openai(conv), resolver=resolver).input_tokens == \
        usage.input_tokens


@given(conv=conversation("image", "audio"))
@settings(max_examples=60)
def test_openai_total_is_the_cookbook_rule_plus_the_media(conv):
    model = tm.get_model("gpt-4-turbo")
    body = as_openai(conv)
    usage = tm.count_request(model, body, resolver=resolver)
    check_parts(model, usage, conv)
    assert usage.text == cookbook_text(body["messages"], model)
    assert usage.input_tokens == usage.text + media_sum(model, conv)


@pytest.fixture(scope="module")
def llama_chat():
    from llama_models.llama3.chat_format import ChatFormat
    from llama_models.llama3.tokenizer import Tokenizer

    return ChatFormat(Tokenizer.get_instance())


PNG = mf.image("PNG", (64, 48))


@given(conv=conversation("image"))
@settings(max_examples=40)
def test_llama_vision_total_is_llama_models_chat_format(llama_chat, conv):
    from llama_models.datatypes import RawMediaItem, RawMessage, RawTextItem, StopReason

    model = tm.get_model("llama-3.2-11b-vision-instruct")
    usage = tm.count_request(model, as_openai(conv), resolver=resolver)
    check_parts(model, usage, conv)
    raw = [RawMessage(role=role, stop_reason=StopReason.end_of_turn, content=[
        RawTextItem(text=v) if k == "text" else RawMediaItem(data=PNG) for k, v in ps])
        for role, ps in conv]
    # One <|image|> token per image in the decoder context (the transformers profile).
    assert usage.input_tokens == len(llama_chat.encode_dialog_prompt(raw).tokens)


@pytest.mark.parametrize("model_id", [QWEN_VL, "claude-sonnet-4-5", "gemini-2.5-flash"])
@given(conv=conversation("image"))
@settings(max_examples=30)
def test_the_four_shapes_count_the_same(model_id, conv):
    model = tm.get_model(model_id)
    builders = {"openai": as_openai, "dashscope": as_dashscope, "anthropic": as_anthropic,
                "gemini": as_gemini}
    totals = {shape: tm.count_request(model, build(conv), shape=shape, resolver=resolver)
              for shape, build in builders.items()}
    first = totals["openai"]
    for shape, usage in totals.items():
        assert usage.input_tokens == first.input_tokens, shape
        assert usage.image == first.image == media_sum(model, conv)
    # Detection finds each shape where the body tells them apart (a text-only Anthropic
    # body without a system prompt is also a valid OpenAI body, and counts the same).
    has_media = any(k != "text" for _, ps in conv for k, _ in ps)
    for shape, build in builders.items():
        if shape in ("gemini", "dashscope") or (has_media and shape != "dashscope") or (
                shape == "anthropic" and conv[0][0] == "system"):
            assert tm._requests.detect_shape(build(conv)) == shape


@given(conv=conversation("image", "video", "audio"))
@settings(max_examples=40)
def test_gemini_parts_are_their_rules(conv):
    model = tm.get_model("gemini-2.5-flash")
    usage = tm.count_request(model, as_gemini(conv), resolver=resolver)
    check_parts(model, usage, conv)
    assert not usage.exact  # Gemini's framing and text are estimates, and say so
    seconds = sum(v[2] for _, ps in conv for k, v in ps if k == "video")
    assert float(usage.video_seconds) == pytest.approx(seconds)


@given(conv=conversation(), add=st.booleans())
@settings(max_examples=30)
def test_generation_prompt_is_one_framing_part(conv, add):
    model = tm.get_model(QWEN_VL)
    with_prompt = tm.count_request(model, as_openai(conv))
    without = tm.count_request(model, as_openai(conv), add_generation_prompt=False)
    gen = [p for p in with_prompt.parts if p.index == "generation prompt"]
    assert len(gen) == 1
    assert with_prompt.input_tokens - without.input_tokens == gen[0].tokens == 3
    del add


# -- inline media go through the same counts -----------------------------------------------


@pytest.mark.parametrize(("fmt", "size"), [("PNG", (1280, 720)), ("JPEG", (640, 480)),
                                           ("WEBP", (333, 777)), ("GIF", (100, 100))])
def test_data_urls_count_like_their_sizes(fmt, size):
    model = tm.get_model(QWEN_VL)
    data = base64.b64encode(mf.image(fmt, size)).decode()
    mime = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
    bodies = [
        {"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:{mime[fmt]};base64,{data}"}}]}]},
        {"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": mime[fmt],
                                         "data": data}}]}]},
        {"contents": [{"parts": [{"inlineData": {"mimeType": mime[fmt], "data": data}}]}]},
        {"messages": [{"role": "user", "content": [{"image": f"data:{mime[fmt]};base64,{data}"}]}]},
    ]
    want = model.count_image(*size).tokens
    for body in bodies:
        assert tm.count_request(model, body).image == want


def test_a_png_reads_its_header_and_its_tail_only(monkeypatch):
    # A PNG's orientation may sit in an eXIf chunk after the image data: the probe reads the
    # first block and the last 64 KiB, never the middle.
    import binascii

    from tokenmeter._requests._media import Base64File

    png = mf.png_with_exif_after_idat((3000, 2000), orientation=6)
    big = png[:-12] + bytes(0) + png[-12:]
    data = base64.b64encode(big).decode()
    decoded: list[int] = []
    real = binascii.a2b_base64
    monkeypatch.setattr(binascii, "a2b_base64",
                        lambda s, **k: decoded.append(len(s)) or real(s, **k))
    body = {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + data}}]}]}
    usage = tm.count_request(QWEN_VL, body)
    # Orientation 6 turns the 3000x2000 picture into a 2000x3000 one.
    assert usage.image == tm.get_model(QWEN_VL).count_image(2000, 3000).tokens
    assert sum(decoded) <= 3 * Base64File.BLOCK_CHARS


@given(conv=conversation("image"))
@settings(max_examples=30)
def test_pixtral_total_is_mistral_common_with_the_images(conv, monkeypatch_module):
    import numpy as np
    from mistral_common.protocol.instruct.chunk import ImageChunk, TextChunk
    from mistral_common.protocol.instruct.messages import (
        AssistantMessage,
        SystemMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from PIL import Image

    from tokenmeter.text.chat import _MISTRAL

    model = tm.get_model("pixtral-12b")
    usage = tm.count_request(model, as_openai(conv), resolver=resolver)
    check_parts(model, usage, conv)
    mt = _MISTRAL[str(tm.text.get_tokenizer("tekken").path)]
    msgs = []
    for role, ps in conv:
        if role == "system":
            msgs.append(SystemMessage(content="".join(v for _, v in ps)))
        elif role == "assistant":
            msgs.append(AssistantMessage(content="".join(v for _, v in ps)))
        else:
            msgs.append(UserMessage(content=[
                TextChunk(text=v) if k == "text" else ImageChunk(image=Image.new("L", v))
                for k, v in ps]))
    # mistral-common resizes the pixels with OpenCV; the token count needs only the size.
    monkeypatch_module.setattr("mistral_common.tokens.tokenizers.image.transform_image",
                               lambda image, size: np.zeros((3, size[1], size[0])))
    ref = len(mt.encode_chat_completion(ChatCompletionRequest(messages=msgs)).tokens)
    assert usage.input_tokens == ref


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_model_method_is_the_function():
    body = as_openai([("user", [("text", "hi"), ("image", (640, 480))])])
    m = tm.get_model(QWEN_VL)
    assert m.count_request(body, resolver=resolver) == tm.count_request(QWEN_VL, body,
                                                                        resolver=resolver)


def test_inline_video_and_clip_offsets():
    mp4 = mf.video("mp4", "libx264", (320, 240), fps=10, frames=40)  # 4 s
    url = "data:video/mp4;base64," + base64.b64encode(mp4).decode()
    info = tm.probe(mp4)
    qwen = tm.get_model(QWEN_VL)
    body = {"messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": url}}, {"type": "text", "text": "What?"}]}]}
    usage = tm.count_request(qwen, body)
    assert usage.video == tm.count(qwen, info).video
    assert float(usage.video_seconds) == pytest.approx(4.0)
    # DashScope/qwen-vl-utils video_start/video_end and Gemini videoMetadata: the clip only.
    clip = tm.count_request(qwen, {"messages": [{"role": "user", "content": [
        {"video": url, "video_start": 1.0, "video_end": 3.0}]}]})
    assert clip.video == qwen.count_video(320, 240, 2.0, 10.0, frames=20,
                                          has_audio=False).tokens
    gem = tm.get_model("gemini-2.5-flash")
    g = tm.count_request(gem, {"contents": [{"parts": [
        {"inlineData": {"mimeType": "video/mp4", "data": url.split(",", 1)[1]},
         "videoMetadata": {"startOffset": "1s", "endOffset": "3s", "fps": 2}}]}]})
    assert g.video == gem.count_video(320, 240, 2.0, 10.0, frames=20, sample_fps=2,
                                      has_audio=False).tokens
    assert float(g.video_seconds) == pytest.approx(2.0)


def test_resized_height_and_width_count_that_size():
    qwen = tm.get_model(QWEN_VL)
    url = "data:image/png;base64," + base64.b64encode(mf.image("PNG", (1280, 720))).decode()
    usage = tm.count_request(qwen, [{"role": "user", "content": [
        {"type": "image", "image": url, "resized_height": 280, "resized_width": 420}]}])
    assert usage.image == qwen.count_image(420, 280).tokens


def test_responses_items_and_tools():
    model = tm.get_model("gpt-4-turbo")
    body = {"instructions": "Be brief.", "input": [
        {"role": "user", "content": "What is 2+2?"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Add them."}]},
        {"type": "function_call", "call_id": "c1", "name": "add", "arguments": "{\"a\":2}"},
        {"type": "function_call_output", "call_id": "c1", "output": "4"},
    ], "tools": [{"type": "function", "name": "add", "description": "Add numbers.",
                  "parameters": {"type": "object", "properties": {
                      "a": {"type": "integer", "description": "first"}}}}]}
    usage = tm.count_request(model, body)
    kinds = [(p.index, p.kind) for p in usage.parts]
    assert ("input[1].summary[0]", "text") in kinds
    assert ("tools[0]", "tools") in kinds
    assert not usage.exact
    rule = next(p for p in usage.parts if p.index == "input[1].summary[0]").rule
    assert "encrypted" in rule
    # The same tools in Chat Completions form count the same.
    chat = {"messages": [{"role": "user", "content": "What is 2+2?"}], "tools": [
        {"type": "function", "function": body["tools"][0] | {}}]}
    chat["tools"][0]["function"].pop("type")
    t_resp = sum(p.tokens for p in usage.parts if p.kind == "tools")
    t_chat = sum(p.tokens for p in tm.count_request(model, chat).parts if p.kind == "tools")
    assert t_resp == t_chat


# Qwen2.5-*-Instruct tokenizer_config.json chat_template (the tools branch and the tool
# call / tool response rendering; the default system prompt is Qwen2.5's).
QWEN25_TEMPLATE = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.' }}\n    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user "
    "query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:"
    "\\n<tools>\" }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name "
    "and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": "
    "<function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) "
    "or (message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + "
    "'\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n"
    "{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. 北京"}},
        "required": ["location"]}}}


@given(system=st.one_of(st.none(), short_text), question=short_text, say=short_text,
       result=short_text, city=short_text, two_results=st.booleans())
@settings(max_examples=60)
def test_qwen25_tools_and_tool_turns_are_its_template(system, question, say, result, city,
                                                      two_results):
    import json

    import jinja2

    from test_requests_golden import qwen_vl_encoding

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    args = json.dumps({"location": city}, ensure_ascii=False)
    calls = [{"id": "c1", "type": "function",
              "function": {"name": "get_current_weather", "arguments": args}}]
    msgs = ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": question},
        {"role": "assistant", "content": say, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": result},
    ] + ([{"role": "tool", "tool_call_id": "c1", "content": result[::-1]}] if two_results
         else [])
    usage = tm.count_request("qwen2.5-72b-instruct", {"messages": msgs, "tools": [WEATHER_TOOL]})
    # The template gets the arguments as an object, as vLLM passes them.
    templated = [dict(m, tool_calls=[{"function": {"name": "get_current_weather",
                                                    "arguments": {"location": city}}}])
                 if "tool_calls" in m else m for m in msgs]
    prompt = env.from_string(QWEN25_TEMPLATE).render(messages=templated,
                                                      tools=[WEATHER_TOOL],
                                                      add_generation_prompt=True)
    import unicodedata

    ref = len(qwen_vl_encoding().encode(unicodedata.normalize("NFC", prompt),
                                        allowed_special="all"))
    assert usage.input_tokens == ref
    assert usage.exact
