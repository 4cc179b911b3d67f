"""The model's chat framing applied around the parts of a :class:`~._core.Conversation`.

The framing follows the *model's* chat format (``models.toml`` ``text.chat``), exactly as
:meth:`tokenmeter.Model.count_messages` does for string contents, so a text-only request
counts the same through either. Per format:

* ``template`` (ChatML: ``qwen2.5``, ``qwen2-vl``, ``chatml``): each message is rendered
  as the template does and counted with special tokens recognized. A media part splits the
  text around it, as its wrapper special tokens (``<|vision_start|>``…) do in the real
  tokenization; the media part's own count already holds those wrappers.
* ``llama3``: header/eot special tokens per message; every text part tokenized on its own,
  as ``llama_models``' ``ChatFormat`` does; an image is its ``<|image|>`` token(s).
* ``openai``: the OpenAI cookbook rule (3 tokens per message, +1 per ``name``, +3 to prime
  the reply, plus the tokens of every string field); content parts are counted one by one.
* ``mistral``: ``mistral-common`` encodes the conversation with the media removed (text
  chunks are tokenized one by one there, so nothing merges across a removed image); each
  media part then adds its own ``[IMG]``/``[IMG_BREAK]``/``[IMG_END]`` count.
* ``approx`` (Claude, Gemini, DeepSeek, Vicuna) and any model whose vocabulary is not
  installed with ``estimate=True``: the estimate of :meth:`Model.count_messages`.

The ``framing`` part of a message is its exact token count minus its parts, each counted
alone; it absorbs the rare BPE merge across a part boundary (``"user\\n"`` + a text part
that starts with ``"\\n"``), so it can differ from the template's nominal overhead by a
token or two.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._counts import UsagePart
from ..errors import InvalidInputError
from ._core import Conversation, MediaItem, Message, TextItem, ToolDef
from ._media import quote

if TYPE_CHECKING:
    from .._model import Model
    from ..text import Tokenizer
    from ..text.chat import ChatFormat

__all__ = ["TOOL_PROMPT_TOKENS", "frame"]

# Anthropic's tool-use system prompt, added whenever `tools` is given (tokens for
# tool_choice auto/none, any/tool), by model.
#   https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview#pricing
TOOL_PROMPT_TOKENS: dict[str, tuple[int, int]] = {
    "claude-3-5-haiku": (264, 340),
    "claude-3-5-sonnet": (346, 313),
    "claude-3-7-sonnet": (346, 313),
    "claude-sonnet-4": (346, 313),
    "claude-sonnet-4-5": (346, 313),
    "claude-opus-4-1": (346, 313),
    "claude-opus-4-7": (346, 313),
    "claude-haiku-4-5": (346, 313),
}
_ANTHROPIC_TOOLS_SOURCE = ("https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/"
                           "overview#pricing (tool use system prompt token count)")

# The tool block the Qwen2.5 chat template (tokenizer_config.json) appends to the system
# message: every tool as `tool | tojson` on its own line.
_QWEN_TOOLS_HEAD = ("# Tools\n\nYou may call one or more functions to assist with the user "
                    "query.\n\nYou are provided with function signatures within "
                    "<tools></tools> XML tags:\n<tools>")
_QWEN_TOOLS_TAIL = ("\n</tools>\n\nFor each function call, return a json object with function "
                    "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
                    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')

# OpenAI cookbook, "How to count tokens with tiktoken", section 7 (num_tokens_for_tools):
# (func_init, prop_init, prop_key, enum_init, enum_item, func_end); gpt-3.5/gpt-4 (cl100k)
# and gpt-4o (o200k) constants, fitted by OpenAI against the API.
_OPENAI_TOOL_CONSTANTS = {
    "cl100k_base": (10, 3, 3, -3, 3, 12),
    "o200k_base": (7, 3, 3, -3, 3, 12),
}
_COOKBOOK = ("https://github.com/openai/openai-cookbook/blob/main/examples/"
             "How_to_count_tokens_with_tiktoken.ipynb (num_tokens_for_tools)")


class _Counter:
    """Text counting on one model: the exact tokenizer, or the labelled estimate."""

    def __init__(self, model: Model, estimate: bool, *, framed_exactly: bool) -> None:
        from ..text import count_text, get_tokenizer

        self.model = model
        self.estimate = estimate
        self._count_text = count_text
        self.exact = model.tokenizer_name is not None and not estimate
        # The tokenizer is loaded only where the framing is counted exactly (approximate
        # formats estimate everything, as Model.count_messages does).
        self.tok: Tokenizer | None = (get_tokenizer(model.tokenizer_name)  # type: ignore[arg-type]
                                      if self.exact and framed_exactly else None)

    def tokenizer(self) -> Tokenizer:
        """The exact tokenizer (only the exact branches call this)."""
        if self.tok is None:  # pragma: no cover - frame() routes estimates elsewhere
            raise InvalidInputError(f"{self.model.id}: no exact tokenizer for this framing")
        return self.tok

    def text(self, s: str) -> tuple[int, str]:
        """(tokens, rule) of ``s`` as ordinary text."""
        c = self._count_text(self.model, s, estimate=self.estimate)
        return c.tokens, c.rule

    def est(self, s: str) -> int:
        """The calibrated estimate of ``s`` (the framing estimate of count_messages)."""
        return self._count_text(self.model, s, estimate=True).tokens


def frame(model: Model, conv: Conversation, *, estimate: bool,
          add_generation_prompt: bool) -> list[UsagePart]:
    """Every part of ``conv`` with the model's framing, in request order."""
    from ..text.chat import FORMATS

    name = str(model.text_config.get("chat", "chatml"))
    fmt = FORMATS.get(name)
    if fmt is None:
        raise InvalidInputError(f"{model.id}: unknown chat format {name!r}")
    tc = _Counter(model, estimate, framed_exactly=fmt.kind != "approx")
    if not tc.exact or fmt.kind == "approx":
        return _estimated(model, fmt, conv, tc, add_generation_prompt)
    if fmt.kind == "template":
        return _template(fmt, conv, tc, add_generation_prompt)
    if fmt.kind == "llama3":
        return _llama3(fmt, conv, tc, add_generation_prompt)
    if fmt.kind == "openai":
        return _openai(model, fmt, conv, tc, add_generation_prompt)
    if fmt.kind == "mistral":
        return _mistral(model, fmt, conv, tc, add_generation_prompt)
    raise InvalidInputError(f"{model.id}: chat format {fmt.name!r} of kind {fmt.kind!r} "
                            "cannot frame a request")


