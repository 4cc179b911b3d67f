"""The model catalog: ids, aliases, snapshots, profiles, close matches, data integrity."""

from __future__ import annotations

import itertools

import pytest

import tokenmeter as tm
from tokenmeter._catalog import catalog
from tokenmeter._data import load_toml

# Every system the foundation issue says the product must price.
REQUIRED = [
    "qwen2.5-72b-instruct", "qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct",
    "qwen2.5-3b-instruct", "qwen2.5-7b-instruct", "qwen2.5-14b-instruct",
    "qwen2.5-32b-instruct", "qwen-max", "qwen-plus", "qwen-turbo",
    "qwen2.5-vl-72b-instruct", "qwen2.5-vl-3b-instruct", "qwen2.5-vl-7b-instruct",
    "qwen2.5-vl-32b-instruct", "qwen2-vl-7b-instruct", "qwen3-vl-8b-instruct",
    "qwen2-audio-7b-instruct", "qwen2.5-omni-7b", "llama-3.1-70b-instruct",
    "llama-3.1-8b-instruct", "llama-3.1-405b-instruct", "llama-3.2-3b-instruct",
    "llama-3.2-11b-vision-instruct", "llama-3.3-70b-instruct", "gpt-4o", "gpt-4o-mini",
    "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "ernie-4.0", "hunyuan", "doubao",
    "claude-sonnet-4-5", "claude-3-5-sonnet", "gemini-2.5-pro", "gemini-2.5-flash",
    "pixtral-12b", "llava-1.5-7b", "llava-next-7b", "internvl2.5-8b", "whisper-large-v3",
    "wan2.1-t2v-14b", "hunyuanvideo", "cogvideox-5b",
]


def test_list_models_is_sorted_and_has_every_required_system():
    ids = tm.list_models()
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    assert set(REQUIRED) <= set(ids)


@pytest.mark.parametrize(("name", "expected"), [
    ("QWEN2.5-72B-INSTRUCT", "qwen2.5-72b-instruct"),
    ("  qwen2.5-72b-instruct ", "qwen2.5-72b-instruct"),
    ("Qwen/Qwen2.5-VL-72B-Instruct", "qwen2.5-vl-72b-instruct"),
    ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b-instruct"),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1-70b-instruct"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("openai/gpt-4o", "gpt-4o"),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("qwen-max-2025-01-25", "qwen-max"),
    ("qwen-plus-latest", "qwen-plus"),
    ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
    ("wan2.1-t2v", "wan2.1-t2v-14b"),
    ("whisper-1", "whisper-large-v3"),
])
def test_names_resolve(name, expected):
    assert tm.get_model(name).id == expected


def test_unknown_model_lists_close_matches_and_plugins():
    with pytest.raises(tm.UnknownModelError) as info:
        tm.get_model("qwen2.5-vl-72b-instrut")
    err = info.value
    assert err.suggestions[0] == "qwen2.5-vl-72b-instruct"
    msg = str(err)
    assert "qwen2.5-vl-72b-instruct" in msg
    assert "tokenmeter.plugins" in msg
    assert "list_models" in msg


def test_unknown_model_with_nothing_close():
    with pytest.raises(tm.UnknownModelError) as info:
        tm.get_model("zzzz")
    assert info.value.suggestions == ()
    assert "Did you mean" not in str(info.value)


@pytest.mark.parametrize("bad", [None, 3, b"gpt-4o", ["gpt-4o"]])
def test_non_string_name(bad):
    with pytest.raises(tm.UnknownModelError):
        tm.get_model(bad)


def test_profiles():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    assert m.profile == "transformers"
    u = tm.get_model("qwen2.5-vl-72b-instruct", profile="qwen-vl-utils")
    assert u.profile == "qwen-vl-utils"
    assert u.with_profile("transformers") == m
    assert m.with_profile("qwen-vl-utils") is u
    with pytest.raises(tm.UnknownProfileError) as info:
        tm.get_model("qwen2.5-vl-72b-instruct", profile="nope")
    assert "qwen-vl-utils" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_api_model_default_profile_is_its_own():
    assert tm.get_model("qwen-vl-max").profile == "dashscope"


def test_models_are_immutable_and_shared():
    m = tm.get_model("gpt-4o")
    assert tm.get_model("GPT-4o") is m
    with pytest.raises(AttributeError):
        m.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        tm.Model()


def test_text_only_model_refuses_images():
    with pytest.raises(tm.UnsupportedModalityError) as info:
        tm.get_model("qwen2.5-72b-instruct").count_image(100, 100)
    assert "text" in str(info.value)


def test_every_entry_is_sourced_and_dated():
    data = load_toml("models.toml")
    for name, spec in data["tokenizers"].items():
        assert spec.get("source"), name
        assert spec.get("as_of"), name
    for name, fam in data["families"].items():
        assert fam.get("source"), name
        assert fam.get("as_of"), name
        for pname, prof in fam.get("profiles", {}).items():
            assert prof.get("source"), (name, pname)
            assert prof.get("description"), (name, pname)
        for mod in ("image", "video", "audio"):
            if mod in fam:
                assert fam[mod].get("rule"), (name, mod)


