"""The output side: count_completion on response bodies, usage_from_provider on usage blocks.

Usage blocks are the vendors' documented shapes; each vendor's subset/additive semantics
end in tokenmeter's subset semantics (cached and cache writes within the input, reasoning
within the output), and a price book quotes the result.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediafactory as mf
import tokenmeter as tm
from strategies import texts

QWEN = "qwen2.5-72b-instruct"


def count(model: str, text: str) -> int:
    return tm.get_model(model).count_text(text).tokens


# -- count_completion -----------------------------------------------------------------------


@given(texts)
def test_a_string_is_its_tokens(text):
    u = tm.count_completion(QWEN, text)
    assert u.output == count(QWEN, text)
    assert u.input_tokens == 0
    assert u.reasoning == 0
    assert u.exact


def test_openai_chat_completion_body():
    body = {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion",
        "model": "gpt-4-turbo",
        "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "Hello! How can I assist you today?",
                         "refusal": None}},
            {"index": 1, "finish_reason": "tool_calls",
             "message": {"role": "assistant", "content": None, "tool_calls": [
                 {"id": "call_abc123", "type": "function",
                  "function": {"name": "get_current_weather",
                               "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}]}},
        ],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29},
    }
    u = tm.count_completion("gpt-4-turbo", body)
    call = json.dumps({"name": "get_current_weather",
                       "arguments": "{\n\"location\": \"Boston, MA\"\n}"},
                      ensure_ascii=False, separators=(",", ":"))
    assert u.output == count("gpt-4-turbo", "Hello! How can I assist you today?") + \
        count("gpt-4-turbo", call)
    assert [p.index for p in u.parts] == ["choices[0].message.content",
                                          "choices[1].message.tool_calls[0]"]
    assert not u.exact  # the tool call's serialization is not public
    assert tm.count_completion("gpt-4-turbo", json.dumps(body).encode()) == u
    # A str is always generated text, even when it is JSON (JSON-mode output).
    as_text = tm.count_completion("gpt-4-turbo", json.dumps(body))
    assert as_text.output == count("gpt-4-turbo", json.dumps(body))


def test_openai_audio_reply_is_output_audio():
    wav = mf.audio("WAV", sample_rate=24000, frames=48000)  # 2 s
    body = {"choices": [{"message": {"role": "assistant", "content": None, "audio": {
        "id": "audio_abc", "data": base64.b64encode(wav).decode(), "transcript": "Hi there"}}}]}
    u = tm.count_completion("gpt-4o", body, estimate=True)
    # Assistant audio: 1 token per 50 ms.
    assert u.output_audio == 40 == tm.get_model("gpt-4o").count_audio(
        2.0, direction="output").tokens
    assert u.output == 0


def test_responses_body_with_reasoning_summary():
    body = {"object": "response", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Add the numbers."}]},
        {"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "The answer is 4.", "annotations": []}]},
        {"type": "function_call", "name": "add", "arguments": "{\"a\":2,\"b\":2}",
         "call_id": "c1"},
    ]}
    u = tm.count_completion("gpt-4-turbo", body)
    assert u.reasoning == count("gpt-4-turbo", "Add the numbers.")
    assert u.output > u.reasoning + count("gpt-4-turbo", "The answer is 4.")
    assert not u.exact


def test_anthropic_body_with_thinking():
    body = {"id": "msg_1", "type": "message", "role": "assistant", "content": [
        {"type": "thinking", "thinking": "Let me work through this.", "signature": "abc"},
        {"type": "text", "text": "The answer is 4."}],
        "usage": {"input_tokens": 12, "output_tokens": 30}}
    u = tm.count_completion("claude-sonnet-4-5", body)
    assert u.reasoning > 0
    assert u.output > u.reasoning
    assert not u.exact  # Claude has no public tokenizer


def test_gemini_body_with_thought_parts():
    body = {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Thinking about it", "thought": True}, {"text": "Paris."}]}}],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}}
    u = tm.count_completion("gemini-2.5-flash", body)
    assert u.reasoning > 0
    assert u.output > u.reasoning


def test_dashscope_native_body():
    body = {"output": {"choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": [{"text": "图中是一只狗和一个女孩。"}]}}]},
        "usage": {"input_tokens": 1271, "output_tokens": 12, "image_tokens": 1247}}
    u = tm.count_completion(QWEN, body)
    assert u.output == count(QWEN, "图中是一只狗和一个女孩。")
    assert u.exact
    assert tm.count_completion(QWEN, {"output": {"text": "hi"}}).output == count(QWEN, "hi")


@pytest.mark.parametrize("body", [{"foo": 1}, {"content": [{"type": "image"}]},
                                  {"choices": [{"message": {"content": 3}}]}, b"[1, 2"])
def test_unreadable_response_bodies(body):
    with pytest.raises(tm.InvalidInputError):
        tm.count_completion(QWEN, body)


# -- usage_from_provider: documented blocks ---------------------------------------------------


def test_openai_chat_usage_cached_is_a_subset():
    # Prompt caching guide: cached_tokens are part of prompt_tokens.
    block = {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
             "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 120, "audio_tokens": 0,
                                           "accepted_prediction_tokens": 0,
                                           "rejected_prediction_tokens": 0}}
    u = tm.usage_from_provider("openai", block)
    assert (u.input_tokens, u.cached, u.output, u.reasoning) == (2006, 1920, 300, 120)
    assert u.total == 2306
    assert tm.usage_from_provider("auto", {"usage": block}) == u


def test_openai_audio_tokens_split_input_and_output():
    block = {"prompt_tokens": 120, "completion_tokens": 80,
             "prompt_tokens_details": {"audio_tokens": 100, "cached_tokens": 0},
             "completion_tokens_details": {"audio_tokens": 60, "text_tokens": 20}}
    u = tm.usage_from_provider("auto", block)
    assert (u.text, u.audio, u.output, u.output_audio) == (20, 100, 20, 60)


def test_openai_responses_usage():
    block = {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 10},
             "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 50},
             "total_tokens": 123}
    u = tm.usage_from_provider("auto", block)
    assert (u.input_tokens, u.cached, u.output, u.reasoning, u.total) == (36, 10, 87, 50, 123)


def test_deepseek_cache_hits_are_openai_style_cached_tokens():
    block = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
             "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36,
             "completion_tokens_details": {"reasoning_tokens": 4}}
    u = tm.usage_from_provider("auto", block)
    assert (u.input_tokens, u.cached, u.reasoning) == (100, 64, 4)


def test_anthropic_cache_fields_are_additive_and_folded_in():
    block = {"input_tokens": 21, "cache_creation_input_tokens": 188086,
             "cache_read_input_tokens": 0, "output_tokens": 393,
             "service_tier": "standard"}
    u = tm.usage_from_provider("auto", block)
    # Anthropic's input_tokens excludes the cache: the input is all three fields together.
    assert u.input_tokens == 21 + 188086
    assert (u.cache_write, u.cached, u.output) == (188086, 0, 393)
    read = tm.usage_from_provider("anthropic", {"input_tokens": 21,
                                                "cache_read_input_tokens": 188086,
                                                "output_tokens": 393})
    assert (read.input_tokens, read.cached, read.cache_write) == (188107, 188086, 0)
    # The 5-minute / 1-hour split is read when only that form is present.
    split = tm.usage_from_provider("anthropic", {
        "input_tokens": 5, "output_tokens": 1,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 50}})
    assert (split.input_tokens, split.cache_write) == (155, 150)


def test_gemini_usage_metadata_by_modality():
    block = {"usageMetadata": {
        "promptTokenCount": 3400, "candidatesTokenCount": 120, "thoughtsTokenCount": 300,
        "toolUsePromptTokenCount": 40, "cachedContentTokenCount": 2048,
        "totalTokenCount": 3860,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 242},
                                {"modality": "IMAGE", "tokenCount": 258},
                                {"modality": "VIDEO", "tokenCount": 2580},
                                {"modality": "AUDIO", "tokenCount": 320}],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 120}]}}
    u = tm.usage_from_provider("auto", block)
    assert (u.text, u.image, u.video, u.audio) == (242 + 40, 258, 2580, 320)
    assert u.cached == 2048
    assert (u.output, u.reasoning) == (420, 300)  # thoughts are output on top of candidates
    assert u.total == 3860


def test_dashscope_native_and_compatible_usage():
    u = tm.usage_from_provider("auto", {"input_tokens": 1271, "output_tokens": 54,
                                        "image_tokens": 1247, "total_tokens": 1325})
    assert (u.text, u.image, u.output) == (24, 1247, 54)
    v = tm.usage_from_provider("dashscope", {
        "input_tokens": 3000, "output_tokens": 10,
        "input_tokens_details": {"text_tokens": 100, "video_tokens": 2900},
        "prompt_tokens_details": {"cached_tokens": 64},
        "output_tokens_details": {"reasoning_tokens": 3}})
    assert (v.text, v.video, v.cached, v.reasoning) == (100, 2900, 64, 3)
    compat = tm.usage_from_provider("dashscope", {"prompt_tokens": 50, "completion_tokens": 5,
                                                  "prompt_tokens_details": {"cached_tokens": 20}})
    assert (compat.input_tokens, compat.cached) == (50, 20)


@pytest.mark.parametrize(("vendor", "block", "what"), [
    ("openai", {"prompt_tokens": -1}, "must be an int >= 0"),
    ("openai", {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}},
     "cached"),
    ("openai", {"prompt_tokens": 10, "prompt_tokens_details": {"audio_tokens": 11}},
     "exceed the total"),
    ("openai", {"prompt_tokens": 10, "completion_tokens": 2,
                "completion_tokens_details": {"reasoning_tokens": 3}}, "reasoning"),
    ("gemini", {"promptTokenCount": 10, "promptTokensDetails": [{"modality": "SMELL",
                                                                  "tokenCount": 1}]},
     "unknown modality"),
    ("cohere", {"tokens": 1}, "unknown vendor"),
    ("auto", {"tokens": 1}, "cannot tell the vendor"),
    ("openai", "not json", "not JSON"),
])
def test_bad_usage_blocks(vendor, block, what):
    with pytest.raises(tm.InvalidInputError, match=what):
        tm.usage_from_provider(vendor, block)


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7),
       st.integers(0, 10**6))
@settings(max_examples=100)
def test_every_vendor_ends_in_subset_semantics(base, read, write, out):
    a = tm.usage_from_provider("anthropic", {"input_tokens": base, "cache_read_input_tokens": read,
                                             "cache_creation_input_tokens": write,
                                             "output_tokens": out})
    assert a.input_tokens == base + read + write
    assert a.input_tokens - a.cached - a.cache_write == base
    prompt = base + read
    o = tm.usage_from_provider("openai", {"prompt_tokens": prompt, "completion_tokens": out,
                                          "prompt_tokens_details": {"cached_tokens": read}})
    assert (o.input_tokens, o.cached, o.output) == (prompt, read, out)
    g = tm.usage_from_provider("gemini", {"promptTokenCount": prompt,
                                          "cachedContentTokenCount": read,
                                          "candidatesTokenCount": out})
    assert (g.input_tokens, g.cached, g.output) == (prompt, read, out)


def test_a_price_book_quotes_what_the_provider_reported():
    book = tm.load_price_book("vendors-2026-11")
    block = {"input_tokens": 1000, "cache_read_input_tokens": 10000,
             "cache_creation_input_tokens": 2000, "output_tokens": 500}
    quote = book.quote("claude-sonnet-4-5", tm.usage_from_provider("anthropic", block))
    # $3/M fresh input, $0.30/M cache reads, $3.75/M cache writes, $15/M output.
    want = (Decimal(1000) * 3 + Decimal(10000) * Decimal("0.30") + Decimal(2000)
            * Decimal("3.75") + Decimal(500) * 15) / 10**6
    assert quote.exact.amount == want