# -- shared pieces -------------------------------------------------------------------


def _item_parts(m: Message, tc: _Counter, count: Callable[[str], tuple[int, str]] | None = None
                ) -> tuple[list[UsagePart], int]:
    """Parts for every item of ``m`` and the sum of the text parts' tokens."""
    count = count or tc.text
    out = []
    text_sum = 0
    for it in m.items:
        if isinstance(it, TextItem):
            n, rule = count(it.text)
            text_sum += n
            out.append(UsagePart(kind=it.kind, tokens=n, exact=tc.exact and it.exact,
                                 rule=it.rule or rule, role=m.role, index=it.where))
        else:
            out.append(_media_part(it, m.role))
    return out, text_sum


def _media_part(it: MediaItem, role: str) -> UsagePart:
    c = it.count
    # What the request asked for and the count does not apply is part of the rule shown
    # (Usage.explain() prints it).
    rule = f"{c.rule}; {it.note}" if it.note else c.rule
    return UsagePart(kind=it.kind, tokens=c.tokens, exact=c.exact, rule=rule, role=role,
                     index=it.where, count=c)


def _framing(tokens: int, exact: bool, fmt: ChatFormat, role: str, index: str) -> UsagePart:
    return UsagePart(kind="framing", tokens=tokens, exact=exact, rule=f"chat:{fmt.name}",
                     role=role, index=index)


