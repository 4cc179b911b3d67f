"""Plot tokens against duration for the main video and audio models.

Run from the repository root (needs matplotlib; not a runtime dependency)::

    python docs/scripts/plot_video_audio.py

Writes ``docs/img/video_tokens_vs_duration.png`` and ``docs/img/audio_tokens_vs_duration.png``.
Every point is a tokenmeter count (``video_tokens`` / ``audio_tokens``), the same numbers
the golden tests check against the reference code.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tokenmeter as tm

OUT = Path(__file__).resolve().parent.parent / "img"


def video() -> None:
    secs = np.linspace(1, 600, 600)
    n = len(secs)
    series = [
        ("Qwen2.5-VL, transformers (LLM tokens)", "qwen2.5-vl-72b-instruct", None, {}),
        ("Qwen2.5-VL, qwen-vl-utils", "qwen2.5-vl-72b-instruct", "qwen-vl-utils", {}),
        ("Qwen2.5-VL, vLLM (32 frames)", "qwen2.5-vl-72b-instruct", "vllm", {}),
        ("Qwen3-VL, transformers", "qwen3-vl-8b-instruct", None, {}),
        ("Qwen3-VL, qwen-vl-utils", "qwen3-vl-8b-instruct", "qwen-vl-utils", {}),
        ("Gemini 2.5 (258/frame + 32/s)", "gemini-2.5-flash", None, {}),
        ("Gemini 3 (70/frame + 32/s)", "gemini-3-pro", None, {}),
        ("InternVL2.5 (8 frames)", "internvl2.5-78b", None, {}),
    ]
    fig, ax = plt.subplots(figsize=(10, 6))
    for label, model, profile, opts in series:
        m = tm.get_model(model, profile=profile)
        t = m.video_tokens(np.full(n, 1280), np.full(n, 720), secs, 30.0, **opts)
        ax.plot(secs, t, label=label)
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    patches = [m.count_video(1280, 720, float(s), 30.0).encoder_patches for s in secs]
    ax.plot(secs, patches, "--", color="grey",
            label="Qwen2.5-VL encoder patches (before 2x2 merge)")
    wan = tm.get_model("wan2.1-t2v").video_tokens(np.full(n, 1280), np.full(n, 720), secs[:],
                                                  None)
    ax.plot(secs, wan, ":", color="black", label="Wan 2.1 DiT latent tokens (generation)")
    ax.set_yscale("log")
    ax.set_xlabel("duration of a 1280x720, 30 fps video (s)")
    ax.set_ylabel("tokens (log scale)")
    ax.set_title("Video tokens against duration (tokens = LLM context unless labelled)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / "video_tokens_vs_duration.png", dpi=110)


def audio() -> None:
    secs = np.linspace(0, 900, 901)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for label, model, profile, opts in [
        ("Qwen2-Audio (30 s window, truncates)", "qwen2-audio-7b-instruct", None, {}),
        ("Qwen2.5-Omni (300 s window)", "qwen2.5-omni-7b", None, {}),
        ("Qwen3-Omni (13/s, no truncation)", "qwen3-omni", None, {}),
        ("Qwen3-Omni, max-length profile (300 s cap)", "qwen3-omni", "max-length", {}),
        ("Whisper encoder positions (1500 per 30 s)", "whisper-large-v3", None, {}),
        ("Gemini (32/s)", "gemini-2.5-flash", None, {}),
        ("OpenAI realtime, input (10/s)", "gpt-4o", None, {}),
        ("OpenAI realtime, output (20/s)", "gpt-4o", None, {"direction": "output"}),
    ]:
        m = tm.get_model(model, profile=profile)
        s = np.maximum(secs, 0.05)
        ax.plot(s, m.audio_tokens(s, **opts), label=label)
    ax.set_xlabel("audio duration (s)")
    ax.set_ylabel("tokens")
    ax.set_title("Audio tokens against duration")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(OUT / "audio_tokens_vs_duration.png", dpi=110)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    video()
    audio()
    print("wrote", *sorted(p.name for p in OUT.glob("*_tokens_vs_duration.png")))
