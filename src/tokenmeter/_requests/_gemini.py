"""Gemini ``generateContent`` bodies: ``contents[].parts``, ``systemInstruction``, ``tools``.

Parts: ``text``, ``inlineData`` (``mimeType``, base64 ``data``), ``fileData``
(``mimeType``, ``fileUri``, resolved by the caller's resolver), ``functionCall``,
``functionResponse``, ``executableCode``, ``codeExecutionResult``; a media part may carry
``videoMetadata`` (``fps``, ``startOffset``, ``endOffset``) and, on Gemini 3, its own
``mediaResolution``. ``generationConfig.mediaResolution`` sets the request's default. Both
the REST spelling (camelCase) and the proto field names (snake_case) are read.

The resolution goes to every media part's rule that takes ``media_resolution`` (Gemini 3
images, every Gemini video). Where the rule does not (Gemini 2.x images, whose
``gemini.tiles`` rule has no per-resolution counts; PDF pages), the part keeps its
default-resolution count, is marked as an estimate, and its rule and
``count.details["note"]`` say the resolution was not applied and why, so
``Usage.explain()`` shows it; audio notes that the resolution does not apply to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import InvalidInputError
from ..media import VideoInfo
from ._core import (
    Conversation,
    MediaCounter,
    Message,
    TextItem,
    ToolDef,
    json_text,
    need_dict,
    need_list,
    need_str,
    tool_def,
)
from ._media import quote

__all__ = ["parse_gemini"]

_RESOLUTIONS = {
    "MEDIA_RESOLUTION_LOW": "low", "MEDIA_RESOLUTION_MEDIUM": "medium",
    "MEDIA_RESOLUTION_HIGH": "high", "MEDIA_RESOLUTION_ULTRA_HIGH": "ultra_high",
    "MEDIA_RESOLUTION_UNSPECIFIED": None,
}
_PARTS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
          "executableCode", "codeExecutionResult")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


def _get(obj: Mapping[str, Any], camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling."""
    if camel in obj:
        return obj[camel]
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return obj.get(snake)


def _resolution(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):  # Gemini 3 per-part: {"level": "MEDIA_RESOLUTION_HIGH"}
        value = value.get("level")
    if value not in _RESOLUTIONS:
        raise InvalidInputError(f"{where}: unknown media resolution {quote(value)}; one of "
                                f"{', '.join(_RESOLUTIONS)}")
    return _RESOLUTIONS[value]


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1))
    if isinstance(value, Mapping):  # proto Duration {"seconds": .., "nanos": ..}
        return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
    raise InvalidInputError(f"{where}: not a duration (expected e.g. \"12.5s\"): {quote(value)}")


def parse_gemini(body: Mapping[str, Any], mc: MediaCounter) -> Conversation:
    """A Gemini ``generateContent`` body."""
    conv = Conversation(shape="gemini")
    config = _get(body, "generationConfig") or {}
    default_res = _resolution(_get(need_dict(config, "generationConfig"), "mediaResolution"),
                              "generationConfig.mediaResolution")
    system = _get(body, "systemInstruction")
    if system is not None:
        sw = "systemInstruction"
        msg = Message(role="system", where=sw)
        if isinstance(system, str):
            msg.items.append(TextItem(system, sw))
            msg.plain = True
        else:
            for j, part in enumerate(need_list(need_dict(system, sw).get("parts"),
                                               f"{sw}.parts")):
                pw = f"{sw}.parts[{j}]"
                _part(need_dict(part, pw), pw, msg, mc, default_res)
        conv.messages.append(msg)
    contents = body.get("contents")
    if isinstance(contents, Mapping):
        contents = [contents]
    for i, c in enumerate(need_list(contents, "contents")):
        where = f"contents[{i}]"
        c = need_dict(c, where)
        role = c.get("role", "user")
        if role not in ("user", "model", "function"):
            raise InvalidInputError(f"{where}.role must be 'user' or 'model', got {quote(role)}")
        msg = Message(role="assistant" if role == "model" else "user", where=where)
        for j, part in enumerate(need_list(c.get("parts"), f"{where}.parts")):
            pw = f"{where}.parts[{j}]"
            _part(need_dict(part, pw), pw, msg, mc, default_res)
        conv.messages.append(msg)
    for i, tool in enumerate(need_list(body.get("tools") or [], "tools")):
        tw = f"tools[{i}]"
        tool = need_dict(tool, tw)
        decls = _get(tool, "functionDeclarations")
        if decls is None:  # googleSearch, codeExecution…: no public definition
            conv.tools.append(ToolDef(name="", description="", parameters={}, raw=tool,
                                      where=tw))
            continue
        for k, d in enumerate(need_list(decls, f"{tw}.functionDeclarations")):
            dw = f"{tw}.functionDeclarations[{k}]"
            conv.tools.append(tool_def(need_dict(d, dw), dw))
    return conv