def _media_sum(m: Message) -> int:
    return sum(it.count.tokens for it in m.items if isinstance(it, MediaItem))


def _tool_json(t: ToolDef) -> str:
    return json.dumps(dict(t.raw), ensure_ascii=False)


# -- ChatML templates ------------------------------------------------------------------


def _template(fmt: ChatFormat, conv: Conversation, tc: _Counter, gen: bool) -> list[UsagePart]:
    tok = tc.tokenizer()
    pre_t, post_t = fmt.message.split("{content}")
    msgs = list(conv.messages)
    parts: list[UsagePart] = []
    if conv.tools:
        # The Qwen2.5 template appends its tool block to the system message (or to its
        # default system prompt); templates without a tools branch get the same block, as
        # a labelled stand-in.
        exact_tools = fmt.name == "qwen2.5"
        rule = "tools:qwen2.5-template" if exact_tools else "tools:qwen2.5-template (stand-in)"
        lines = "".join("\n" + _tool_json(t) for t in conv.tools)
        if msgs and msgs[0].role == "system":
            block = "\n\n" + _QWEN_TOOLS_HEAD + lines + _QWEN_TOOLS_TAIL
            first = msgs[0]
            msgs[0] = Message(role="system", where=first.where, items=[
                *first.items, TextItem(block, "tools", kind="tools", exact=exact_tools,
                                       rule=rule)], name=first.name, strings=first.strings)
        else:
            default = fmt.default_system
            block = ("\n\n" if default else "") + _QWEN_TOOLS_HEAD + lines + _QWEN_TOOLS_TAIL
            items: list[TextItem | MediaItem] = []
            if default:
                items.append(TextItem(default, "default system prompt", kind="framing"))
            items.append(TextItem(block, "tools", kind="tools", exact=exact_tools, rule=rule))
            msgs.insert(0, Message(role="system", where="default system prompt", items=items))
    elif fmt.default_system is not None and (not msgs or msgs[0].role != "system"):
        s = pre_t.replace("{role}", "system") + fmt.default_system + post_t
        parts.append(_framing(tok.count_with_specials(s), True, fmt, "system",
                              "default system prompt"))
    qwen25 = fmt.name == "qwen2.5"
    # Text runs between special tokens are tokenized as wholes; a run can span messages
    # (Qwen2.5 writes a run of tool results into one user turn), so the tokens of a run are
    # known when it closes, and a message's framing when its group of messages closes.
    runs: list[str] = []
    cur = ""
    group: list[tuple[Message, list[UsagePart], int]] = []
    for k, m in enumerate(msgs):
        closes = True
        if qwen25 and m.role == "tool":
            opens = k == 0 or msgs[k - 1].role != "tool"
            closes = k == len(msgs) - 1 or msgs[k + 1].role != "tool"
            pre = ("<|im_start|>user" if opens else "") + "\n<tool_response>\n"
            post = "\n</tool_response>" + ("<|im_end|>\n" if closes else "")
        elif qwen25 and any(isinstance(it, TextItem) and it.call for it in m.items):
            m = _qwen25_calls(m)
            pre, post = "<|im_start|>" + m.role, "<|im_end|>\n"
        else:
            pre, post = pre_t.replace("{role}", m.role), post_t
        cur += pre
        for it in m.items:
            if isinstance(it, TextItem):
                cur += it.text
            else:  # media: its wrapper special tokens split the text around it
                runs.append(cur)
                cur = ""
        cur += post
        mparts, text_sum = _item_parts(m, tc)
        # A synthesized default system prompt is framing, not the caller's text.
        text_sum -= sum(p.tokens for p in mparts if p.kind == "framing")
        group.append((m, [p for p in mparts if p.kind != "framing"], text_sum))
        if not closes:
            continue
        runs.append(cur)
        total = sum(tok.count_with_specials(r) for r in runs if r)
        framing_tokens = total - sum(t for _, _, t in group)
        for i, (gm, gparts, _) in enumerate(group):
            n = framing_tokens if i == 0 else 0  # a group's framing goes to its first turn
            if gm.role == "tool" and not qwen25:
                # Templates with tools write a tool result as a user turn wrapped in
                # <tool_response>; framed here as a plain ChatML turn, an approximation.
                parts.append(UsagePart(kind="framing", tokens=n, exact=False,
                                       rule=f"chat:{fmt.name} (tool turn framed as ChatML)",
                                       role=gm.role, index=gm.where))
            else:
                parts.append(_framing(n, True, fmt, gm.role, gm.where))
            parts.extend(gparts)
        runs, cur, group = [], "", []
    if gen:
        parts.append(_framing(tok.count_with_specials(fmt.generation), True, fmt, "assistant",
                              "generation prompt"))
    return parts


