"""Plugins: a tiny installed distribution registers a model and a rule kind through the
``tokenmeter.plugins`` entry-point group, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN_CODE = '''
from dataclasses import dataclass
import numpy as np
from tokenmeter.encoders import ImageRule, RuleResult

def register(tm):
    @dataclass(frozen=True, slots=True, kw_only=True)
    class TenPixelTiles(ImageRule):
        kind = "demo.ten_px"
        cell: int = 10

        def evaluate(self, heights, widths, **opts):
            tiles = -(-heights // self.cell) * -(-widths // self.cell)
            return RuleResult(tokens=tiles, wrapper_tokens=np.zeros_like(tiles),
                              derivation={"tiles": tiles})

    tm.register_rule(TenPixelTiles)
    tm.register_catalog("""
[families.demo_family]
source = "tm_plugin_demo"
as_of = "2026-11-27"
text = { estimate = "qwen2" }
[families.demo_family.image]
rule = "demo.ten_px"
cell = 20
[models."demo-vision-1"]
family = "demo_family"
aliases = ["acme/demo-vision"]
""", where="tm_plugin_demo")
'''


def _install(tmp_path: Path, name: str, code: str, entry: str) -> Path:
    site = tmp_path / "site"
    pkg = site / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(code))
    dist = site / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[tokenmeter.plugins]\ndemo = {entry}\n")
    return site


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})


def test_plugin_registers_a_model_and_a_rule(tmp_path):
    site = _install(tmp_path, "tm_plugin_demo", PLUGIN_CODE, "tm_plugin_demo:register")
    out = _run(site, textwrap.dedent("""
        import tokenmeter as tm
        m = tm.get_model("ACME/Demo-Vision")
        c = m.count_image(100, 50)
        print(m.id, c.tokens, c.tiles, c.rule)
        print(tm.get_model("gpt-4o").id)
    """))
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    assert first == "demo-vision-1 15 15 demo.ten_px"  # ceil(50/20) * ceil(100/20)
    assert second == "gpt-4o"


def test_unknown_model_message_names_installed_plugins(tmp_path):
    site = _install(tmp_path, "tm_plugin_demo", PLUGIN_CODE, "tm_plugin_demo:register")
    out = _run(site, "import tokenmeter as tm\ntry:\n tm.get_model('nope-x')\n"
                     "except KeyError as e: print(e)")
    assert "demo = tm_plugin_demo:register" in out.stdout


def test_broken_plugin_is_a_plugin_error_naming_it(tmp_path):
    site = _install(tmp_path, "tm_plugin_broken", "raise RuntimeError('boom')\n",
                    "tm_plugin_broken:register")
    out = _run(site, "import tokenmeter as tm\ntry:\n tm.get_model('gpt-4o')\n"
                     "except tm.PluginError as e: print('PluginError', e)")
    assert out.stdout.startswith("PluginError")
    assert "tm_plugin_broken" in out.stdout
    assert "boom" in out.stdout


def test_plugin_clashing_with_a_builtin_name_is_refused(tmp_path):
    code = ("def register(tm):\n"
            "    tm.register_catalog({'models': {'gpt-4o-clone': {'family': 'openai_gpt4o',"
            " 'aliases': ['gpt-4o']}}})\n")
    site = _install(tmp_path, "tm_plugin_clash", code, "tm_plugin_clash:register")
    out = _run(site, "import tokenmeter as tm\ntry:\n tm.list_models()\n"
                     "except tm.PluginError as e: print('PluginError', e)")
    assert out.stdout.startswith("PluginError")
    assert "'gpt-4o'" in out.stdout


def test_duplicate_rule_kind_is_refused(tmp_path):
    code = textwrap.dedent('''
        from dataclasses import dataclass
        from tokenmeter.encoders import ImageRule
        def register(tm):
            @dataclass(frozen=True, slots=True, kw_only=True)
            class A(ImageRule):
                kind = "demo.dup"
            @dataclass(frozen=True, slots=True, kw_only=True)
            class B(ImageRule):
                kind = "demo.dup"
            tm.register_rule(A)
            tm.register_rule(B)
    ''')
    site = _install(tmp_path, "tm_plugin_dup", code, "tm_plugin_dup:register")
    out = _run(site, "import tokenmeter as tm\ntry:\n tm.list_models()\n"
                     "except tm.PluginError as e: print('PluginError', e)")
    assert out.stdout.startswith("PluginError")
    assert "demo.dup" in out.stdout