def _part(part: Mapping[str, Any], pw: str, msg: Message, mc: MediaCounter,
          default_res: str | None) -> None:
    if "text" in part:
        text = need_str(part, "text", pw) or ""
        if part.get("thought"):
            msg.items.append(TextItem(text, pw, exact=False, rule="thought (counted as text)"))
        else:
            msg.items.append(TextItem(text, pw))
        return
    inline = _get(part, "inlineData")
    file_data = _get(part, "fileData")
    if inline is not None or file_data is not None:
        res = _resolution(_get(part, "mediaResolution"), f"{pw}.mediaResolution") or default_res
        meta = _get(part, "videoMetadata")
        if inline is not None:
            iw = f"{pw}.inlineData"
            inline = need_dict(inline, iw)
            mime = need_str(inline, "mimeType", iw) if "mimeType" in inline else need_str(
                inline, "mime_type", iw)
            data = inline.get("data")
            if isinstance(mime, str) and mime.startswith("text/"):
                # Plain-text files are read as text, as Gemini does.
                msg.items.append(TextItem(_text_payload(data, pw, mc), pw))
                return
            expect = _expect(mime, pw)
            if isinstance(data, (bytes, bytearray)):
                info = mc.load(bytes(data), where=pw, expect=expect, mime=mime)
            else:
                info = mc.load(need_str(inline, "data", iw), where=pw, expect=expect, mime=mime,
                               base64_only=True)
        else:
            fw = f"{pw}.fileData"
            file_data = need_dict(file_data, fw)
            uri = need_str(file_data, "fileUri", fw) if "fileUri" in file_data else need_str(
                file_data, "file_uri", fw)
            mime = _get(file_data, "mimeType")
            # Without a mimeType the resolver's media says what the part is.
            info = mc.remote(uri or "", where=pw, expect=_expect(mime, pw) if mime else None,
                             mime=mime)
        opts: dict[str, Any] = {"media_resolution": res}
        if meta is not None:
            mw = f"{pw}.videoMetadata"
            meta = need_dict(meta, mw)
            if not isinstance(info, VideoInfo):
                raise InvalidInputError(f"{mw}: videoMetadata on a part that is not a video")
            if _get(meta, "fps") is not None:
                opts["sample_fps"] = _get(meta, "fps")
            start = _get(meta, "startOffset")
            end = _get(meta, "endOffset")
            if start is not None or end is not None:
                s = _seconds(start, f"{mw}.startOffset") if start is not None else 0.0
                e = _seconds(end, f"{mw}.endOffset") if end is not None else info.duration
                e = min(e, info.duration)
                if not 0 <= s < e:
                    raise InvalidInputError(f"{mw}: the clip [{s}, {e}] s is empty or outside "
                                            f"the {info.duration:g} s video")
                # Gemini samples only the clip: count a video of the clip's length.
                frames = max(1, round((e - s) * info.fps))
                audio = info.audio
                if audio is not None:
                    audio = replace(audio, duration=e - s, samples=None)
                info = replace(info, duration=e - s, frames=frames, audio=audio)
        msg.items.append(mc.count(info, where=pw, part_opts=opts))
        return
    call = _get(part, "functionCall")
    if call is not None:
        msg.items.append(TextItem(json_text(call), pw, exact=False,
                                  rule="functionCall (its JSON is counted)"))
        return
    resp = _get(part, "functionResponse")
    if resp is not None:
        msg.items.append(TextItem(json_text(resp), pw, exact=False,
                                  rule="functionResponse (its JSON is counted)"))
        return
    code = _get(part, "executableCode")
    if code is not None:
        msg.items.append(TextItem(str(need_dict(code, pw).get("code", "")), pw, exact=False,
                                  rule="executableCode (its code is counted)"))
        return
    result = _get(part, "codeExecutionResult")
    if result is not None:
        msg.items.append(TextItem(str(need_dict(result, pw).get("output", "")), pw, exact=False,
                                  rule="codeExecutionResult (its output is counted)"))
        return
    raise InvalidInputError(f"{pw}: a part needs one of {', '.join(_PARTS)}")


def _expect(mime: Any, pw: str) -> str:
    from ._media import mime_kind

    kind = mime_kind(mime if isinstance(mime, str) else None)
    if kind is None:
        raise InvalidInputError(f"{pw}: unsupported mimeType {quote(mime)} (image/*, video/*, "
                                "audio/* or application/pdf are counted)")
    return kind


def _text_payload(data: Any, pw: str, mc: MediaCounter) -> str:
    from ._media import Base64File, clean_base64

    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, str):
        raw = Base64File(clean_base64(data, pw, mc.ctx.max_media_bytes), pw).read()  # bounded
    else:
        raise InvalidInputError(f"{pw}.inlineData.data must be base64 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{pw}: a text/* part whose bytes are not UTF-8 ({exc})") from None