def _qwen25_calls(m: Message) -> Message:
    """An assistant turn with tool calls as the Qwen2.5 template writes it: the content
    after a newline, then ``\\n<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>``
    per call, with the arguments as JSON (vLLM parses OpenAI's argument strings to
    objects before templating; HF's ``tojson`` is ``json.dumps(ensure_ascii=False)``)."""
    items: list[TextItem | MediaItem] = []
    content_started = False
    for it in m.items:
        if isinstance(it, TextItem) and it.call is not None:
            name, args = it.call
            if isinstance(args, str):
                with contextlib.suppress(ValueError):  # not JSON: written as a JSON string
                    args = json.loads(args)
            text = ('\n<tool_call>\n{"name": "' + name + '", "arguments": '
                    + json.dumps(args, ensure_ascii=False) + "}\n</tool_call>")
            items.append(TextItem(text, it.where, rule="tool_call:qwen2.5-template"))
        elif isinstance(it, TextItem):
            # '\n' + content when the content is not empty.
            lead = "\n" if it.text and not content_started else ""
            content_started = content_started or bool(it.text)
            items.append(TextItem(lead + it.text, it.where, kind=it.kind, exact=it.exact,
                                  rule=it.rule))
        else:
            items.append(it)
    return Message(role=m.role, where=m.where, items=items, name=m.name, strings=m.strings)


# -- Llama 3 -------------------------------------------------------------------------


def _llama3(fmt: ChatFormat, conv: Conversation, tc: _Counter, gen: bool) -> list[UsagePart]:
    tok = tc.tokenizer()
    sep = tok.count("\n\n")
    parts = [_framing(1, True, fmt, "", "<|begin_of_text|>")]
    for m in conv.messages:
        # <|start_header_id|> role <|end_header_id|> "\n\n" ... <|eot_id|>; llama_models
        # writes "ipython" for the tool role.
        head = 3 + tok.count("ipython" if m.role == "tool" else m.role) + sep
        items, _ = _item_parts(m, tc)
        parts.append(_framing(head, True, fmt, m.role, m.where))
        parts.extend(items)
    parts.extend(_generic_tools(conv, tc, fmt))
    if gen:
        parts.append(_framing(2 + tok.count("assistant") + sep, True, fmt, "assistant",
                              "generation prompt"))
    return parts


# -- OpenAI --------------------------------------------------------------------------


