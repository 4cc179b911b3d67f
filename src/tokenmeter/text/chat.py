"""Chat framing: the tokens a family's chat template adds around each message.

Each format renders a conversation to the exact string the model's template produces
(special tokens included) and counts it with the model's tokenizer, special tokens
recognized — the same thing ``apply_chat_template(..., tokenize=True)`` does. Formats:

* ``qwen2.5`` — ChatML with Qwen2.5's default system prompt when none is given;
* ``qwen2-vl`` — ChatML with ``"You are a helpful assistant."`` as the default system;
* ``chatml`` — ChatML, no default system;
* ``llama3`` — ``<|begin_of_text|>`` and header/eot tokens per message, as
  ``llama_models.llama3.chat_format.ChatFormat.encode_dialog_prompt`` builds it: the role,
  the ``"\n\n"`` after the header and the content are tokenized *separately* there
  (HF's Jinja template tokenizes them together, and trims the content);
* ``openai`` — the OpenAI cookbook rule: 3 tokens per message, +1 per ``name``, +3 to
  prime the reply, plus the tokens of every string value;
* ``mistral`` — counted by ``mistral-common`` itself.

Families whose template is not public (Claude, Gemini, DeepSeek's API, LLaVA's Vicuna,
the Chinese API models) get an estimate of the framing, marked ``exact=False``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._counts import TokenCount
from ..errors import InvalidInputError

if TYPE_CHECKING:
    from .._model import Model

__all__ = ["FORMATS", "ChatFormat", "count_messages", "render"]

QWEN25_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
QWEN2VL_SYSTEM = "You are a helpful assistant."


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatFormat:
    """How one family frames a conversation.

    Attributes:
        name: the format's catalog name.
        kind: ``"template"`` (render and count), ``"openai"`` (cookbook rule),
            ``"mistral"`` (mistral-common) or ``"approx"`` (estimated framing).
        begin: text before the first message.
        message: per-message template with ``{role}`` and ``{content}``.
        default_system: a system message inserted when the conversation has none.
        generation: text that opens the assistant's reply.
        per_message: for ``approx``: framing tokens per message.
        per_reply: for ``approx``: tokens that prime the reply.
        source: where the format comes from.
    """

    name: str
    kind: str
    begin: str = ""
    message: str = ""
    default_system: str | None = None
    generation: str = ""
    per_message: int = 0
    per_reply: int = 0
    source: str = ""


_CHATML = "<|im_start|>{role}\n{content}<|im_end|>\n"
FORMATS: dict[str, ChatFormat] = {
    f.name: f
    for f in (
        ChatFormat(name="qwen2.5", kind="template", message=_CHATML,
                   default_system=QWEN25_SYSTEM, generation="<|im_start|>assistant\n",
                   source="Qwen2.5-*-Instruct tokenizer_config.json chat_template"),
        ChatFormat(name="qwen2-vl", kind="template", message=_CHATML,
                   default_system=QWEN2VL_SYSTEM, generation="<|im_start|>assistant\n",
                   source="Qwen2-VL / Qwen2.5-VL chat_template.json"),
        ChatFormat(name="chatml", kind="template", message=_CHATML,
                   generation="<|im_start|>assistant\n",
                   source="ChatML (Qwen3-VL and InternVL templates without a default system)"),
        ChatFormat(name="llama3", kind="llama3", begin="<|begin_of_text|>",
                   message="<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
                   generation="<|start_header_id|>assistant<|end_header_id|>\n\n",
                   source="llama_models/llama3/chat_format.py ChatFormat.encode_dialog_prompt"),
        ChatFormat(name="openai", kind="openai", per_message=3, per_reply=3,
                   source="https://github.com/openai/openai-cookbook/blob/main/examples/"
                          "How_to_count_tokens_with_tiktoken.ipynb"),
        ChatFormat(name="mistral", kind="mistral",
                   source="mistral-common ChatCompletionRequest encoding"),
        ChatFormat(name="anthropic", kind="approx", per_message=4, per_reply=3,
                   source="no public template; a few framing tokens per message"),
        ChatFormat(name="gemini", kind="approx", per_message=4, per_reply=3,
                   source="no public template; a few framing tokens per message"),
        ChatFormat(name="deepseek", kind="approx", per_message=2, per_reply=1,
                   source="DeepSeek-V3 template: <|User|>/<|Assistant|> markers per turn"),
        ChatFormat(name="vicuna", kind="approx", per_message=3, per_reply=2,
                   source="LLaVA conversation template (USER:/ASSISTANT:)"),
    )
}


def _messages(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, Mapping[str, Any]]]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidInputError("messages must be a list of {'role': ..., 'content': ...} dicts")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise InvalidInputError(f"messages[{i}] must be a dict, got {type(m).__name__}")
        role = m.get("role")
        content = m.get("content", "")
        if not isinstance(role, str) or not role:
            raise InvalidInputError(f"messages[{i}] has no 'role' string")
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise InvalidInputError(
                f"messages[{i}].content must be a string here; use tokenmeter.count_request "
                "for messages with image, audio or video parts"
            )
        out.append((role, content, m))
    return out


def render(fmt: ChatFormat, messages: Sequence[Mapping[str, Any]], *,
           add_generation_prompt: bool = True) -> str:
    """The exact prompt string a ``template`` format produces for ``messages``."""
    if fmt.kind not in ("template", "llama3"):
        raise InvalidInputError(f"chat format {fmt.name!r} has no string rendering")
    msgs = _messages(messages)
    parts = [fmt.begin]
    # The templates add their default system turn before the first message (an empty
    # conversation has none: Qwen2-VL's template renders nothing for it).
    if fmt.default_system is not None and msgs and msgs[0][0] != "system":
        parts.append(fmt.message.format(role="system", content=fmt.default_system))
    for role, content, _ in msgs:
        parts.append(fmt.message.format(role=role, content=content))
    if add_generation_prompt:
        parts.append(fmt.generation)
    return "".join(parts)


def _format_of(model: Model) -> ChatFormat:
    name = str(model.text_config.get("chat", "chatml"))
    try:
        return FORMATS[name]
    except KeyError:
        raise InvalidInputError(f"{model.id}: unknown chat format {name!r}") from None


def count_messages(model: Model, messages: Sequence[Mapping[str, Any]], *,
                   estimate: bool = False, add_generation_prompt: bool = True) -> TokenCount:
    """See :meth:`tokenmeter.Model.count_messages`."""
    from . import count_text, get_tokenizer

    fmt = _format_of(model)
    msgs = _messages(messages)
    exact_tok = model.tokenizer_name is not None and not estimate
    details: dict[str, Any] = {"messages": len(msgs), "chat_format": fmt.name}

    if exact_tok and fmt.kind == "template":
        tok = get_tokenizer(model.tokenizer_name)  # type: ignore[arg-type]
        prompt = render(fmt, messages, add_generation_prompt=add_generation_prompt)
        total = tok.count_with_specials(prompt)
        content = sum(tok.count(c) for _, c, _ in msgs)
        details["content_tokens"] = content
        return _result(model, fmt, total, exact=True, details=details)

    if exact_tok and fmt.kind == "llama3":
        tok = get_tokenizer(model.tokenizer_name)  # type: ignore[arg-type]
        sep = tok.count("\n\n")
        # <|begin_of_text|>; per message <|start_header_id|> role <|end_header_id|> "\n\n"
        # content <|eot_id|>; then the assistant header. llama_models maps "tool" to
        # "ipython" in headers.
        total = 1
        content = 0
        for role, text, _ in msgs:
            c = tok.count(text)
            content += c
            total += 3 + tok.count("ipython" if role == "tool" else role) + sep + c
        if add_generation_prompt:
            total += 2 + tok.count("assistant") + sep
        details["content_tokens"] = content
        return _result(model, fmt, total, exact=True, details=details)

    if exact_tok and fmt.kind == "mistral":
        total = _mistral_count(model, msgs, add_generation_prompt)
        return _result(model, fmt, total, exact=True, details=details)

    if exact_tok and fmt.kind == "openai":
        tok = get_tokenizer(model.tokenizer_name)  # type: ignore[arg-type]
        total = 0
        for _, _, m in msgs:
            total += fmt.per_message
            for key, value in m.items():
                if isinstance(value, str):
                    total += tok.count(value)
                if key == "name":
                    total += 1
        if add_generation_prompt:
            total += fmt.per_reply
        return _result(model, fmt, total, exact=True, details=details)

    # Estimated text, or a template that is not public: the text is exact when the
    # vocabulary is there (only the framing is estimated), estimated otherwise.
    est = not exact_tok
    total = 0
    for role, text, message in msgs:
        total += count_text(model, text, estimate=est).tokens
        total += count_text(model, role, estimate=est).tokens
        total += max(fmt.per_message, 2)
        name = message.get("name")
        if isinstance(name, str):
            total += count_text(model, name, estimate=est).tokens + 1
    if add_generation_prompt:
        total += max(fmt.per_reply, 2)
    if fmt.kind in ("template", "llama3") and fmt.default_system is not None and (
        not msgs or msgs[0][0] != "system"
    ):
        total += count_text(model, fmt.default_system, estimate=est).tokens + 3
    details["note"] = "framing estimated" if fmt.kind in ("approx",) else "text estimated"
    return _result(model, fmt, total, exact=False, details=details)


_MISTRAL: dict[str, Any] = {}


def _mistral_count(model: Model, msgs: list[tuple[str, str, Mapping[str, Any]]],
                   add_generation_prompt: bool) -> int:
    from mistral_common.protocol.instruct.messages import (
        AssistantMessage,
        SystemMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer as MT

    from . import get_tokenizer

    tok = get_tokenizer(model.tokenizer_name)  # type: ignore[arg-type]
    mt = _MISTRAL.get(str(tok.path))  # type: ignore[attr-defined]
    if mt is None:
        mt = _MISTRAL.setdefault(str(tok.path), MT.from_file(str(tok.path)))  # type: ignore[attr-defined]
    kinds = {"system": SystemMessage, "user": UserMessage, "assistant": AssistantMessage}
    objs = []
    for i, (role, content, _) in enumerate(msgs):
        if role not in kinds:
            raise InvalidInputError(f"messages[{i}]: mistral chat has no role {role!r}")
        objs.append(kinds[role](content=content))
    req = ChatCompletionRequest(messages=objs)
    return len(mt.encode_chat_completion(req).tokens)


def _result(model: Model, fmt: ChatFormat, total: int, *, exact: bool,
            details: dict[str, Any]) -> TokenCount:
    tok = model.tokenizer_name
    rule = f"chat:{fmt.name}" + (f"+{tok}" if tok and exact else "+estimate")
    return TokenCount(
        tokens=total, modality="text", model=model.id, profile=model.profile, rule=rule,
        exact=exact, method="" if exact else "calibrated text estimate + framing",
        source=fmt.source, as_of=model.as_of, details=details,
    )
