"""Whole API requests: the body billing code receives, counted part by part.

:func:`count_request` takes an OpenAI (Chat Completions or Responses), Anthropic Messages,
Gemini ``generateContent`` or DashScope / Qwen-VL body, finds its shape, probes every
media part from its header (never fetching anything), counts each part with the model's
rules and applies the model's chat framing around them. :func:`count_completion` counts the
output side; :func:`usage_from_provider` reads a provider's own usage block. See
``docs/requests.md``.

Only the standard library is imported here; parsers, probing and tokenizers load on first
use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._counts import Usage
from ..errors import InvalidInputError

if TYPE_CHECKING:
    from .._model import Model
    from ._media import Resolver

__all__ = ["SHAPES", "count_completion", "count_request", "detect_shape",
           "usage_from_provider"]

#: The request shapes :func:`count_request` reads.
SHAPES = ("openai", "openai-responses", "anthropic", "gemini", "dashscope")
_ALIASES = {"openai-chat": "openai", "chat": "openai", "responses": "openai-responses",
            "claude": "anthropic", "google": "gemini", "qwen": "dashscope",
            "qwen-vl-utils": "dashscope"}
_ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking",
                     "search_result", "document", "server_tool_use"}
_OPENAI_PARTS = {"image_url", "input_audio", "video_url", "audio_url", "file", "refusal"}
_BUCKET = {"text": "text", "framing": "text", "tools": "text", "image": "image",
           "document": "image", "video": "video", "audio": "audio"}


_DASHSCOPE_KEYS = {"image", "video", "audio", "text"}
_SHAPE_HELP = (
    "Accepted shapes: 'openai' (Chat Completions: 'messages' whose content is a "
    "string or typed parts: text, image_url, input_audio, file, refusal, video_url, "
    "audio_url, video), 'openai-responses' ('input' and 'instructions'), 'anthropic' "
    "('messages' with a top-level 'system', or blocks such as image/document with a "
    "'source', tool_use, tool_result, thinking), 'gemini' ('contents' of 'parts', "
    "'systemInstruction') and 'dashscope' ('input.messages', or items keyed by their "
    "media: {'image': ...}, {'video': ...}, {'audio': ...}, {'text': ...}); pass shape= "
    "(one of " + ", ".join(SHAPES) + ") to name it")


def _unrecognised(why: str) -> InvalidInputError:
    return InvalidInputError(f"the request's shape could not be recognised: {why}. "
                             f"{_SHAPE_HELP}")


def _keys(obj: Mapping[str, Any]) -> str:
    from ._media import quote

    return quote(sorted(str(k) for k in obj))


def detect_shape(request: Mapping[str, Any]) -> str:
    """The shape of a request body: one of :data:`SHAPES`.

    Gemini bodies have ``contents``; DashScope's HTTP form nests ``input.messages``; a
    Responses body has ``input``; among ``messages`` bodies, a top-level ``system``, a tool
    with an ``input_schema`` or an Anthropic block (``image`` with a ``source``,
    ``tool_use``…) means Anthropic, items keyed by their media (``{"image": ...}``) mean
    DashScope, and an OpenAI part type (``image_url``, ``input_audio``…) means Chat
    Completions. A body of string contents and ``text`` parts only is read as Chat
    Completions (string contents frame the same in every shape).

    Raises:
        InvalidInputError: the shape could not be recognised — none of these keys, a
            message with neither ``role`` nor ``content``, or a part that belongs to no
            shape (an unknown ``type``, or no ``type`` and no media key) while nothing else
            in the body names the shape. The message names the part, lists the accepted
            shapes and points to ``shape=``.
    """
    if not isinstance(request, Mapping):
        raise InvalidInputError(f"a request body is a JSON object, got {type(request).__name__}")
    if "contents" in request or "systemInstruction" in request or (
            "system_instruction" in request):
        return "gemini"
    inp = request.get("input")
    if isinstance(inp, Mapping) and "messages" in inp:
        return "dashscope"
    if "input" in request and "messages" not in request:
        return "openai-responses"
    msgs = request.get("messages")
    if msgs is None:
        raise _unrecognised(f"the body has no 'messages', 'input' or 'contents' (its keys: "
                            f"{_keys(request)})")
    if "system" in request or "anthropic_version" in request:
        return "anthropic"
    tools = request.get("tools")
    if isinstance(tools, Sequence) and any(
            isinstance(t, Mapping) and "input_schema" in t for t in tools):
        return "anthropic"  # OpenAI tools hold "function"; Anthropic's hold "input_schema"
    unknown: str | None = None  # the first part no shape has, unless something names one
    if isinstance(msgs, Sequence) and not isinstance(msgs, (str, bytes)):
        for i, m in enumerate(msgs):
            if not isinstance(m, Mapping):
                continue  # the parser names it
            if "role" not in m and "content" not in m:
                unknown = unknown or (f"messages[{i}] has neither 'role' nor 'content' (its "
                                      f"keys: {_keys(m)})")
                continue
            content = m.get("content")
            if not isinstance(content, Sequence) or isinstance(content, (str, bytes)):
                continue
            for j, part in enumerate(content):
                if not isinstance(part, Mapping):
                    continue
                shape, why = _part_shape(part)
                if shape is not None:
                    return shape
                if why:
                    unknown = unknown or f"messages[{i}].content[{j}] {why}"
    if unknown is not None:
        raise _unrecognised(unknown)
    return "openai"


def _part_shape(part: Mapping[str, Any]) -> tuple[str | None, str]:
    """(the shape a content part names, or None; why it fits no shape, or "")."""
    from ._media import quote

    kind = part.get("type")
    if kind is None:
        if part.keys() & _DASHSCOPE_KEYS:
            return "dashscope", ""
        return None, (f"has no 'type' and none of the keys {', '.join(sorted(_DASHSCOPE_KEYS))}"
                      f" (its keys: {_keys(part)})")
    if kind in ("image", "document") and "source" in part:
        return "anthropic", ""
    if kind in _ANTHROPIC_BLOCKS:
        return "anthropic", ""
    if kind in ("image", "video", "audio") and kind in part:
        return "dashscope", ""
    if kind in _OPENAI_PARTS:
        return "openai", ""
    if kind == "text":
        return None, ""  # every shape has text parts
    if kind in ("image", "video", "audio"):
        return None, (f"has type {kind!r} but neither a 'source' (Anthropic) nor an {kind!r} "
                      "key (DashScope / qwen-vl-utils)")
    return None, f"has type {quote(kind)}, a part type of no accepted shape"


def _parse_body(request: Any) -> Mapping[str, Any]:
    if isinstance(request, (bytes, bytearray, memoryview)):
        try:
            request = bytes(request).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"the request is bytes but not UTF-8 JSON: {exc}") from None
    if isinstance(request, str):
        try:
            request = json.loads(request)
        except ValueError as exc:
            raise InvalidInputError(f"the request is a string but not JSON ({exc}); pass the "
                                    "body as a dict or as JSON text") from None
    if isinstance(request, Sequence) and not isinstance(request, (str, bytes)):
        return {"messages": request}  # a bare list of messages
    if not isinstance(request, Mapping):
        raise InvalidInputError(
            f"a request is a dict (or JSON text, or a list of messages), got "
            f"{type(request).__name__}")
    return request


def count_request(model: Model | str, request: Any, *, shape: str | None = None,
                  resolver: Resolver | None = None, estimate: bool = False,
                  add_generation_prompt: bool = True, max_media_bytes: int | None = None,
                  local_files: bool = True, pdf_page_tokens: int | None = None,
                  check_base64: bool = True, **opts: Any) -> Usage:
    """Count a whole API request on ``model``, part by part.

    Args:
        model: a model id or :class:`~tokenmeter.Model`. Its own rules and chat framing
            are used, whatever the request's shape (an OpenAI-shaped body for Qwen2.5-VL
            served by vLLM is framed as Qwen's ChatML).
        request: the request body: a dict, its JSON text (``str``/``bytes``), or a bare
            list of messages.
        shape: ``"openai"``, ``"openai-responses"``, ``"anthropic"``, ``"gemini"`` or
            ``"dashscope"``; detected when ``None`` (see :func:`detect_shape`).
        resolver: a callable given each remote reference (an ``http(s)``/``gs``/``oss`` URL
            or a file id, exactly as written) that returns the media's bytes or an
            ``ImageInfo``/``VideoInfo``/``AudioInfo``. Without one a remote reference is
            an error: tokenmeter never fetches anything.
        estimate: estimate text even when the vocabulary is installed.
        add_generation_prompt: include the tokens that open the assistant's reply.
        max_media_bytes: the largest decoded size of one inline media part (default
            64 MiB); larger parts are refused before any decoding.
        local_files: allow ``file://`` URIs and (DashScope) local paths; ``False`` for
            request bodies from untrusted sources.
        pdf_page_tokens: tokens per PDF page for models whose vendor publishes no per-page
            rule (Gemini's is built in); without it a PDF on such a model is an error.
        check_base64: check every inline payload's alphabet in full (one C-level pass,
            about 1.5 ms per MB, no decoding), so a corrupted payload the vendor would
            reject is refused; ``False`` checks only the bytes the header probe decodes.
        **opts: media options for every part (``max_pixels=…``, ``media_resolution=…``);
            each goes to the rules that take it, and a part's own options win.

    Returns:
        A :class:`~tokenmeter.Usage`: input tokens by modality (text includes the
        framing and tool definitions; PDF pages count as image tokens), video/audio
        seconds, and ``parts`` — one per message framing, text part, media part, tool
        definition and the reply priming — each with its role, index path, rule and
        exactness. ``usage.explain()`` prints them.

    Raises:
        InvalidInputError: a malformed request (unknown part type, missing field,
            malformed base64, a data URL whose bytes are not the media it claims, an
            oversized inline part, a remote URL without a resolver); the message names the
            part (``messages[2].content[1]``).
        ProbeError: media bytes that cannot be read (a subclass naming the part).
        UnsupportedModalityError: a media part the model does not take.
        VocabularyUnavailableError: the model's vocabulary is not installed and
            ``estimate`` is False.
    """
    from .._facade import _model
    from ._core import MediaCounter
    from ._frame import frame
    from ._media import DEFAULT_MAX_MEDIA_BYTES, MediaContext, quote

    m = _model(model)
    body = _parse_body(request)
    if shape is None:
        shape = detect_shape(body)
    else:
        shape = _ALIASES.get(shape, shape)
        if shape not in SHAPES:
            raise InvalidInputError(f"unknown request shape {quote(shape)}; one of "
                                    f"{', '.join(SHAPES)}")
    limit = DEFAULT_MAX_MEDIA_BYTES if max_media_bytes is None else max_media_bytes
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise InvalidInputError(f"max_media_bytes must be a positive int, got {quote(limit)}")
    if pdf_page_tokens is not None and (isinstance(pdf_page_tokens, bool) or not isinstance(
            pdf_page_tokens, int) or pdf_page_tokens < 0):
        raise InvalidInputError(
            f"pdf_page_tokens must be an int >= 0, got {quote(pdf_page_tokens)}")
    if resolver is not None and not callable(resolver):
        raise InvalidInputError("resolver must be a callable(reference) -> bytes or an Info")
    ctx = MediaContext(resolver=resolver, max_media_bytes=limit, local_files=local_files,
                       check_base64=check_base64)
    mc = MediaCounter(m, ctx, opts, pdf_page_tokens)
    conv = _parsers()[shape](body, mc)
    parts = frame(m, conv, estimate=estimate, add_generation_prompt=add_generation_prompt)
    totals = dict.fromkeys(("text", "image", "video", "audio"), 0)
    for p in parts:
        totals[_BUCKET[p.kind]] += p.tokens
    seconds = {"video": 0.0, "audio": 0.0}
    from ._core import MediaItem

    for msg in conv.messages:
        for it in msg.items:
            if isinstance(it, MediaItem) and it.kind in seconds:
                seconds[it.kind] += it.seconds
    return Usage(text=totals["text"], image=totals["image"], video=totals["video"],
                 audio=totals["audio"], video_seconds=Decimal(repr(seconds["video"])),
                 audio_seconds=Decimal(repr(seconds["audio"])),
                 exact=all(p.exact for p in parts), parts=tuple(parts))


def _parsers() -> dict[str, Any]:
    from ._anthropic import parse_anthropic
    from ._dashscope import parse_dashscope
    from ._gemini import parse_gemini
    from ._openai import parse_chat, parse_responses

    return {"openai": parse_chat, "openai-responses": parse_responses,
            "anthropic": parse_anthropic, "gemini": parse_gemini, "dashscope": parse_dashscope}


def count_completion(model: Model | str, response: Any, *, estimate: bool = False) -> Usage:
    """Tokens of generated output; see :func:`tokenmeter._requests._output.count_completion`.

    Args:
        model: a model id or :class:`~tokenmeter.Model`.
        response: the generated text (a ``str`` is always text), or a response body
            (OpenAI, Anthropic, Gemini, DashScope) as a dict or as JSON ``bytes``.
        estimate: estimate the text even when the vocabulary is installed.

    Returns:
        A :class:`~tokenmeter.Usage` holding ``output`` (visible reasoning included),
        ``reasoning`` and ``output_audio``.
    """
    from ._output import count_completion as _cc

    return _cc(model, response, estimate=estimate)


def usage_from_provider(vendor: str, usage: Any) -> Usage:
    """A provider's usage block as a :class:`~tokenmeter.Usage` (subset semantics).

    Args:
        vendor: ``"openai"``, ``"openai-responses"``, ``"anthropic"``, ``"gemini"``,
            ``"dashscope"`` or ``"auto"``.
        usage: the usage block or the whole response body (dict or JSON text).

    Returns:
        Input tokens by modality, ``cached``/``cache_write`` as subsets of the input
        (Anthropic's additive cache fields folded in), ``output`` with ``reasoning``
        inside it, generated audio/image tokens. See ``docs/requests.md`` for each
        vendor's semantics.
    """
    from ._output import usage_from_provider as _ufp

    return _ufp(vendor, usage)
