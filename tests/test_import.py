"""`import tokenmeter` stays light: no optional dependency, not even numpy, is imported."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "numpy", "tiktoken", "tokenizers", "transformers", "dashscope", "llama_models",
    "mistral_common", "PIL", "av", "soundfile", "pyarrow", "pandas", "polars", "dask",
    "pyspark", "matplotlib", "torch", "importlib.metadata",
]


def _imported_after(code: str, heavy: list[str] = HEAVY) -> list[str]:
    prog = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_pulls_in_no_optional_dependency():
    assert _imported_after("import tokenmeter") == []


def test_catalog_lookup_stays_light():
    # Looking a model up reads the packaged TOML and the plugin entry points (which needs
    # importlib.metadata), but must not touch numpy or a tokenizer.
    code = "import tokenmeter as tm; tm.get_model('qwen2.5-vl-72b-instruct'); tm.list_models()"
    light = [m for m in HEAVY if m != "importlib.metadata"]
    assert _imported_after(code, light) == []