def _openai(model: Model, fmt: ChatFormat, conv: Conversation, tc: _Counter, gen: bool
            ) -> list[UsagePart]:
    tok = tc.tokenizer()
    parts: list[UsagePart] = []
    for m in conv.messages:
        head = fmt.per_message + tok.count(m.role)
        if m.name is not None:
            head += tok.count(m.name) + 1
        for _, value in m.strings:
            head += tok.count(value)
        items, _ = _item_parts(m, tc)
        if any(isinstance(it, MediaItem) for it in m.items):
            # The cookbook rule is fitted on text; whether OpenAI adds tokens around an
            # image or audio part is not published. None are counted, and the part says so.
            parts.append(UsagePart(kind="framing", tokens=head, exact=False,
                                   rule="chat:openai (framing around media not published)",
                                   role=m.role, index=m.where))
        else:
            parts.append(_framing(head, True, fmt, m.role, m.where))
        parts.extend(items)
    parts.extend(_openai_tools(model, conv, tc))
    if gen:
        parts.append(_framing(fmt.per_reply, True, fmt, "assistant", "generation prompt"))
    return parts


def _openai_tools(model: Model, conv: Conversation, tc: _Counter) -> list[UsagePart]:
    if not conv.tools:
        return []
    tok = tc.tokenizer()
    consts = _OPENAI_TOOL_CONSTANTS.get(str(model.tokenizer_name),
                                        _OPENAI_TOOL_CONSTANTS["o200k_base"])
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = consts
    rule = "openai.tools[cookbook]"
    parts = []
    for t in conv.tools:
        if not t.name:  # a built-in tool (web_search…): its definition is not public
            n = tc.est(_tool_json(t))
            parts.append(UsagePart(kind="tools", tokens=n, exact=False,
                                   rule="openai.builtin_tool (definition not public; its JSON "
                                        "is estimated)", index=t.where))
            continue
        n = func_init
        desc = t.description[:-1] if t.description.endswith(".") else t.description
        n += tok.count(f"{t.name}:{desc}")
        props = t.parameters.get("properties") or {}
        if isinstance(props, dict) and props:
            n += prop_init
            for key, schema in props.items():
                n += prop_key
                schema = schema if isinstance(schema, dict) else {}
                p_type = schema.get("type", "")
                if isinstance(p_type, list):
                    p_type = " | ".join(str(x) for x in p_type)
                p_desc = str(schema.get("description", ""))
                if "enum" in schema and isinstance(schema["enum"], list):
                    n += enum_init
                    for item in schema["enum"]:
                        n += enum_item + tok.count(str(item))
                if p_desc.endswith("."):
                    p_desc = p_desc[:-1]
                n += tok.count(f"{key}:{p_type}:{p_desc}")
                # The cookbook stops at one level; nested schemas (items, properties,
                # anyOf…) are counted as their JSON, an extension of the fitted rule.
                rest = {k: v for k, v in schema.items()
                        if k not in ("type", "description", "enum")}
                if rest:
                    n += tok.count(json.dumps(rest, ensure_ascii=False, separators=(",", ":")))
        parts.append(UsagePart(kind="tools", tokens=n, exact=False, rule=rule, index=t.where))
    parts.append(UsagePart(kind="tools", tokens=func_end, exact=False, rule=rule,
                           index="tools (end of definitions)"))
    return parts


# -- Mistral -------------------------------------------------------------------------


class _CountedImages:
    """An image encoder for mistral-common that returns the image tokens already counted.

    mistral-common joins adjacent text chunks of a message (with ``"\\n\\n"`` in the
    tekken versions), so an image cannot simply be left out of the encoded conversation: it
    stays in place as a 1x1 stand-in, and this encoder gives it the length the model's
    image rule counted (mistral-common's own encoder would resize the pixels with OpenCV).
    """

    def __init__(self, base: Any) -> None:
        self.base = base
        self.counts: dict[int, int] = {}

    def __call__(self, chunk: Any) -> Any:
        import numpy as np
        from mistral_common.tokens.tokenizers.image import ImageEncoding

        n = self.counts[id(chunk.image)]
        return ImageEncoding(tokens=[self.base.special_ids.img] * n,
                             image=np.zeros((3, 1, 1), dtype=np.float32))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


