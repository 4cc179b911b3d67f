"""Dependencies point down only (DESIGN.md "Layers"); this test reads every import.

kernels know only numpy; encoders use kernels (and text, for timestamp text); probe knows
only media libraries; pricing knows only decimal (and numpy for its batch path); the
facade, requests, batch and cli sit on top. Imports inside ``if TYPE_CHECKING:`` blocks
are ignored (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tokenmeter"

BASE = {"tokenmeter.errors", "tokenmeter.media", "tokenmeter._counts", "tokenmeter._data"}

# package -> tokenmeter modules (prefixes) it may import
ALLOWED = {
    "kernels": BASE | {"tokenmeter.kernels"},
    "text": BASE | {"tokenmeter.text", "tokenmeter._catalog"},
    "encoders": BASE | {"tokenmeter.encoders", "tokenmeter.kernels", "tokenmeter.text"},
    "_probe": BASE | {"tokenmeter._probe"},
    "pricing": BASE | {"tokenmeter.pricing"},
    # batch and meter sit on the facade (models) and pricing; integrations on batch/meter.
    "_batch": BASE | {"tokenmeter._batch", "tokenmeter._catalog", "tokenmeter.kernels._intmath",
                      "tokenmeter.pricing"},
    "batch": BASE | {"tokenmeter._batch", "tokenmeter.pricing", "tokenmeter.__init__",
                     "tokenmeter"},
    "meter": BASE | {"tokenmeter._batch", "tokenmeter.pricing"},
    "integrations": BASE | {"tokenmeter.batch", "tokenmeter.meter", "tokenmeter._batch",
                            "tokenmeter.pricing", "tokenmeter.__init__", "tokenmeter"},
}
# third-party packages a layer may import (the standard library is always fine)
THIRD_PARTY = {
    "kernels": {"numpy"},
    "text": {"numpy", "tiktoken", "tokenizers", "transformers", "mistral_common"},
    "encoders": {"numpy"},
    "_probe": {"PIL", "av", "soundfile", "numpy"},
    "pricing": {"numpy", "tzdata"},
    "_batch": {"numpy", "pyarrow", "pandas", "polars"},
    "batch": {"pyarrow"},
    "meter": {"numpy", "pyarrow"},
    "integrations": {"numpy", "pyarrow", "pandas", "dask", "distributed", "pyspark"},
}
import sys  # noqa: E402

STDLIB = set(sys.stdlib_module_names)


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts[: len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path) -> list[str]:
    rel = path.relative_to(SRC.parent).with_suffix("")
    module = ".".join(rel.parts)
    if path.name == "__init__.py":
        module = module.rsplit(".", 1)[0] + ".__init__"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                skip.add(id(child))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            out.append(base)
            # `from . import x` imports submodule x
            if node.module is None:
                out += [f"{base}.{a.name}" for a in node.names]
    return out


def _files(layer: str) -> list[Path]:
    d = SRC / layer
    if (SRC / f"{layer}.py").is_file():  # a one-module layer (batch.py, meter.py)
        return [SRC / f"{layer}.py"]
    return sorted(d.rglob("*.py")) if d.is_dir() else []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_down(layer):
    files = _files(layer)
    if not files:
        pytest.skip(f"no {layer} package yet")
    bad = []
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "tokenmeter":
                if not any(name == p or name.startswith(p + ".") for p in ALLOWED[layer]):
                    bad.append(f"{path.relative_to(SRC)} imports {name}")
            elif top and top not in STDLIB and top not in THIRD_PARTY[layer]:
                bad.append(f"{path.relative_to(SRC)} imports third-party {name}")
    assert bad == []


def test_lower_layers_never_import_the_top():
    top = ("tokenmeter.cli", "tokenmeter._facade", "tokenmeter.batch", "tokenmeter.requests",
           "tokenmeter.meter", "tokenmeter.integrations", "tokenmeter._model")
    for layer in ("kernels", "text", "encoders", "_probe", "pricing"):
        for path in _files(layer):
            for name in _imports(path):
                assert not name.startswith(top), f"{path.relative_to(SRC)} imports {name}"