def test_aliases_are_unique_and_lower_case():
    data = load_toml("models.toml")
    seen: dict[str, str] = {}
    for mid, entry in data["models"].items():
        for n in [mid, *entry.get("aliases", [])]:
            key = n.lower()
            assert key not in seen, (n, mid, seen.get(key))
            seen[key] = mid


def _every_model_and_profile():
    for mid in tm.list_models():
        for prof in tm.get_model(mid).profiles:
            yield mid, prof


@pytest.mark.parametrize(("mid", "profile"), list(_every_model_and_profile()))
def test_every_rule_of_every_model_and_profile_builds(mid, profile):
    m = tm.get_model(mid, profile=profile)
    for modality in ("image", "video", "audio"):
        if modality in m.modalities:
            rule = m.rule(modality)
            assert rule.modality == modality
            assert rule.source


def test_register_catalog_adds_a_model_from_toml_text():
    tm.register_catalog("""
[families.test_family_a]
source = "tests"
as_of = "2026-11-27"
text = { estimate = "qwen2" }

[models."test-model-a"]
family = "test_family_a"
aliases = ["test/a-alias"]
""", where="test_catalog")
    m = tm.get_model("TEST/A-ALIAS")
    assert m.id == "test-model-a"
    assert "test-model-a" in tm.list_models()
    assert m.count_text("hello", estimate=True).exact is False


def test_register_catalog_rejects_a_taken_name():
    with pytest.raises(tm.PluginError) as info:
        tm.register_catalog({"models": {"gpt-4o-copy": {"family": "openai_gpt4o",
                                                        "aliases": ["GPT-4o"]}}})
    assert "gpt-4o" in str(info.value)
    with pytest.raises(KeyError):  # nothing of the rejected batch was added
        tm.get_model("gpt-4o-copy")


@pytest.mark.parametrize("bad", [
    {"models": {"x-bad-1": {"family": "no_such_family"}}},
    {"models": {"X-Upper": {"family": "openai_gpt4o"}}},
    {"families": {"f_bad": {"as_of": "2026-01-01"}}},
    {"nonsense": {}},
])
def test_register_catalog_rejects_malformed_entries(bad):
    with pytest.raises(tm.CatalogError):
        tm.register_catalog(bad)


def test_every_tokenizer_in_the_catalog_is_known_to_the_models():
    used = {tm.get_model(m).tokenizer_name for m in tm.list_models()} - {None}
    assert used <= set(catalog.tokenizer_names())


def test_close_match_candidates_are_deduplicated():
    cands = catalog._candidates("openai/gpt-4o-2024-08-06")
    assert len(cands) == len(set(cands))
    assert "gpt-4o" in cands


def test_resolution_is_consistent_for_all_aliases():
    data = load_toml("models.toml")
    for mid, entry in itertools.islice(data["models"].items(), None):
        for alias in entry.get("aliases", []):
            assert tm.get_model(alias).id == mid


def test_every_model_a_packaged_price_book_prices_is_in_the_catalog():
    for name in tm.list_price_books():
        book = tm.load_price_book(name)
        for version in book.versions:
            for mid in version.models:
                assert tm.get_model(mid), (name, mid)


@pytest.mark.parametrize(
    ("mid", "profile", "modality", "needle"),
    [
        ("qwen2.5-vl-72b-instruct", "qwen-vl-utils", "image", "qwen-vl-utils"),
        ("qwen2.5-vl-72b-instruct", "qwen-vl-utils", "video", "qwen-vl-utils"),
        ("qwen2.5-vl-72b-instruct", "vllm-opencv", "video", "VideoMediaIO"),
        ("pixtral-12b", "transformers", "image", "transformers"),
        ("pixtral-12b", None, "image", "mistral-common"),
    ],
)
def test_a_profile_that_changes_a_rule_names_its_own_source(mid, profile, modality, needle):
    m = tm.get_model(mid, profile=profile)
    c = m.count_image(1280, 720) if modality == "image" else m.count_video(1280, 720, 10, 30)
    assert needle in c.source
    if profile is not None:
        default = tm.get_model(mid).count_image(1280, 720).source
        assert modality == "video" or c.source != default


def test_vllm_profile_counts_as_transformers_and_the_generic_loader_has_its_own():
    default = tm.get_model("qwen2.5-vl-72b-instruct")
    vllm = default.with_profile("vllm")
    for w, h, d, fps in [(1280, 720, 10, 30), (640, 480, 3.3, 24), (1920, 1080, 120, 60)]:
        assert vllm.count_video(w, h, d, fps).tokens == default.count_video(w, h, d, fps).tokens
    generic = default.with_profile("vllm-opencv").count_video(1280, 720, 10, 30)
    assert generic.frames == 32