_MISTRAL_REQUESTS: dict[str, tuple[Any, _CountedImages | None]] = {}
_MISTRAL_LOCK = threading.Lock()


def _mistral_tokenizer(path: str) -> tuple[Any, _CountedImages | None]:
    """A MistralTokenizer of its own (count_messages' stays untouched), images counted."""
    got = _MISTRAL_REQUESTS.get(path)
    if got is None:
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer as MT

        mt = MT.from_file(path)
        inner = mt.instruct_tokenizer
        enc = _CountedImages(inner.image_encoder) if inner.image_encoder is not None else None
        if enc is not None:
            inner.image_encoder = enc  # type: ignore[assignment]  # duck-typed stand-in
        got = _MISTRAL_REQUESTS.setdefault(path, (mt, enc))
    return got


def _mistral(model: Model, fmt: ChatFormat, conv: Conversation, tc: _Counter, gen: bool
             ) -> list[UsagePart]:
    try:
        from mistral_common.protocol.instruct.chunk import ImageChunk, TextChunk
        from mistral_common.protocol.instruct.messages import (
            AssistantMessage,
            SystemMessage,
            ToolMessage,
            UserMessage,
        )
        from mistral_common.protocol.instruct.request import ChatCompletionRequest
        from mistral_common.protocol.instruct.tool_calls import Function, Tool
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - the mistral extra brings them
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            "exact Mistral chat counts need mistral-common: pip install 'tokenmeter[mistral]'"
        ) from exc

    mt, enc = _mistral_tokenizer(str(getattr(tc.tokenizer(), "path", "")))
    objs: list[Any] = []
    parts: list[UsagePart] = []
    counts: dict[int, int] = {}
    keep: list[Any] = []  # the stand-ins stay alive, so their ids stay unique
    text_sum = media_sum = 0
    for m in conv.messages:
        items, s = _item_parts(m, tc)
        text_sum += s
        texts = [it.text for it in m.items if isinstance(it, TextItem)]
        if m.role == "user":
            chunks: list[Any] = []
            for it in m.items:
                if isinstance(it, TextItem):
                    chunks.append(TextChunk(text=it.text))
                elif it.kind == "image" and enc is not None:
                    img = Image.new("1", (1, 1))
                    keep.append(img)
                    counts[id(img)] = it.count.tokens
                    media_sum += it.count.tokens
                    chunks.append(ImageChunk(image=img))
                else:
                    raise InvalidInputError(f"{it.where}: {model.id} takes text and images")
            content: Any = texts[0] if m.plain and len(chunks) == 1 else (
                chunks or [TextChunk(text="")])
            objs.append(UserMessage(content=content))
        elif any(isinstance(it, MediaItem) for it in m.items):
            raise InvalidInputError(f"{m.where}: only user messages carry images for "
                                    f"{model.id}")
        elif m.role == "system":
            objs.append(SystemMessage(content="".join(texts)))
        elif m.role == "assistant":
            objs.append(AssistantMessage(content="".join(texts)))
        elif m.role == "tool":
            call_id = dict(m.strings).get("tool_call_id")
            objs.append(ToolMessage(content="".join(texts), tool_call_id=call_id))
        else:
            raise InvalidInputError(f"{m.where}: mistral chat has no role {quote(m.role)}")
        parts.extend(items)

    def encode(tools: list[Any] | None) -> int:
        try:
            with _MISTRAL_LOCK:
                if enc is not None:
                    enc.counts = counts
                req = ChatCompletionRequest(messages=objs, tools=tools)
                return len(mt.encode_chat_completion(req).tokens)
        except Exception as exc:  # mistral-common's validation and tokenizer exceptions
            raise InvalidInputError(f"mistral-common rejects this conversation: {exc}") from None

    total = encode(None)
    framing = [_framing(total - text_sum - media_sum, True, fmt, "",
                        "chat framing (mistral-common)")]
    if conv.tools:
        tools = [Tool(function=Function(name=t.name, description=t.description,
                                        parameters=dict(t.parameters))) for t in conv.tools]
        framing.append(UsagePart(kind="tools", tokens=encode(tools) - total, exact=True,
                                 rule="mistral-common tools", index="tools"))
    # mistral-common's prompt ends on [/INST]: the reply needs no priming tokens, so
    # add_generation_prompt changes nothing here.
    del keep
    return framing + parts


