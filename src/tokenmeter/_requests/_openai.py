"""OpenAI request bodies: Chat Completions (``messages``) and Responses (``input``).

Chat Completions content parts: ``text``, ``image_url`` (``url``, ``detail``),
``input_audio`` (``data``, ``format``), ``file`` (``file_data`` / ``file_id``),
``refusal``; and, as OpenAI-compatible servers accept them (vLLM, DashScope compatible
mode), ``video_url``, ``audio_url`` and ``video`` (a list of frame URLs). Responses input
items: messages with ``input_text`` / ``output_text`` / ``input_image`` / ``input_file`` /
``input_audio`` parts, ``function_call``, ``function_call_output`` and ``reasoning``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInputError
from ._core import (
    Conversation,
    MediaCounter,
    Message,
    TextItem,
    ToolDef,
    detail_option,
    json_text,
    need_dict,
    need_list,
    need_str,
    tool_def,
)
from ._media import quote

__all__ = ["parse_chat", "parse_responses"]

# Per-part processing options OpenAI-compatible servers take beside the media (DashScope
# compatible mode, vLLM): request name -> rule option name.
PIXEL_OPTS = {"min_pixels": "min_pixels", "max_pixels": "max_pixels"}
VIDEO_OPTS = {**PIXEL_OPTS, "fps": "sample_fps", "min_frames": "min_frames",
              "max_frames": "max_frames", "nframes": "nframes", "total_pixels": "total_pixels"}

_CHAT_PARTS = ("text", "image_url", "input_audio", "file", "refusal", "video_url",
               "audio_url", "video")


def _opts(part: Mapping[str, Any], names: Mapping[str, str], *inner: Any) -> dict[str, Any]:
    out = {}
    for src in (part, *inner):
        if isinstance(src, Mapping):
            for k, rule_name in names.items():
                if k in src:
                    out[rule_name] = src[k]
    return out


def tool_choice(value: Any) -> str | None:
    """OpenAI ``tool_choice`` as ``auto`` / ``none`` / ``any`` / ``tool``."""
    if value is None:
        return None
    if value == "required":
        return "any"
    if value in ("auto", "none"):
        return str(value)
    if isinstance(value, Mapping):
        return "tool"
    raise InvalidInputError(f"tool_choice: unknown value {quote(value)}")


def _tools(body: Mapping[str, Any], conv: Conversation, *, flat: bool) -> None:
    for key in ("tools", "functions"):
        if key not in body or body[key] is None:
            continue
        for i, t in enumerate(need_list(body[key], key)):
            where = f"{key}[{i}]"
            t = need_dict(t, where)
            if key == "functions":
                conv.tools.append(tool_def(t, where))
            elif t.get("type", "function") == "function":
                fn = t if flat and "function" not in t else need_dict(t.get("function"),
                                                                      f"{where}.function")
                d = tool_def(fn, where)
                # Templates that serialize tools as JSON take the whole tool object.
                conv.tools.append(ToolDef(name=d.name, description=d.description,
                                          parameters=d.parameters, raw=t, where=where))
            else:  # built-in tools (web_search, file_search…): no public definition
                conv.tools.append(ToolDef(name="", description="", parameters={}, raw=t,
                                          where=where))
    conv.tool_choice = tool_choice(body.get("tool_choice", body.get("function_call")))


def parse_chat(body: Mapping[str, Any], mc: MediaCounter) -> Conversation:
    """A Chat Completions body (``{"messages": [...], "tools": [...]}``)."""
    conv = Conversation(shape="openai")
    for i, m in enumerate(need_list(body.get("messages"), "messages")):
        where = f"messages[{i}]"
        conv.messages.append(_chat_message(need_dict(m, where), where, mc))
    _tools(body, conv, flat=False)
    return conv


def _chat_message(m: Mapping[str, Any], where: str, mc: MediaCounter) -> Message:
    role = need_str(m, "role", where) or ""
    msg = Message(role=role, where=where)
    content = m.get("content")
    if isinstance(content, str):
        msg.items.append(TextItem(content, f"{where}.content"))
        msg.plain = True
    elif content is None:
        msg.plain = True
    else:
        for j, part in enumerate(need_list(content, f"{where}.content")):
            pw = f"{where}.content[{j}]"
            _chat_part(need_dict(part, pw), pw, msg, mc)
    name = m.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise InvalidInputError(f"{where}.name must be a string")
        msg.name = name
    for key, value in m.items():
        # OpenAI's cookbook rule counts every string field of a message.
        if key not in ("role", "content", "name") and isinstance(value, str):
            msg.strings.append((key, value))
    calls = m.get("tool_calls")
    if calls is not None:
        for k, call in enumerate(need_list(calls, f"{where}.tool_calls")):
            cw = f"{where}.tool_calls[{k}]"
            fn = need_dict(need_dict(call, cw).get("function"), f"{cw}.function")
            msg.items.append(_call_item(fn, cw))
    fc = m.get("function_call")
    if fc is not None:
        msg.items.append(_call_item(need_dict(fc, f"{where}.function_call"),
                                    f"{where}.function_call"))
    return msg


def _call_item(fn: Mapping[str, Any], where: str) -> TextItem:
    name = need_str(fn, "name", where) or ""
    args = fn.get("arguments", "")
    if not isinstance(args, str):
        args = json_text(args)
    return TextItem(json_text({"name": name, "arguments": args}), where, exact=False,
                    rule="tool_call (the vendor's serialization is not public; its JSON is "
                         "counted)", call=(name, fn.get("arguments", "")))


def _chat_part(part: Mapping[str, Any], pw: str, msg: Message, mc: MediaCounter) -> None:
    kind = part.get("type")
    if kind == "text":
        msg.items.append(TextItem(need_str(part, "text", pw) or "", pw))
    elif kind == "refusal":
        msg.items.append(TextItem(need_str(part, "refusal", pw) or "", pw))
    elif kind == "image_url":
        iu = part.get("image_url")
        if isinstance(iu, str):
            url, detail = iu, part.get("detail")
        else:
            iu = need_dict(iu, f"{pw}.image_url")
            url = need_str(iu, "url", f"{pw}.image_url") or ""
            detail = iu.get("detail", part.get("detail"))
        opts = _opts(part, PIXEL_OPTS, iu)
        opts["detail"] = detail_option(detail, f"{pw}.image_url")
        info = mc.load(url, where=pw, expect="image")
        msg.items.append(mc.count(info, where=pw, part_opts=opts))
    elif kind == "input_audio":
        ia = need_dict(part.get("input_audio"), f"{pw}.input_audio")
        data = need_str(ia, "data", f"{pw}.input_audio") or ""
        fmt = need_str(ia, "format", f"{pw}.input_audio", optional=True)
        info = mc.load(data, where=pw, expect="audio", base64_only=True,
                       mime=f"audio/{fmt}" if fmt else None)
        msg.items.append(mc.count(info, where=pw))
    elif kind in ("video_url", "audio_url"):
        expect = "video" if kind == "video_url" else "audio"
        ref = part.get(kind)
        url = ref if isinstance(ref, str) else (
            need_str(need_dict(ref, f"{pw}.{kind}"), "url", f"{pw}.{kind}") or "")
        opts = _opts(part, VIDEO_OPTS if expect == "video" else {}, ref)
        info = mc.load(url, where=pw, expect=expect)
        msg.items.append(mc.count(info, where=pw, part_opts=opts))
    elif kind == "video":
        frames = need_list(part.get("video"), f"{pw}.video")
        opts = _opts(part, VIDEO_OPTS)
        fps = float(opts.pop("sample_fps", 2.0))
        infos = [mc.load(f, where=f"{pw}.video[{k}]", expect="image")
                 for k, f in enumerate(frames)]
        msg.items.append(mc.frames(infos, where=pw, fps=fps, part_opts=opts))
    elif kind == "file":
        f = need_dict(part.get("file"), f"{pw}.file")
        if f.get("file_data") is not None:
            data = need_str(f, "file_data", f"{pw}.file") or ""
            info = mc.load(data, where=pw, expect="document",
                           base64_only=not data.startswith("data:"))
        elif f.get("file_id") is not None:
            info = mc.remote(need_str(f, "file_id", f"{pw}.file") or "", where=pw,
                             expect="document")
        else:
            raise InvalidInputError(f"{pw}.file: needs 'file_data' or 'file_id'")
        msg.items.append(mc.count(info, where=pw))
    else:
        raise InvalidInputError(
            f"{pw}: unknown content part type {quote(kind)}; Chat Completions parts are "
            f"{', '.join(_CHAT_PARTS)}")


# -- Responses -------------------------------------------------------------------------

_RESPONSE_PARTS = ("input_text", "output_text", "input_image", "input_file", "input_audio",
                   "refusal", "summary_text")


def parse_responses(body: Mapping[str, Any], mc: MediaCounter) -> Conversation:
    """A Responses body (``{"input": str | [...], "instructions": ...}``)."""
    conv = Conversation(shape="openai-responses")
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise InvalidInputError("instructions must be a string")
        conv.messages.append(Message(role="system", where="instructions", plain=True,
                                     items=[TextItem(instructions, "instructions")]))
    inp = body.get("input")
    if isinstance(inp, str):
        conv.messages.append(Message(role="user", where="input", plain=True,
                                     items=[TextItem(inp, "input")]))
    elif inp is None:
        raise InvalidInputError("a Responses body needs 'input'")
    else:
        for i, item in enumerate(need_list(inp, "input")):
            where = f"input[{i}]"
            conv.messages.append(_response_item(need_dict(item, where), where, mc))
    _tools(body, conv, flat=True)
    return conv


def _response_item(item: Mapping[str, Any], where: str, mc: MediaCounter) -> Message:
    kind = item.get("type", "message")
    if kind == "message":
        role = need_str(item, "role", where) or ""
        msg = Message(role=role, where=where)
        content = item.get("content")
        if isinstance(content, str):
            msg.items.append(TextItem(content, f"{where}.content"))
            msg.plain = True
        else:
            for j, part in enumerate(need_list(content, f"{where}.content")):
                pw = f"{where}.content[{j}]"
                _response_part(need_dict(part, pw), pw, msg, mc)
        return msg
    if kind == "function_call":
        msg = Message(role="assistant", where=where)
        msg.items.append(_call_item(item, where))
        return msg
    if kind == "function_call_output":
        out = item.get("output", "")
        text = out if isinstance(out, str) else json_text(out)
        msg = Message(role="tool", where=where, plain=True,
                      items=[TextItem(text, f"{where}.output")])
        call_id = item.get("call_id")
        if isinstance(call_id, str):
            msg.strings.append(("call_id", call_id))
        return msg
    if kind == "reasoning":
        # Reasoning items passed back carry their summary in clear and the reasoning
        # itself encrypted; only the summary can be counted offline, and the part says so.
        msg = Message(role="assistant", where=where)
        for k, s in enumerate(item.get("summary") or []):
            sw = f"{where}.summary[{k}]"
            text = need_str(need_dict(s, sw), "text", sw) or ""
            msg.items.append(TextItem(text, sw, exact=False,
                                      rule="reasoning.summary (encrypted reasoning content "
                                           "is not countable offline)"))
        return msg
    raise InvalidInputError(
        f"{where}: input item type {quote(kind)} cannot be counted offline; counted items are "
        "message, function_call, function_call_output and reasoning")


def _response_part(part: Mapping[str, Any], pw: str, msg: Message, mc: MediaCounter) -> None:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "summary_text"):
        msg.items.append(TextItem(need_str(part, "text", pw) or "", pw))
    elif kind == "refusal":
        msg.items.append(TextItem(need_str(part, "refusal", pw) or "", pw))
    elif kind == "input_image":
        opts = {"detail": detail_option(part.get("detail"), pw)}
        if part.get("image_url") is not None:
            info = mc.load(need_str(part, "image_url", pw), where=pw, expect="image")
        elif part.get("file_id") is not None:
            info = mc.remote(need_str(part, "file_id", pw) or "", where=pw, expect="image")
        else:
            raise InvalidInputError(f"{pw}: input_image needs 'image_url' or 'file_id'")
        msg.items.append(mc.count(info, where=pw, part_opts=opts))
    elif kind == "input_file":
        if part.get("file_data") is not None:
            data = need_str(part, "file_data", pw) or ""
            info = mc.load(data, where=pw, expect="document",
                           base64_only=not data.startswith("data:"))
        elif part.get("file_id") is not None:
            info = mc.remote(need_str(part, "file_id", pw) or "", where=pw, expect="document")
        elif part.get("file_url") is not None:
            info = mc.load(need_str(part, "file_url", pw), where=pw, expect="document")
        else:
            raise InvalidInputError(f"{pw}: input_file needs 'file_data', 'file_id' or "
                                    "'file_url'")
        msg.items.append(mc.count(info, where=pw))
    elif kind == "input_audio":
        ia = need_dict(part.get("input_audio", part), f"{pw}.input_audio")
        data = need_str(ia, "data", pw) or ""
        fmt = need_str(ia, "format", pw, optional=True)
        info = mc.load(data, where=pw, expect="audio", base64_only=True,
                       mime=f"audio/{fmt}" if fmt else None)
        msg.items.append(mc.count(info, where=pw))
    else:
        raise InvalidInputError(
            f"{pw}: unknown content part type {quote(kind)}; Responses parts are "
            f"{', '.join(_RESPONSE_PARTS)}")
