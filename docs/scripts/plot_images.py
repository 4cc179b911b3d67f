"""Draw docs/img/images-tokens.png: image tokens against image size, main models side by side.

Run: ``python docs/scripts/plot_images.py`` (needs matplotlib). The curves come from
``Model.image_tokens`` over the sizes on the x axis; solid lines are exact counts (the
model's own processor or the vendor's published reference code), dashed lines estimates.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tokenmeter as tm

OUT = Path(__file__).resolve().parent.parent / "img" / "images-tokens.png"

MODELS = [
    ("qwen2.5-vl-72b-instruct", {}, "Qwen2.5-VL"),
    ("qwen3-vl-8b-instruct", {}, "Qwen3-VL"),
    ("llava-next-7b", {}, "LLaVA-NeXT"),
    ("llava-1.5-7b", {}, "LLaVA-1.5"),
    ("internvl2.5-8b", {}, "InternVL2.5"),
    ("pixtral-12b", {}, "Pixtral-12B"),
    ("mistral-small-3.1-24b-instruct", {}, "Mistral-Small-3.1"),
    ("llama-3.2-11b-vision-instruct", {"profile": "hosted"}, "Llama 3.2 Vision (hosted)"),
    ("gpt-4o", {"detail": "high"}, "GPT-4o (high)"),
    ("gpt-4.1-mini", {}, "GPT-4.1-mini"),
    ("claude-sonnet-4-5", {}, "Claude (standard)"),
    ("claude-opus-4-7", {}, "Claude Opus 4.7 (high-res)"),
    ("gemini-2.5-flash", {}, "Gemini 2.5"),
    ("gemini-3-pro", {}, "Gemini 3 (high)"),
]


def curve(
    model_id: str, opts: dict[str, str], widths: np.ndarray, heights: np.ndarray
) -> tuple[np.ndarray, bool]:
    opts = dict(opts)
    profile = opts.pop("profile", None)
    m = tm.get_model(model_id, profile=profile)
    tokens = m.image_tokens(widths, heights, **opts)
    exact = m.count_image(int(widths[-1]), int(heights[-1]), **opts).exact
    return tokens, exact


def main() -> None:
    widths = np.arange(64, 4097, 8)
    panels = [
        ("16:9 images (width shown)", widths, (widths * 9) // 16),
        ("square images", widths, widths),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.5), sharey=True)
    colors = plt.cm.tab20(np.linspace(0, 1, len(MODELS)))
    for ax, (title, w, h) in zip(axes, panels, strict=True):
        for (mid, opts, label), color in zip(MODELS, colors, strict=True):
            tokens, exact = curve(mid, opts, w, np.maximum(h, 1))
            ax.plot(w, tokens, color=color, lw=1.6, ls="-" if exact else "--", label=label)
        ax.set_title(title)
        ax.set_xlabel("width (px)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("tokens per image (log scale)")
    axes[1].legend(
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=9,
        title="solid: exact, dashed: estimate",
    )
    fig.suptitle("Image tokens by model (tokenmeter; wrappers included)")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