# -- estimates -----------------------------------------------------------------------


def _generic_tools(conv: Conversation, tc: _Counter, fmt: ChatFormat) -> list[UsagePart]:
    """Tool definitions as their JSON, for formats whose tool rendering is not modelled."""
    out = []
    for t in conv.tools:
        s = _tool_json(t)
        n = tc.text(s)[0] if tc.exact else tc.est(s)
        out.append(UsagePart(kind="tools", tokens=n, exact=False,
                             rule=f"tools:json ({fmt.name} tool prompt not modelled)",
                             index=t.where))
    return out


def _estimated(model: Model, fmt: ChatFormat, conv: Conversation, tc: _Counter, gen: bool
               ) -> list[UsagePart]:
    # The same as Model.count_messages: text and role counted exactly where the vocabulary
    # is there (estimated otherwise), max(per_message, 2) framing tokens per message, +1
    # and the name's tokens per name, max(per_reply, 2) to prime the reply, and the default
    # system prompt +3 where the template adds one. The framing is always an estimate.
    def count(s: str) -> tuple[int, str]:
        return tc.text(s) if tc.exact else (tc.est(s), _est_rule(model))

    parts: list[UsagePart] = []
    msgs = conv.messages
    if fmt.kind in ("template", "llama3") and fmt.default_system is not None and (
            not msgs or msgs[0].role != "system"):
        parts.append(_framing(count(fmt.default_system)[0] + 3, False, fmt, "system",
                              "default system prompt"))
    for m in msgs:
        head = count(m.role)[0] + max(fmt.per_message, 2)
        if m.name is not None:
            head += count(m.name)[0] + 1
        items, _ = _item_parts(m, tc, count=count)
        parts.append(_framing(head, False, fmt, m.role, m.where))
        parts.extend(UsagePart(kind=p.kind, tokens=p.tokens, exact=(
            tc.exact and p.exact if p.kind == "text" else False if p.kind == "tools"
            else p.exact), rule=p.rule, role=p.role, index=p.index,
            count=p.count) for p in items)
    if conv.tools:
        if fmt.name == "anthropic":
            parts.extend(_anthropic_tools(model, conv, tc))
        else:
            parts.extend(_generic_tools(conv, tc, fmt))
    if gen:
        parts.append(_framing(max(fmt.per_reply, 2), False, fmt, "assistant",
                              "generation prompt"))
    return parts


def _est_rule(model: Model) -> str:
    cfg = model.text_config
    return f"estimate:{cfg.get('estimate') or cfg.get('tokenizer') or 'cl100k_base'}"


def _anthropic_tools(model: Model, conv: Conversation, tc: _Counter) -> list[UsagePart]:
    auto, forced = TOOL_PROMPT_TOKENS.get(model.id, (346, 313))
    choice = conv.tool_choice or "auto"
    n = forced if choice in ("any", "tool") else auto
    known = model.id in TOOL_PROMPT_TOKENS
    parts = [UsagePart(kind="tools", tokens=n, exact=known,
                       rule=f"anthropic.tool_system_prompt[{choice}]"
                            + ("" if known else " (model not in the published table)"),
                       index="tools (system prompt)")]
    for t in conv.tools:
        parts.append(UsagePart(kind="tools", tokens=tc.est(_tool_json(t)), exact=False,
                               rule="anthropic.tool_definition (JSON estimated; the rendering "
                                    f"is not public; see {_ANTHROPIC_TOOLS_SOURCE})",
                               index=t.where))
    return parts
