"""Fit the script-aware text estimator on real English and Chinese text, reproducibly.

What it does, in order:

1. **Corpus.** Extracts paragraphs from documentation and texts that Debian ships (none
   written by this project) and from CPython's own ``pydoc_data/topics.py``:

   ======================  ========  ==================================================
   source                  language  files
   ======================  ========  ==================================================
   debian-reference-en     en        /usr/share/debian-reference/*.en.html
   maint-guide             en        /usr/share/doc/maint-guide/html/*.en.html
   debian-faq              en        /usr/share/doc/debian/FAQ/*.en.html
   debian-edu-doc-en       en        /usr/share/doc/debian-edu-doc-en/debian-edu-bookworm*.html
   python-pydoc-topics     en        pydoc_data/topics.py of the running CPython
   debian-reference-zh-cn  zh        /usr/share/debian-reference/*.zh-cn.html
   maint-guide-zh-cn       zh        /usr/share/doc/maint-guide-zh-cn/html/*.zh-cn.html
   debian-faq-zh-cn        zh        /usr/share/doc/debian/FAQ/zh-cn/*.zh-cn.html
   debian-edu-doc-zh-cn    zh        /usr/share/doc/debian-edu-doc-zh-cn/debian-edu-bookworm*.html
   manpages-zh             zh        /usr/share/man/zh_CN/man*/*.gz (roff source)
   fortunes-zh             zh        /usr/share/games/fortunes/{chinese,tang300,song100}
   debian-reference-ja/    other     /usr/share/debian-reference/*.{ja,de,fr,zh-tw}.html
   -de/-fr/-zh-tw
   debian-faq-ru, -ko      other     /usr/share/doc/debian/FAQ/{ru,ko}/*.html
   maint-guide-vi          other     /usr/share/doc/maint-guide-vi/html/*.vi.html
   manpages-el             other     /usr/share/man/el/man*/*.gz
   rime-data-emoji         other     /usr/share/rime-data/opencc/emoji_word.txt
   ======================  ========  ==================================================

   Install them with ``apt-get install debian-reference-en debian-reference-zh-cn
   maint-guide maint-guide-zh-cn debian-faq debian-faq-zh-cn debian-edu-doc-en
   debian-edu-doc-zh-cn manpages-zh fortunes-zh debian-reference-ja debian-reference-de
   debian-reference-fr debian-reference-zh-tw debian-faq-ru debian-faq-ko maint-guide-vi
   manpages-el rime-data-emoji``. Versions are read from dpkg and written into
   ``estimator.toml``. A missing package is reported and skipped. The "other" group
   (other scripts) only keeps the coefficients of classes that English and Chinese
   rarely use (kana, hangul, Cyrillic, accented Latin, emoji…) measured rather than
   guessed; it has a third of a language's weight and no accuracy promise.

   HTML is reduced to the text a browser shows: one paragraph per block element
   (``p``, ``li``, ``pre``, ``td``, headings…), whitespace collapsed except in ``pre``,
   and a line break between two CJK characters dropped (CSS Text 3's segment-break
   rule), so wrapped Chinese source lines do not gain spaces. Paragraphs shorter than
   16 characters and exact duplicates are dropped.

2. **Split.** Every paragraph belongs to a *unit* (an HTML section, a man page, a
   fortune, a pydoc topic). A unit is held out when the first byte of
   ``sha256(unit key)`` is below 77 (≈ 30 %); the key leaves out the language, so a
   section of a translated manual falls on the same side in English and in Chinese.

3. **Targets.** Exact counts from ``tokenmeter.text.get_tokenizer(name).count`` (the
   exact tokenizers that reproduce tiktoken / llama-models / mistral-common) for every
   calibration whose vocabulary is installed. ``o200k_base`` and ``deepseek_v3`` need
   their files in ``$TOKENMETER_VOCAB_DIR`` (the litellm wheel ships both; see
   docs/text-estimate.md). The table is only written when every calibration was fitted.

4. **Fit.** Non-negative least squares (Lawson–Hanson; only the bias may be negative)
   on the training units, each paragraph's residual weighted by ``1/sqrt(tokens)`` (so
   long paragraphs do not drown short ones), every source given equal weight within its
   language and both languages equal total weight,
   plus two heavily weighted rows that pin the English and the Chinese training totals
   (the aggregate is what a bill sums). Non-negative coefficients make the estimate
   monotone: appending text never lowers it.

5. **Report.** Held-out error per calibration and language: aggregate
   ``sum(estimate) / sum(exact) - 1`` and per-paragraph p5/p50/p95 of
   ``estimate / exact - 1``, printed and written into ``data/estimator.toml``.

Usage::

    TOKENMETER_VOCAB_DIR=/path/with/o200k python tools/calibrate_estimator.py
    python tools/calibrate_estimator.py --no-write        # report only
    python tools/calibrate_estimator.py --write-sample     # refresh tests/data/corpus/
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import html
import html.parser
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tokenmeter.text import estimate as est  # noqa: E402

TOML_PATH = ROOT / "src" / "tokenmeter" / "data" / "estimator.toml"
SAMPLE_DIR = ROOT / "tests" / "data" / "corpus"
CACHE_DIR = Path("/tmp/tokenmeter-calibration")
CALIBRATIONS = ("qwen2", "llama3", "cl100k_base", "o200k_base", "tekken", "deepseek_v3")

MIN_CHARS = 16
HELD_OUT_BYTE = 77  # first sha256 byte < 77 → held out (77/256 ≈ 30 %)
SAMPLE_BYTES = 140_000  # per language, committed under tests/data/corpus/


@dataclass(frozen=True, slots=True)
class Para:
    """One paragraph of the corpus."""

    lang: str
    source: str
    unit: str  # split key, without the language
    text: str


# ----------------------------------------------------------------------------------------
# Text extraction
# ----------------------------------------------------------------------------------------

_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff00-\uffef"
)
# A whitespace run holding a line break, between two CJK characters: a browser drops it.
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])[ \\t]*\\n\\s*(?=[{_CJK}])")
_WS = re.compile(r"\s+")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _collapse(text: str) -> str:
    return _WS.sub(" ", _CJK_BREAK.sub("", text)).strip()


_BLOCK = {
    "p", "li", "pre", "td", "th", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "div", "blockquote", "table", "tr", "ul", "ol", "dl", "br", "title", "caption",
    "figure", "section", "body", "html", "head", "hr",
}
_SKIP = {"script", "style", "head"}
_SECTION = {"h1", "h2", "h3"}


class _HTMLParagraphs(html.parser.HTMLParser):
    """Paragraphs of an HTML page as a browser would show them, with section numbers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._pre = 0
        self._skip = 0
        self._section = 0

    def _flush(self) -> None:
        raw = "".join(self._buf)
        self._buf = []
        text = raw.strip("\n") if self._pre else _collapse(raw)
        if text.strip():
            self.out.append((self._section, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        if tag in _BLOCK:
            self._flush()
        if tag in _SECTION:
            self._section += 1
        if tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self._flush()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buf.append(data)


def html_paragraphs(path: Path) -> list[tuple[int, str]]:
    """(section number, paragraph) pairs of an HTML file."""
    p = _HTMLParagraphs()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    p.close()
    p._flush()
    return p.out


_ROFF_BREAK = re.compile(r"^\.(PP|P|LP|SH|SS|TP|IP|HP|sp|br|RS|RE|TH|nf|fi|EX|EE|in|ti|TQ)\b")
_ROFF_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_ROFF_ESCAPES = (
    ("\\-", "-"), ("\\(em", "—"), ("\\(en", "–"), ("\\(bu", "•"), ("\\(aq", "'"),
    ("\\(dq", '"'), ("\\(lq", "“"), ("\\(rq", "”"), ("\\(co", "©"), ("\\e", "\\"),
    ("\\&", ""), ("\\,", ""), ("\\/", ""), ("\\ ", " "), ("\\~", " "), ("\\|", ""),
    ("\\^", ""), ("\\c", ""), ("\\(cq", "'"), ("\\(oq", "'"),
)


def _roff_line(line: str) -> str:
    line = _ROFF_FONT.sub("", line)
    for a, b in _ROFF_ESCAPES:
        line = line.replace(a, b)
    return re.sub(r"\\\*\(..|\\\*.|\\\(..", "", line)


def roff_paragraphs(raw: str) -> list[str]:
    """Paragraphs of a man page's roff source: macros dropped, text lines joined."""
    paras: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            text = _collapse("\n".join(buf))
            if text:
                paras.append(text)
            buf.clear()

    for line in raw.splitlines():
        if line.startswith((".\\\"", "'\\\"", '.\\"')):
            continue
        if not line.strip():
            flush()
            continue
        if line.startswith((".", "'")):
            if _ROFF_BREAK.match(line):
                flush()
                # Headings carry text: `.SH NAME`, `.SS "Two words"`.
                m = re.match(r"^\.(SH|SS)\s+(.*)$", line)
                if m:
                    paras.append(_collapse(_roff_line(m.group(2)).replace('"', "")))
                continue
            m = re.match(r"^\.(B|I|BI|IB|BR|RB|IR|RI|SM|SB)\s+(.*)$", line)
            if m:
                buf.append(_roff_line(m.group(2)).replace('"', ""))
            continue
        buf.append(_roff_line(line))
    flush()
    return paras


def dpkg_version(package: str) -> str | None:
    """The installed version of a Debian package, or None."""
    try:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True, text=True, check=False,
        )
    except OSError:
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


def _html_source(source: str, lang: str, files: Sequence[Path], project: str,
                 stem_re: str) -> Iterator[Para]:
    for f in sorted(files):
        stem = re.sub(stem_re, "", f.name)
        for section, text in html_paragraphs(f):
            yield Para(lang, source, f"{project}/{stem}/{section}", text)


def collect() -> tuple[list[Para], dict[str, str]]:
    """Every paragraph of every installed source, and the versions of the sources."""
    versions: dict[str, str] = {}
    paras: list[Para] = []

    def have(pkg: str) -> bool:
        v = dpkg_version(pkg)
        if v is None:
            print(f"  [skip] Debian package {pkg} is not installed", file=sys.stderr)
            return False
        versions[pkg] = v
        return True

    dr = Path("/usr/share/debian-reference")
    if have("debian-reference-en"):
        paras += _html_source("debian-reference-en", "en", list(dr.glob("*.en.html")),
                              "debian-reference", r"\.en\.html$")
    if have("debian-reference-zh-cn"):
        paras += _html_source("debian-reference-zh-cn", "zh", list(dr.glob("*.zh-cn.html")),
                              "debian-reference", r"\.zh-cn\.html$")
    mg = Path("/usr/share/doc/maint-guide/html")
    if have("maint-guide"):
        paras += _html_source("maint-guide", "en", list(mg.glob("*.en.html")),
                              "maint-guide", r"\.en\.html$")
    mgz = Path("/usr/share/doc/maint-guide-zh-cn/html")
    if have("maint-guide-zh-cn"):
        paras += _html_source("maint-guide-zh-cn", "zh", list(mgz.glob("*.zh-cn.html")),
                              "maint-guide", r"\.zh-cn\.html$")
    faq = Path("/usr/share/doc/debian/FAQ")
    if have("debian-faq"):
        paras += _html_source("debian-faq", "en", list(faq.glob("*.en.html")),
                              "debian-faq", r"\.en\.html$")
    if have("debian-faq-zh-cn"):
        paras += _html_source("debian-faq-zh-cn", "zh", list((faq / "zh-cn").glob("*.html")),
                              "debian-faq", r"\.zh-cn\.html$")
    for pkg, lang in (("debian-edu-doc-en", "en"), ("debian-edu-doc-zh-cn", "zh")):
        f = Path(f"/usr/share/doc/{pkg}/debian-edu-bookworm-manual.html")
        if have(pkg) and f.is_file():
            paras += _html_source(pkg, lang, [f], "debian-edu-bookworm", r"\.html$")
    if have("manpages-zh"):
        for f in sorted(Path("/usr/share/man/zh_CN").glob("man*/*.gz")):
            raw = gzip.decompress(f.read_bytes()).decode("utf-8", errors="replace")
            for text in roff_paragraphs(raw):
                paras.append(Para("zh", "manpages-zh", f"manpages/{f.name}", text))
    if have("fortunes-zh"):
        for name in ("chinese", "tang300", "song100"):
            f = Path("/usr/share/games/fortunes") / name
            raw = _ANSI.sub("", f.read_text(encoding="utf-8", errors="replace"))
            for i, fortune in enumerate(raw.split("\n%\n")):
                text = fortune.strip("\n")
                if text.strip():
                    paras.append(Para("zh", "fortunes-zh", f"fortunes/{name}/{i}", text))
    # Other scripts, so the coefficients of classes that English and Chinese rarely use
    # (kana, hangul, Cyrillic, Greek, accented Latin, traditional Han, emoji) are measured
    # rather than guessed. They get a smaller weight and are reported separately.
    for pkg, path, pattern, stem_re in (
        ("debian-reference-ja", dr, "*.ja.html", r"\.ja\.html$"),
        ("debian-reference-de", dr, "*.de.html", r"\.de\.html$"),
        ("debian-reference-fr", dr, "*.fr.html", r"\.fr\.html$"),
        ("debian-reference-zh-tw", dr, "*.zh-tw.html", r"\.zh-tw\.html$"),
        ("debian-faq-ru", faq / "ru", "*.html", r"\.ru\.html$"),
        ("debian-faq-ko", faq / "ko", "*.html", r"\.ko\.html$"),
        ("maint-guide-vi", Path("/usr/share/doc/maint-guide-vi/html"), "*.vi.html",
         r"\.vi\.html$"),
    ):
        if have(pkg):
            project = pkg.rsplit("-", 1)[0] if not pkg.endswith("zh-tw") else "debian-reference"
            paras += _html_source(pkg, "other", list(path.glob(pattern)), project, stem_re)
    if have("manpages-el"):
        for f in sorted(Path("/usr/share/man/el").glob("man*/*.gz")):
            raw = gzip.decompress(f.read_bytes()).decode("utf-8", errors="replace")
            for text in roff_paragraphs(raw):
                paras.append(Para("other", "manpages-el", f"manpages/{f.name}", text))
    emoji = Path("/usr/share/rime-data/opencc/emoji_word.txt")
    if have("rime-data-emoji") and emoji.is_file():
        # "word<TAB>word emoji…" lines; the second column is the text, 16 lines a paragraph.
        lines = [ln.split("\t", 1)[1] for ln in emoji.read_text(encoding="utf-8").splitlines()
                 if "\t" in ln]
        for i in range(0, len(lines), 16):
            paras.append(Para("other", "rime-data-emoji", f"emoji/{i // 64}",
                              "\n".join(lines[i:i + 16])))

    from pydoc_data.topics import topics  # CPython's own reference text

    versions["python-pydoc-topics"] = f"CPython {sys.version.split()[0]}"
    for key in sorted(topics):
        for i, block in enumerate(re.split(r"\n\s*\n", topics[key])):
            text = block.strip("\n")
            if text.strip():
                paras.append(Para("en", "python-pydoc-topics", f"pydoc/{key}/{i // 8}", text))

    seen: set[str] = set()
    kept: list[Para] = []
    for p in paras:
        if len(p.text.strip()) < MIN_CHARS or p.text in seen:
            continue
        seen.add(p.text)
        kept.append(p)
    return kept, versions


HAN_TOP = 300


def frequent_han(texts: Sequence[str], lang: np.ndarray, train: np.ndarray) -> str:
    """The HAN_TOP most frequent ideographs of the Chinese training paragraphs.

    Ties go to the lower code point; the result is sorted by code point.
    """
    cps = np.concatenate([
        np.frombuffer(t.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        for t, code, tr in zip(texts, lang, train, strict=True) if code == 1 and tr
    ])
    cps = cps[(cps >= 0x4E00) & (cps < 0xA000)]
    counts = np.bincount(cps - 0x4E00, minlength=0xA000 - 0x4E00)
    order = np.lexsort((np.arange(len(counts)), -counts))[:HAN_TOP]
    return "".join(chr(0x4E00 + int(i)) for i in np.sort(order))


def held_out(unit: str) -> bool:
    """Whether a unit is in the held-out split (deterministic, by hash)."""
    return hashlib.sha256(unit.encode("utf-8")).digest()[0] < HELD_OUT_BYTE


# ----------------------------------------------------------------------------------------
# Exact targets (cached: they only depend on the corpus and the vocabulary)
# ----------------------------------------------------------------------------------------


def _tokenizer(name: str) -> Any:
    """The exact catalog tokenizer ``name``, or None if its vocabulary is not installed."""
    from tokenmeter.text import get_tokenizer, vocabulary_available

    return get_tokenizer(name) if vocabulary_available(name) else None


def exact_counts(name: str, texts: Sequence[str]) -> np.ndarray | None:
    """Exact counts of ``texts`` under tokenizer ``name``, or None if not installed."""
    tok = _tokenizer(name)
    if tok is None:
        print(f"  [skip] vocabulary {name!r} is not installed", file=sys.stderr)
        return None
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    cache = CACHE_DIR / f"{name}-{digest[:16]}.npy"
    if cache.is_file():
        return np.load(cache)
    t0 = time.perf_counter()
    out = np.asarray([tok.count(t) for t in texts], dtype=np.int64)
    print(f"  exact {name}: {len(texts)} paragraphs in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cache, out)
    return out


# ----------------------------------------------------------------------------------------
# Fit
# ----------------------------------------------------------------------------------------


def nnls(a: np.ndarray, b: np.ndarray, free: Sequence[int] = (),
         max_iter: int = 2000) -> np.ndarray:
    """Least squares ``min |a x - b|`` with ``x >= 0`` except the ``free`` columns.

    Lawson & Hanson's active-set method (the algorithm behind ``scipy.optimize.nnls``),
    written out so the tool needs numpy only. Free columns never enter the active set.
    """
    n = a.shape[1]
    free_set = set(free)
    passive = np.zeros(n, dtype=bool)
    passive[list(free_set)] = True
    x = np.zeros(n)

    def solve(mask: np.ndarray) -> np.ndarray:
        z = np.zeros(n)
        if mask.any():
            z[mask] = np.linalg.lstsq(a[:, mask], b, rcond=None)[0]
        return z

    x = solve(passive)
    bounded = np.array([i not in free_set for i in range(n)])
    for _ in range(max_iter):
        w = a.T @ (b - a @ x)
        cand = (~passive) & bounded & (w > 1e-10 * max(1.0, float(np.abs(w).max())))
        if not cand.any():
            break
        passive[int(np.argmax(np.where(cand, w, -np.inf)))] = True
        while True:
            z = solve(passive)
            bad = passive & bounded & (z <= 0)
            if not bad.any():
                x = z
                break
            ratio = np.where(bad, x / np.maximum(x - z, 1e-300), np.inf)
            alpha = float(np.min(ratio))
            x = x + alpha * (z - x)
            passive &= ~(bounded & (x <= 1e-12))
            x[~passive] = 0.0
    return x


@dataclass
class Fit:
    """Coefficients and the measured errors of one calibration."""

    coef: np.ndarray
    errors: dict[str, dict[str, float]]


def errors_of(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Aggregate and per-paragraph errors of integer estimates ``pred`` against ``y``."""
    rel = pred / y - 1.0
    big = rel[y >= 50] if (y >= 50).any() else rel
    return {
        "aggregate": float(pred.sum() / y.sum() - 1.0),
        "p5": float(np.percentile(rel, 5)),
        "p50": float(np.percentile(rel, 50)),
        "p95": float(np.percentile(rel, 95)),
        "mean_abs": float(np.mean(np.abs(rel))),
        "p5_ge50": float(np.percentile(big, 5)),
        "p95_ge50": float(np.percentile(big, 95)),
        "paragraphs": float(len(y)),
        "tokens": float(y.sum()),
    }


LANGS = ("en", "zh", "other")
# Relative weight of each group in the fit; "other" only has to keep rare classes sane.
GROUP_WEIGHT = {0: 1.0, 1: 1.0, 2: 0.3}


def fit_one(x: np.ndarray, y: np.ndarray, lang: np.ndarray, train: np.ndarray,
            source: np.ndarray, pin: float = 30.0, bias: int | None = None) -> np.ndarray:
    """Weighted NNLS on the training rows, English and Chinese totals pinned."""
    xt, yt, lt = x[train], y[train].astype(np.float64), lang[train]
    w = 1.0 / np.sqrt(np.maximum(yt, 1.0))
    st = source[train]
    for src in np.unique(st):
        # Equal weight per source first, so one big package (manpages-zh is 60 % of the
        # Chinese tokens) does not decide alone what "Chinese" looks like.
        sel = st == src
        w[sel] *= 1.0 / np.sqrt(np.sum((w[sel] * yt[sel]) ** 2))
    for code in np.unique(lt):
        sel = lt == code
        # Equal total weight per language, whatever its size.
        w[sel] *= np.sqrt(GROUP_WEIGHT[int(code)] / np.sum((w[sel] * yt[sel]) ** 2))
    a = xt * w[:, None]
    b = yt * w
    rows_a = [a]
    rows_b = [b]
    for code in (0, 1):
        sel = lt == code
        s = pin / yt[sel].sum()
        rows_a.append((xt[sel].sum(axis=0) * s)[None, :])
        rows_b.append(np.array([yt[sel].sum() * s]))
    a2 = np.vstack(rows_a)
    b2 = np.concatenate(rows_b)
    # Scale columns so the active-set tolerances mean the same for every feature.
    scale = np.maximum(np.abs(a2).max(axis=0), 1e-12)
    free = [est.FEATURES.index("bias") if bias is None else bias]
    coef = nnls(a2 / scale, b2, free=free) / scale
    return coef


def han_ext_cost(name: str) -> float:
    """Mean extra tokens of one astral ideograph (CJK ext. B-H) inside common Chinese.

    Measured as ``count("中文" + ch + "中文") - count("中文中文")`` over every 16th code point
    of U+20000..U+323AF that Python knows as a letter (so unassigned code points are not
    included), with the exact tokenizer.
    """
    tok = _tokenizer(name)
    base = tok.count("中文中文")
    chars = [chr(cp) for cp in range(0x20000, 0x323B0, 16) if chr(cp).isalpha()]
    return float(np.mean([tok.count(f"中文{ch}中文") - base for ch in chars]))


def predict(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Integer estimates exactly as the library computes them."""
    q = est.quantize(coef)
    return est.combine(x, q)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-write", action="store_true", help="report only")
    ap.add_argument("--write-sample", action="store_true",
                    help="rewrite the held-out sample under tests/data/corpus/")
    ap.add_argument("--only", nargs="*", default=None,
                    help="calibrations to fit (report only: the table is written whole)")
    args = ap.parse_args(argv)
    if args.only and not args.no_write:
        ap.error("--only needs --no-write: estimator.toml is always written whole")

    paras, versions = collect()
    texts = [p.text for p in paras]
    lang = np.array([LANGS.index(p.lang) for p in paras])
    test = np.array([held_out(p.unit) for p in paras])
    train = ~test
    print(f"corpus: {len(paras)} paragraphs, held out {int(test.sum())}; chars: " + ", ".join(
        f"{ln} {sum(len(t) for t, c in zip(texts, lang, strict=True) if c == i):,}"
        for i, ln in enumerate(LANGS)))
    for src in sorted({p.source for p in paras}):
        sel = [i for i, p in enumerate(paras) if p.source == src]
        print(f"  {src:24s} {len(sel):6d} paragraphs {sum(len(texts[i]) for i in sel):>10,} chars"
              f"  held out {int(test[sel].sum()):5d}")
    source = np.array([p.source for p in paras])
    han_top = frequent_han(texts, lang, train)
    x = est.features_matrix(texts, han_top=han_top).astype(np.float64)

    fits: dict[str, Fit] = {}
    for name in args.only or CALIBRATIONS:
        y = exact_counts(name, texts)
        if y is None:
            continue
        coef = fit_one(x, y, lang, train, source)
        # No paragraph of the corpus has an astral ideograph: their cost is measured on
        # the vocabulary itself (see han_ext_cost), a column the fit left at zero.
        coef[est.FEATURES.index("han_ext")] = han_ext_cost(name)
        pred = predict(x, coef)
        errs: dict[str, dict[str, float]] = {}
        for split_name, split in (("train", train), ("held_out", test)):
            for code, lname in enumerate(LANGS):
                sel = split & (lang == code)
                errs[f"{split_name}_{lname}"] = errors_of(pred[sel], y[sel])
        for src in sorted({p.source for p in paras}):
            sel = test & np.array([p.source == src for p in paras])
            if sel.any():
                errs[f"held_out_source_{src}"] = errors_of(pred[sel], y[sel])
        fits[name] = Fit(coef, errs)
        print(f"\n{name}")
        for k, e in errs.items():
            print(f"  {k:40s} agg {e['aggregate']:+7.2%}  p5 {e['p5']:+7.1%}  "
                  f"p50 {e['p50']:+7.1%}  p95 {e['p95']:+7.1%}  n={int(e['paragraphs'])}")
        print("  coef: " + ", ".join(f"{f}={c:.4g}" for f, c in zip(est.FEATURES, coef,
                                                                     strict=True) if c))
    missing = [n for n in CALIBRATIONS if n not in fits]
    if not args.no_write and missing:
        print(f"\nnot writing {TOML_PATH.name}: no vocabulary for {', '.join(missing)} "
              "(put the files in $TOKENMETER_VOCAB_DIR; see docs/text-estimate.md)",
              file=sys.stderr)
        return 1
    if not args.no_write:
        write_toml(fits, versions, paras, test, han_top)
    if args.write_sample:
        write_sample(paras, test, versions)
    return 0


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _round(value: float, places: int = 6) -> str:
    # Fixed decimals: the library quantizes with round(c * 10**6), so six places are exact.
    text = f"{value:.{places}f}"
    return "0.0" if float(text) == 0.0 else text


def write_toml(fits: dict[str, Fit], versions: dict[str, str], paras: Sequence[Para],
               test: np.ndarray, han_top: str) -> None:
    """Write ``data/estimator.toml``: shared class data, per-calibration coefficients and errors."""
    today = _dt.date.today().isoformat()
    lines = [
        "# Text-estimator calibrations. GENERATED by tools/calibrate_estimator.py: do not edit.",
        "# How the estimate works and what the errors mean: docs/text-estimate.md.",
        "schema = 2",
        "",
        f"# The {HAN_TOP} most frequent ideographs of the Chinese training split (class han_top).",
        f"han_top = {_toml_str(han_top)}",
        "",
        "[corpus]",
        "description = " + _toml_str(
            "paragraphs of documentation and texts shipped in Debian packages, and CPython's "
            "pydoc_data/topics.py; none written by this project"),
        "split = " + _toml_str(
            f"a unit (HTML section, man page, fortune, pydoc topic) is held out when the first "
            f"byte of sha256(unit key) < {HELD_OUT_BYTE} (~30 %)"),
        "weighting = " + _toml_str(
            "NNLS (bias free), residuals weighted 1/sqrt(tokens), sources equal within a "
            f"language, en and zh equal, other scripts {GROUP_WEIGHT[2]}, en and zh "
            "training totals pinned"),
        f"min_chars = {MIN_CHARS}",
    ]
    for i, ln in enumerate(LANGS):
        sel = [p for p in paras if p.lang == ln]
        held = sum(1 for p, t in zip(paras, test, strict=True) if p.lang == ln and t)
        lines.append(f"{ln.replace('-', '_')} = {{ paragraphs = {len(sel)}, held_out = {held}, "
                     f"chars = {sum(len(p.text) for p in sel)} }}")
        del i
    lines.append("")
    lines.append("[corpus.sources]")
    for pkg in sorted(versions):
        lines.append(f"{_toml_str(pkg)} = {_toml_str(versions[pkg])}")
    for name, fit in fits.items():
        lines += [
            "",
            f"[calibrations.{name}]",
            "source = " + _toml_str(
                "tools/calibrate_estimator.py; corpus in [corpus]; targets: exact "
                f"{name} counts from tokenmeter's exact tokenizers"),
            f"as_of = {_toml_str(today)}",
            "coefficients = { " + ", ".join(
                f"{f} = {_round(c)}" for f, c in zip(est.FEATURES, fit.coef, strict=True)
                if abs(c) >= 5e-7) + " }",
        ]
        for key, e in fit.errors.items():
            if not key.startswith("held_out_") or key.startswith("held_out_source_"):
                continue
            lang_key = key.removeprefix("held_out_")
            lines.append(
                f"held_out.{lang_key} = {{ aggregate = {_round(e['aggregate'], 4)}, "
                f"p5 = {_round(e['p5'], 4)}, p50 = {_round(e['p50'], 4)}, "
                f"p95 = {_round(e['p95'], 4)}, p5_ge50 = {_round(e['p5_ge50'], 4)}, "
                f"p95_ge50 = {_round(e['p95_ge50'], 4)}, "
                f"paragraphs = {int(e['paragraphs'])}, tokens = {int(e['tokens'])} }}")
    TOML_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwrote {TOML_PATH.relative_to(ROOT)}")


def write_sample(paras: Sequence[Para], test: np.ndarray, versions: dict[str, str]) -> None:
    """Write a uniform sample of held-out en/zh paragraphs (by text hash) for CI."""
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    for ln in ("en", "zh"):
        pool = [p for p, t in zip(paras, test, strict=True) if t and p.lang == ln]
        pool.sort(key=lambda p: hashlib.sha256(p.text.encode("utf-8")).hexdigest())
        size = 0
        rows = []
        for p in pool:
            line = json.dumps({"source": p.source, "unit": p.unit, "text": p.text},
                              ensure_ascii=False)
            if size + len(line.encode("utf-8")) + 1 > SAMPLE_BYTES:
                continue
            size += len(line.encode("utf-8")) + 1
            rows.append(line)
        (SAMPLE_DIR / f"{ln}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"wrote {len(rows)} paragraphs, {size:,} bytes to tests/data/corpus/{ln}.jsonl")
    meta = {k: versions[k] for k in sorted(versions)}
    (SAMPLE_DIR / "versions.json").write_text(json.dumps(meta, indent=1) + "\n",
                                              encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
