"""Any local HF tokenizer.json loads offline and counts exactly as `tokenizers` does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given

import tokenmeter as tm
from strategies import texts

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "在信息技术快速发展的今天，大语言模型已经成为人工智能领域的重要方向。",
    "Token counting must be exact: 12345 67890, émigré, naïve, 🙂.",
] * 50


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    folder = tmp_path_factory.mktemp("my-model")
    path = folder / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="module")
def reference(tokenizer_json):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizer_json))


@given(texts.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_counts_equal_tokenizers(tokenizer_json, reference, text):
    tok = tm.load_tokenizer(tokenizer_json)
    assert tok.count(text) == len(reference.encode(text, add_special_tokens=False).ids)
    assert tok.encode(text) == reference.encode(text, add_special_tokens=False).ids


def test_folder_and_batch(tokenizer_json, reference):
    tok = tm.load_tokenizer(tokenizer_json.parent)
    assert tok.path == tokenizer_json
    assert tok.count_many(CORPUS[:3]) == [
        len(reference.encode(t, add_special_tokens=False).ids) for t in CORPUS[:3]]


def test_lone_surrogates_are_replaced_as_tiktoken_does(tokenizer_json, reference):
    tok = tm.load_tokenizer(tokenizer_json)
    assert tok.count("a\ud800b") == len(reference.encode("a\ufffdb",
                                                         add_special_tokens=False).ids)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(tm.VocabularyUnavailableError):
        tm.load_tokenizer(tmp_path / "nope.json")
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(tm.InvalidInputError):
        tm.load_tokenizer(bad)
    with pytest.raises(tm.InvalidInputError):
        tm.load_tokenizer(tmp_path / "x.tiktoken", kind="tiktoken")  # no pattern


def test_a_catalog_model_can_name_a_local_tokenizer_json(tokenizer_json, reference,
                                                         monkeypatch):
    monkeypatch.setenv("TOKENMETER_VOCAB_DIR", str(tokenizer_json.parent))
    tm.register_catalog("""
[tokenizers.test_local_hf]
kind = "hf"
description = "a local tokenizer.json"
file = "tokenizer.json"
source = "tests"
as_of = "2026-11-27"

[families.test_local_hf_family]
source = "tests"
as_of = "2026-11-27"
text = { tokenizer = "test_local_hf", estimate = "qwen2" }

[models."test-local-hf-model"]
family = "test_local_hf_family"
""", where="test_text_hf")
    c = tm.get_model("test-local-hf-model").count_text("The quick brown fox")
    assert c.exact
    assert c.rule == "hf:test_local_hf"
    assert c.tokens == len(reference.encode("The quick brown fox", add_special_tokens=False).ids)


def _deepseek() -> Path | None:
    for d in os.environ.get("TOKENMETER_VOCAB_DIR", "").split(os.pathsep):
        if d and (Path(d) / "deepseek_tokenizer.json").is_file():
            return Path(d) / "deepseek_tokenizer.json"
    return None


@pytest.mark.skipif(_deepseek() is None, reason="DeepSeek tokenizer.json not installed "
                    "(TOKENMETER_VOCAB_DIR)")
def test_deepseek_counts_equal_its_tokenizer_json():
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(_deepseek()))
    m = tm.get_model("deepseek-chat")
    for text in ["你好，世界！Hello, world.", "1234567890 " * 20, ""]:
        assert m.count_text(text).tokens == len(ref.encode(text, add_special_tokens=False).ids)


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory) -> Path:
    """A GPT-2-style slow-tokenizer folder: vocab.json + merges.txt + tokenizer_config.json."""
    import json

    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=400, special_tokens=["<|endoftext|>"])
    folder = tmp_path_factory.mktemp("slow-model")
    bpe.save_model(str(folder))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>",
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}))
    return folder


@given(texts.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_a_folder_without_tokenizer_json_loads_through_transformers(slow_folder, text):
    transformers = pytest.importorskip("transformers")
    ref = transformers.AutoTokenizer.from_pretrained(str(slow_folder), local_files_only=True)
    tok = tm.load_tokenizer(slow_folder)
    assert tok.count(text) == len(ref.encode(text, add_special_tokens=False))


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(tm.VocabularyUnavailableError):
        tm.load_tokenizer(tmp_path)
