"""Anthropic Messages bodies: ``system``, ``messages`` of content blocks, ``tools``.

Blocks: ``text``; ``image`` and ``document`` with a ``base64``, ``url``, ``file`` (or, for
documents, ``text`` and ``content``) source; ``tool_use``; ``tool_result`` (whose content
may hold text and images); ``thinking`` and ``redacted_thinking``; ``search_result``.
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
    json_text,
    need_dict,
    need_list,
    need_str,
    tool_def,
)
from ._media import quote

__all__ = ["parse_anthropic"]

_BLOCKS = ("text", "image", "document", "tool_use", "tool_result", "thinking",
           "redacted_thinking", "search_result", "server_tool_use", "web_search_tool_result")


def parse_anthropic(body: Mapping[str, Any], mc: MediaCounter) -> Conversation:
    """An Anthropic Messages body."""
    conv = Conversation(shape="anthropic")
    system = body.get("system")
    if system is not None:
        msg = Message(role="system", where="system")
        if isinstance(system, str):
            msg.items.append(TextItem(system, "system"))
            msg.plain = True
        else:
            for j, block in enumerate(need_list(system, "system")):
                bw = f"system[{j}]"
                block = need_dict(block, bw)
                if block.get("type") != "text":
                    raise InvalidInputError(f"{bw}: system blocks must be text blocks")
                msg.items.append(TextItem(need_str(block, "text", bw) or "", bw))
        conv.messages.append(msg)
    for i, m in enumerate(need_list(body.get("messages"), "messages")):
        where = f"messages[{i}]"
        m = need_dict(m, where)
        role = need_str(m, "role", where) or ""
        if role not in ("user", "assistant"):
            raise InvalidInputError(
                f"{where}.role must be 'user' or 'assistant', got {quote(role)} (Anthropic "
                "takes the system prompt as top-level 'system')")
        msg = Message(role=role, where=where)
        content = m.get("content")
        if isinstance(content, str):
            msg.items.append(TextItem(content, f"{where}.content"))
            msg.plain = True
        else:
            for j, block in enumerate(need_list(content, f"{where}.content")):
                bw = f"{where}.content[{j}]"
                _block(need_dict(block, bw), bw, msg, mc)
        conv.messages.append(msg)
    for i, t in enumerate(need_list(body.get("tools") or [], "tools")):
        where = f"tools[{i}]"
        t = need_dict(t, where)
        if "input_schema" in t or t.get("type") in (None, "custom"):
            d = tool_def(t, where, schema_key="input_schema")
            conv.tools.append(d)
        else:  # a server or versioned built-in tool (web_search, bash, text_editor…)
            conv.tools.append(ToolDef(name=str(t.get("name", "")), description="",
                                      parameters={}, raw=t, where=where))
    choice = body.get("tool_choice")
    if choice is not None:
        kind = need_dict(choice, "tool_choice").get("type")
        if kind not in ("auto", "any", "tool", "none"):
            raise InvalidInputError(f"tool_choice.type must be auto, any, tool or none, got "
                                    f"{quote(kind)}")
        conv.tool_choice = str(kind)
    return conv


def _source(block: Mapping[str, Any], bw: str, mc: MediaCounter, expect: str) -> Any:
    src = need_dict(block.get("source"), f"{bw}.source")
    kind = src.get("type")
    sw = f"{bw}.source"
    if kind == "base64":
        mime = need_str(src, "media_type", sw)
        data = need_str(src, "data", sw) or ""
        return mc.load(data, where=bw, expect=expect, mime=mime, base64_only=True)
    if kind == "url":
        return mc.load(need_str(src, "url", sw), where=bw, expect=expect)
    if kind == "file":
        return mc.remote(need_str(src, "file_id", sw) or "", where=bw, expect=expect)
    raise InvalidInputError(f"{sw}.type must be base64, url or file for an {expect}, got "
                            f"{quote(kind)}")


def _block(block: Mapping[str, Any], bw: str, msg: Message, mc: MediaCounter) -> None:
    kind = block.get("type")
    if kind == "text":
        msg.items.append(TextItem(need_str(block, "text", bw) or "", bw))
    elif kind == "image":
        msg.items.append(mc.count(_source(block, bw, mc, "image"), where=bw))
    elif kind == "document":
        _document(block, bw, msg, mc)
    elif kind in ("tool_use", "server_tool_use"):
        name = need_str(block, "name", bw) or ""
        msg.items.append(TextItem(json_text({"name": name, "input": block.get("input", {})}),
                                  bw, exact=False,
                                  rule="tool_use (the serialization is not public; its JSON "
                                       "is counted)"))
    elif kind == "tool_result":
        content = block.get("content")
        if content is None:
            msg.items.append(TextItem("", bw))
        elif isinstance(content, str):
            msg.items.append(TextItem(content, f"{bw}.content"))
        else:
            for k, inner in enumerate(need_list(content, f"{bw}.content")):
                iw = f"{bw}.content[{k}]"
                inner = need_dict(inner, iw)
                if inner.get("type") not in ("text", "image", "document", "search_result"):
                    raise InvalidInputError(
                        f"{iw}: a tool_result holds text, image, document or search_result "
                        f"blocks, got {quote(inner.get('type'))}")
                _block(inner, iw, msg, mc)
    elif kind == "thinking":
        msg.items.append(TextItem(need_str(block, "thinking", bw) or "", bw, exact=False,
                                  rule="thinking (counted as text; Anthropic may drop earlier "
                                       "turns' thinking from the context)"))
    elif kind == "redacted_thinking":
        msg.items.append(TextItem("", bw, exact=False,
                                  rule="redacted_thinking (encrypted; not countable offline)"))
    elif kind == "search_result":
        texts = [need_str(block, "title", bw, optional=True) or "",
                 need_str(block, "source", bw, optional=True) or ""]
        for k, c in enumerate(need_list(block.get("content") or [], f"{bw}.content")):
            texts.append(need_str(need_dict(c, f"{bw}.content[{k}]"), "text",
                                  f"{bw}.content[{k}]") or "")
        msg.items.append(TextItem("\n".join(texts), bw, exact=False,
                                  rule="search_result (title, source and text counted)"))
    elif kind == "web_search_tool_result":
        msg.items.append(TextItem(json_text(block.get("content")), bw, exact=False,
                                  rule="web_search_tool_result (its JSON is counted; the "
                                       "encrypted page content is not countable offline)"))
    else:
        raise InvalidInputError(f"{bw}: unknown content block type {quote(kind)}; blocks are "
                                f"{', '.join(_BLOCKS)}")


def _document(block: Mapping[str, Any], bw: str, msg: Message, mc: MediaCounter) -> None:
    for key in ("title", "context"):
        if isinstance(block.get(key), str):
            msg.items.append(TextItem(block[key], f"{bw}.{key}"))
    src = need_dict(block.get("source"), f"{bw}.source")
    kind = src.get("type")
    if kind == "text":  # a plain-text document: its text is what the model reads
        msg.items.append(TextItem(need_str(src, "data", f"{bw}.source") or "", f"{bw}.source"))
    elif kind == "content":
        for k, inner in enumerate(need_list(src.get("content"), f"{bw}.source.content")):
            iw = f"{bw}.source.content[{k}]"
            inner = need_dict(inner, iw)
            if inner.get("type") not in ("text", "image"):
                raise InvalidInputError(f"{iw}: custom document content holds text and image "
                                        "blocks")
            _block(inner, iw, msg, mc)
    else:
        msg.items.append(mc.count(_source(block, bw, mc, "document"), where=bw))
