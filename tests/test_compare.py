"""compare_text: the same text on several models, side by side."""

from __future__ import annotations

import pytest

import tokenmeter as tm

ZH = ("在信息技术快速发展的今天，大语言模型已经成为人工智能领域最受关注的方向之一。"
      "本文介绍了如何评估不同模型在中文文本上的分词效率，以及这些差异对实际部署成本的影响。")


def test_rows_follow_the_models_and_their_own_counts():
    models = ["qwen2.5-72b-instruct", "llama-3.1-70b-instruct", "gpt-4"]
    rows = tm.compare_text(ZH, models)
    assert [r.model for r in rows] == models
    for r in rows:
        assert r.tokens == tm.get_model(r.model).count_text(ZH).tokens
        assert r.exact
        assert r.chars == len(ZH)
        assert r.chars_per_token == pytest.approx(len(ZH) / r.tokens)
    assert min(r.ratio for r in rows) == 1.0


def test_qwen_spends_fewer_tokens_on_chinese_than_cl100k():
    qwen, cl100k = tm.compare_text(ZH, ["qwen2.5-72b-instruct", "gpt-4"])
    assert qwen.tokens < cl100k.tokens
    assert cl100k.ratio > 1.0


def test_empty_text_and_bad_arguments():
    rows = tm.compare_text("", ["qwen2.5-72b-instruct"])
    assert rows[0].tokens == 0
    assert rows[0].chars_per_token == 0.0
    with pytest.raises(tm.InvalidInputError):
        tm.compare_text("x", [])
    with pytest.raises(tm.InvalidInputError):
        tm.compare_text(b"x", ["gpt-4"])  # type: ignore[arg-type]
    with pytest.raises(tm.UnknownModelError):
        tm.compare_text("x", ["no-such-model"])
