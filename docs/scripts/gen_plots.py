"""Draw the docs' plots (``python docs/scripts/gen_plots.py``) into ``docs/img/``.

The same code as ``tokenmeter plot`` (:mod:`tokenmeter._plot`), with the models in
``tokenmeter._plot.DOC_MODELS`` priced under the ``vendors-2026-11`` book, so the
pictures in ``docs/plots.md`` are the ones a user gets from the command line:

    tokenmeter plot --kind image -m gpt-4o -m gemini-2.5-flash ... -b vendors-2026-11 --out x.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tokenmeter as tm
from tokenmeter import _plot

OUT = Path(__file__).resolve().parents[1] / "img"
BOOK = "vendors-2026-11"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder for plot-KIND.png")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    book = tm.load_price_book(BOOK)
    for kind, names in _plot.DOC_MODELS.items():
        models = [tm.get_model(n) for n in names]
        data = _plot.series(models, kind, book=book)
        path = _plot.draw(data, args.out / f"plot-{kind}.png")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
