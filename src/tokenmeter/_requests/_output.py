"""The output side: generated text counted on the model, and provider usage blocks parsed.

:func:`count_completion` counts what a response *shows*: its text, tool calls, visible
reasoning (Anthropic ``thinking``, Gemini ``thought`` parts, ``reasoning_content``) and
generated audio. Hidden reasoning (OpenAI o-series, Gemini when thoughts are not returned)
is billed but not in the body; only the provider's usage block knows it.

:func:`usage_from_provider` turns a provider's own usage block into a :class:`Usage` with
tokenmeter's semantics: per-modality input tokens, and ``cached``/``cache_write`` as
*subsets* of the input, ``reasoning`` a subset of ``output``. Per vendor:

* **OpenAI** (Chat Completions, Responses, Realtime): ``prompt_tokens`` / ``input_tokens``
  include the cached tokens (``*_details.cached_tokens`` is a subset) and the audio/image
  tokens (``audio_tokens``/``image_tokens`` subsets); ``completion_tokens`` /
  ``output_tokens`` include ``reasoning_tokens`` and the output ``audio_tokens``.
* **Anthropic**: ``input_tokens`` *excludes* the cache: ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens`` are *additive*. They are folded in: input =
  ``input_tokens + cache_read + cache_creation``, ``cached`` = cache read, ``cache_write``
  = cache creation.
* **Gemini**: ``promptTokenCount`` includes ``cachedContentTokenCount`` (a subset);
  ``promptTokensDetails`` splits it by modality; ``toolUsePromptTokenCount`` is input on top
  of the prompt; ``thoughtsTokenCount`` is output on top of ``candidatesTokenCount``.
* **DashScope**: ``input_tokens`` includes ``image_tokens``/``video_tokens``/
  ``audio_tokens`` (subsets, top level or in ``input_tokens_details``) and the cached
  tokens (``prompt_tokens_details.cached_tokens``); compatible mode is OpenAI's block.
  DeepSeek's ``prompt_cache_hit_tokens`` is read as OpenAI-style cached tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._counts import Usage, UsagePart
from ..errors import InvalidInputError
from ..media import AudioInfo
from ._core import json_text, need_dict, need_list
from ._media import quote

if TYPE_CHECKING:
    from .._model import Model

__all__ = ["VENDORS", "count_completion", "usage_from_provider"]

VENDORS = ("openai", "openai-responses", "anthropic", "gemini", "dashscope")


def _body(obj: Any, what: str) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        try:
            obj = obj.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{what} is bytes but not UTF-8 JSON: {exc}") from None
    if isinstance(obj, str):
        try:
            return json.loads(obj)
        except ValueError as exc:
            raise InvalidInputError(f"{what} is a string but not JSON: {exc}") from None
    return obj


# -- count_completion ------------------------------------------------------------------


def count_completion(model: Model | str, response: Any, *, estimate: bool = False) -> Usage:
    """Tokens of generated output on ``model``.

    Args:
        model: a model id or :class:`~tokenmeter.Model`.
        response: the generated text (a ``str``, always read as text, JSON-mode output
            included), or a response body (a dict, or its JSON as ``bytes``) from OpenAI
            Chat Completions or Responses, Anthropic Messages, Gemini ``generateContent`` or
            DashScope. Every choice/candidate is counted.
        estimate: estimate the text even when the vocabulary is installed.

    Returns:
        A :class:`~tokenmeter.Usage` with ``output`` (visible reasoning included),
        ``reasoning`` (the visible reasoning) and ``output_audio``, one part per piece.

    Raises:
        InvalidInputError: not a string or a recognised response body.
    """
    from .._facade import _model

    m = _model(model)
    if isinstance(response, str):
        # A string is always generated text (JSON-mode output is text too); a body given
        # as JSON comes as bytes.
        pieces: list[tuple[str, str, str, bool, str]] = [("output", response, "completion",
                                                          True, "")]
        audio: list[tuple[Any, str]] = []
    else:
        body = need_dict(_body(response, "response"), "response")
        pieces, audio = _pieces(body)
    return _count_pieces(m, pieces, audio, estimate)


def _count_pieces(m: Model, pieces: Sequence[tuple[str, str, str, bool, str]],
                  audio: Sequence[tuple[Any, str]], estimate: bool) -> Usage:
    from ..text import count_text

    parts = []
    output = reasoning = 0
    exact = True
    for kind, text, where, piece_exact, rule in pieces:
        c = count_text(m, text, estimate=estimate)
        ok = c.exact and piece_exact
        exact = exact and ok
        output += c.tokens
        if kind == "reasoning":
            reasoning += c.tokens
        parts.append(UsagePart(kind=kind, tokens=c.tokens, exact=ok, rule=rule or c.rule,
                               role="assistant", index=where, count=c))
    out_audio = 0
    for data, where in audio:
        from ._media import MediaContext, load_media

        info = load_media(data, where=where, expect="audio", mime=None, ctx=MediaContext(),
                          base64_only=True)
        if not isinstance(info, AudioInfo):  # pragma: no cover - load_media checks the kind
            raise InvalidInputError(f"{where}: not audio")
        audio_rule = m.rule("audio")
        opts = {"direction": "output"} if "direction" in audio_rule.options else {}
        c = m.count_audio(info.duration, **opts)
        out_audio += c.tokens
        exact = exact and c.exact
        parts.append(UsagePart(kind="output_audio", tokens=c.tokens, exact=c.exact, rule=c.rule,
                               role="assistant", index=where, count=c))
    return Usage(output=output, reasoning=reasoning, output_audio=out_audio, exact=exact,
                 parts=tuple(parts))


_CALL_RULE = "tool call (its JSON is counted; the vendor's serialization is not public)"


def _pieces(body: Mapping[str, Any]) -> tuple[list[tuple[str, str, str, bool, str]],
                                               list[tuple[Any, str]]]:
    pieces: list[tuple[str, str, str, bool, str]] = []
    audio: list[tuple[Any, str]] = []

    def text(kind: str, value: Any, where: str, exact: bool = True, rule: str = "") -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise InvalidInputError(f"{where} must be a string")
        pieces.append((kind, value, where, exact, rule))

    native = body.get("output")
    if isinstance(body.get("choices"), list) or isinstance(native, Mapping):
        # OpenAI Chat Completions, or DashScope's native {"output": {"choices": ...}}
        out: Mapping[str, Any] = native if isinstance(native, Mapping) else body
        prefix = "output." if out is not body else ""
        if "choices" not in out and "text" in out:
            text("output", out["text"], f"{prefix}text")
            return pieces, audio
        for k, choice in enumerate(need_list(out.get("choices"), f"{prefix}choices")):
            cw = f"{prefix}choices[{k}]"
            msg = need_dict(need_dict(choice, cw).get("message"), f"{cw}.message")
            content = msg.get("content")
            if isinstance(content, list):
                for j, p in enumerate(content):
                    p = need_dict(p, f"{cw}.message.content[{j}]")
                    text("output", p.get("text"), f"{cw}.message.content[{j}]")
            else:
                text("output", content, f"{cw}.message.content")
            text("output", msg.get("refusal"), f"{cw}.message.refusal")
            text("reasoning", msg.get("reasoning_content"), f"{cw}.message.reasoning_content")
            for j, call in enumerate(msg.get("tool_calls") or []):
                fn = need_dict(need_dict(call, f"{cw}.message.tool_calls[{j}]").get("function"),
                               f"{cw}.message.tool_calls[{j}].function")
                text("output", json_text({"name": fn.get("name"),
                                          "arguments": fn.get("arguments")}),
                     f"{cw}.message.tool_calls[{j}]", False, _CALL_RULE)
            au = msg.get("audio")
            if isinstance(au, Mapping) and au.get("data"):
                # The spoken reply is billed as audio tokens; its transcript is not text
                # output on top of it.
                audio.append((au["data"], f"{cw}.message.audio"))
        return pieces, audio
    if isinstance(body.get("output"), list):  # OpenAI Responses
        for k, item in enumerate(body["output"]):
            iw = f"output[{k}]"
            item = need_dict(item, iw)
            kind = item.get("type")
            if kind == "message":
                for j, p in enumerate(need_list(item.get("content") or [], f"{iw}.content")):
                    p = need_dict(p, f"{iw}.content[{j}]")
                    text("output", p.get("text", p.get("refusal")), f"{iw}.content[{j}]")
            elif kind == "function_call":
                text("output", json_text({"name": item.get("name"),
                                          "arguments": item.get("arguments")}), iw, False,
                     _CALL_RULE)
            elif kind == "reasoning":
                for j, s in enumerate(item.get("summary") or []):
                    text("reasoning", need_dict(s, f"{iw}.summary[{j}]").get("text"),
                         f"{iw}.summary[{j}]", False,
                         "reasoning summary (the hidden reasoning is in usage only)")
            else:
                raise InvalidInputError(f"{iw}: output item type {quote(kind)} is not counted; "
                                        "message, function_call and reasoning are")
        return pieces, audio
    if isinstance(body.get("content"), list):  # Anthropic
        for k, block in enumerate(body["content"]):
            bw = f"content[{k}]"
            block = need_dict(block, bw)
            kind = block.get("type")
            if kind == "text":
                text("output", block.get("text"), bw)
            elif kind == "thinking":
                text("reasoning", block.get("thinking"), bw)
            elif kind in ("tool_use", "server_tool_use"):
                text("output", json_text({"name": block.get("name"),
                                          "input": block.get("input")}), bw, False, _CALL_RULE)
            elif kind == "redacted_thinking":
                text("reasoning", "", bw, False, "redacted_thinking (encrypted; in usage only)")
            else:
                raise InvalidInputError(f"{bw}: content block type {quote(kind)} is not counted")
        return pieces, audio
    if isinstance(body.get("candidates"), list):  # Gemini
        for k, cand in enumerate(body["candidates"]):
            cw = f"candidates[{k}]"
            content = need_dict(need_dict(cand, cw).get("content") or {}, f"{cw}.content")
            for j, p in enumerate(content.get("parts") or []):
                pw = f"{cw}.content.parts[{j}]"
                p = need_dict(p, pw)
                if "text" in p:
                    text("reasoning" if p.get("thought") else "output", p["text"], pw)
                elif "functionCall" in p or "function_call" in p:
                    text("output", json_text(p.get("functionCall", p.get("function_call"))), pw,
                         False, _CALL_RULE)
                else:
                    raise InvalidInputError(f"{pw}: only text and functionCall parts are "
                                            "counted")
        return pieces, audio
    raise InvalidInputError(
        "response: not a response body tokenmeter reads (OpenAI 'choices' or 'output', "
        "Anthropic 'content', Gemini 'candidates', DashScope 'output')")


# -- usage_from_provider ---------------------------------------------------------------


def _int(block: Mapping[str, Any], key: str, where: str) -> int:
    v = block.get(key)
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidInputError(f"{where}.{key} must be an int >= 0, got {quote(v)}")
    return v


def _sub(block: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    v = block.get(key)
    if v is None:
        return {}
    return need_dict(v, f"{where}.{key}")


def _detect(block: Mapping[str, Any]) -> str:
    keys = set(block)
    if keys & {"promptTokenCount", "prompt_token_count", "candidatesTokenCount",
               "totalTokenCount"}:
        return "gemini"
    if "prompt_tokens" in keys or "completion_tokens" in keys:
        return "openai"
    if keys & {"cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
               "server_tool_use", "service_tier"}:
        return "anthropic"
    if keys & {"input_tokens_details", "output_tokens_details", "input_token_details",
               "output_token_details"} and not keys & {"image_tokens", "video_tokens",
                                                        "audio_tokens"}:
        return "openai-responses"
    if keys & {"image_tokens", "video_tokens", "audio_tokens", "total_tokens"}:
        return "dashscope"
    if "input_tokens" in keys:
        return "anthropic"
    raise InvalidInputError(f"usage: cannot tell the vendor from keys {sorted(keys)}; pass "
                            f"one of {', '.join(VENDORS)}")


def usage_from_provider(vendor: str, usage: Any) -> Usage:
    """A provider-reported usage block as a :class:`~tokenmeter.Usage`.

    Args:
        vendor: ``"openai"`` (Chat Completions, also DeepSeek and DashScope compatible
            mode), ``"openai-responses"`` (Responses and Realtime), ``"anthropic"``,
            ``"gemini"``, ``"dashscope"``, or ``"auto"`` to tell from the keys.
        usage: the usage block (``response["usage"]``, Gemini's ``usageMetadata``), or the
            whole response body holding it; a dict or JSON text.

    Returns:
        A :class:`~tokenmeter.Usage` in tokenmeter's subset semantics (see the module
        docs): input tokens by modality (text when the vendor gives no split), ``cached``
        and ``cache_write`` within the input, ``reasoning`` within ``output``. Its parts
        name the field each number came from.

    Raises:
        InvalidInputError: an unknown vendor, a missing or negative count, or subsets that
            exceed their totals.
    """
    block = need_dict(_body(usage, "usage"), "usage")
    for key in ("usage", "usageMetadata", "usage_metadata"):
        if isinstance(block.get(key), Mapping):
            block = block[key]
            break
    if vendor == "auto":
        vendor = _detect(block)
    parse = {"openai": _openai, "openai-responses": _openai, "anthropic": _anthropic,
             "gemini": _gemini, "dashscope": _dashscope}.get(vendor)
    if parse is None:
        raise InvalidInputError(f"unknown vendor {quote(vendor)}; one of {', '.join(VENDORS)} or "
                                "'auto'")
    values, parts = parse(block)
    try:
        return Usage(**values, parts=tuple(
            UsagePart(kind=k, tokens=n, exact=True, rule=f"reported:{vendor}", index=f)
            for k, n, f in parts))
    except InvalidInputError as exc:
        raise InvalidInputError(f"usage ({vendor}): {exc}") from None


_Parsed = tuple[dict[str, Any], list[tuple[str, int, str]]]


def _split(total: int, subsets: Mapping[str, int], where: str) -> dict[str, int]:
    """Input tokens by modality from a total and its modality subsets."""
    rest = total - sum(subsets.values())
    if rest < 0:
        raise InvalidInputError(f"{where}: the modality counts {dict(subsets)} exceed the "
                                f"total {total}")
    return {"text": rest, **{k: v for k, v in subsets.items()}}


def _openai(b: Mapping[str, Any]) -> _Parsed:
    w = "usage"
    chat = "prompt_tokens" in b or "completion_tokens" in b
    inp = _int(b, "prompt_tokens" if chat else "input_tokens", w)
    out = _int(b, "completion_tokens" if chat else "output_tokens", w)
    idet_key = next((k for k in ("prompt_tokens_details", "input_tokens_details",
                                 "input_token_details") if k in b), "")
    odet_key = next((k for k in ("completion_tokens_details", "output_tokens_details",
                                 "output_token_details") if k in b), "")
    idet = _sub(b, idet_key, w) if idet_key else {}
    odet = _sub(b, odet_key, w) if odet_key else {}
    iw, ow = f"{w}.{idet_key}", f"{w}.{odet_key}"
    cached = _int(idet, "cached_tokens", iw)
    if "prompt_cache_hit_tokens" in b:  # DeepSeek: hit + miss = prompt_tokens
        cached = _int(b, "prompt_cache_hit_tokens", w)
    subsets = {"audio": _int(idet, "audio_tokens", iw), "image": _int(idet, "image_tokens", iw)}
    split = _split(inp, subsets, iw)
    out_audio = _int(odet, "audio_tokens", ow)
    if out_audio > out:
        raise InvalidInputError(f"{ow}.audio_tokens ({out_audio}) exceed the output ({out})")
    values = {**split, "output": out - out_audio, "output_audio": out_audio,
              "reasoning": _int(odet, "reasoning_tokens", ow), "cached": cached}
    parts = [("text", split["text"], f"{w}.{'prompt' if chat else 'input'}_tokens"),
             ("audio", split["audio"], f"{iw}.audio_tokens"),
             ("image", split["image"], f"{iw}.image_tokens"),
             ("cached", cached, f"{iw}.cached_tokens"),
             ("output", out - out_audio, f"{w}.{'completion' if chat else 'output'}_tokens"),
             ("reasoning", values["reasoning"], f"{ow}.reasoning_tokens"),
             ("output_audio", out_audio, f"{ow}.audio_tokens")]
    return values, [p for p in parts if p[1]]


def _anthropic(b: Mapping[str, Any]) -> _Parsed:
    w = "usage"
    base = _int(b, "input_tokens", w)
    read = _int(b, "cache_read_input_tokens", w)
    write = _int(b, "cache_creation_input_tokens", w)
    if write == 0 and isinstance(b.get("cache_creation"), Mapping):
        cc = b["cache_creation"]
        write = sum(_int(cc, k, f"{w}.cache_creation") for k in cc)
    out = _int(b, "output_tokens", w)
    # Additive fields folded into subset semantics: the input is all three together.
    values = {"text": base + read + write, "cached": read, "cache_write": write, "output": out}
    parts = [("text", base, f"{w}.input_tokens"),
             ("text", read, f"{w}.cache_read_input_tokens (cached)"),
             ("text", write, f"{w}.cache_creation_input_tokens (cache_write)"),
             ("output", out, f"{w}.output_tokens")]
    return values, [p for p in parts if p[1]]


_GEMINI_MODALITY = {"TEXT": "text", "IMAGE": "image", "VIDEO": "video", "AUDIO": "audio",
                    "DOCUMENT": "image", "MODALITY_UNSPECIFIED": "text"}


def _g(b: Mapping[str, Any], camel: str, where: str) -> int:
    import re

    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return _int(b, camel if camel in b else snake, where)


def _modalities(b: Mapping[str, Any], camel: str, where: str) -> dict[str, int]:
    import re

    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    items = b.get(camel, b.get(snake)) or []
    out: dict[str, int] = {}
    for i, d in enumerate(need_list(items, f"{where}.{camel}")):
        d = need_dict(d, f"{where}.{camel}[{i}]")
        mod = _GEMINI_MODALITY.get(str(d.get("modality", "TEXT")))
        if mod is None:
            raise InvalidInputError(f"{where}.{camel}[{i}]: unknown modality "
                                    f"{quote(d.get('modality'))}")
        n = d.get("tokenCount", d.get("token_count", 0))
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInputError(f"{where}.{camel}[{i}].tokenCount must be an int >= 0")
        out[mod] = out.get(mod, 0) + n
    return out


def _gemini(b: Mapping[str, Any]) -> _Parsed:
    w = "usageMetadata"
    prompt = _g(b, "promptTokenCount", w)
    tool = _g(b, "toolUsePromptTokenCount", w)
    cand = _g(b, "candidatesTokenCount", w)
    thoughts = _g(b, "thoughtsTokenCount", w)
    cached = _g(b, "cachedContentTokenCount", w)
    by_mod = _modalities(b, "promptTokensDetails", w)
    by_mod.pop("text", None)
    split = _split(prompt, by_mod, f"{w}.promptTokensDetails")
    tool_mod = _modalities(b, "toolUsePromptTokensDetails", w)
    tool_mod.pop("text", None)
    tool_split = _split(tool, tool_mod, f"{w}.toolUsePromptTokensDetails")
    inputs = {k: split.get(k, 0) + tool_split.get(k, 0) for k in ("text", "image", "video",
                                                                  "audio")}
    out_mod = _modalities(b, "candidatesTokensDetails", w)
    out_image = out_mod.get("image", 0)
    out_audio = out_mod.get("audio", 0)
    if out_image + out_audio > cand:
        raise InvalidInputError(f"{w}.candidatesTokensDetails exceed candidatesTokenCount")
    values = {**inputs, "cached": cached, "output": cand - out_image - out_audio + thoughts,
              "reasoning": thoughts, "output_image": out_image, "output_audio": out_audio}
    parts = [*((k, v, f"{w}.promptTokensDetails[{k.upper()}]") for k, v in split.items()),
             ("text", tool, f"{w}.toolUsePromptTokenCount"),
             ("cached", cached, f"{w}.cachedContentTokenCount"),
             ("output", cand - out_image - out_audio, f"{w}.candidatesTokenCount"),
             ("reasoning", thoughts, f"{w}.thoughtsTokenCount"),
             ("output_image", out_image, f"{w}.candidatesTokensDetails[IMAGE]"),
             ("output_audio", out_audio, f"{w}.candidatesTokensDetails[AUDIO]")]
    return values, [p for p in parts if p[1]]


def _dashscope(b: Mapping[str, Any]) -> _Parsed:
    if "prompt_tokens" in b:  # compatible mode: OpenAI's block
        return _openai(b)
    w = "usage"
    inp = _int(b, "input_tokens", w)
    out = _int(b, "output_tokens", w)
    idet = _sub(b, "input_tokens_details", w)
    odet = _sub(b, "output_tokens_details", w)
    pdet = _sub(b, "prompt_tokens_details", w)
    iw = f"{w}.input_tokens_details"
    subsets = {}
    for mod in ("image", "video", "audio"):
        key = f"{mod}_tokens"
        subsets[mod] = _int(b, key, w) or _int(idet, key, iw)
    split = _split(inp, subsets, w)
    cached = _int(pdet, "cached_tokens", f"{w}.prompt_tokens_details") or _int(
        idet, "cached_tokens", iw)
    ow = f"{w}.output_tokens_details"
    out_audio = _int(odet, "audio_tokens", ow)
    if out_audio > out:
        raise InvalidInputError(f"{ow}.audio_tokens ({out_audio}) exceed the output ({out})")
    values = {**split, "cached": cached, "output": out - out_audio, "output_audio": out_audio,
              "reasoning": _int(odet, "reasoning_tokens", ow)}
    parts = [("text", split["text"], f"{w}.input_tokens"),
             *((k, split[k], f"{w}.{k}_tokens") for k in ("image", "video", "audio")),
             ("cached", cached, f"{w}.prompt_tokens_details.cached_tokens"),
             ("output", out - out_audio, f"{w}.output_tokens"),
             ("reasoning", values["reasoning"], f"{ow}.reasoning_tokens"),
             ("output_audio", out_audio, f"{ow}.audio_tokens")]
    return values, [p for p in parts if p[1]]
