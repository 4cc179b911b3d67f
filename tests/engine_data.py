"""Generated usage rows for the engine tests (Dask, Spark) and the batch benchmark."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: (model, modality, direction) with how each row is described; every one is priced by the
#: vendors-2026-11 book from 2026-08-16 on.
KINDS = (
    ("gpt-4o", "text", "input", "reported"),
    ("gpt-4o", "text", "output", "reported"),
    ("gpt-4o", "image", "input", "image"),
    ("claude-sonnet-4-5", "image", "input", "image"),
    ("claude-sonnet-4-5", "text", "cached", "reported"),
    ("gemini-2.5-flash", "audio", "input", "audio"),
    ("gemini-2.5-flash", "video", "input", "video"),
    ("gemini-2.5-flash", "image", "input", "image"),
    ("whisper-1", "audio", "input", "seconds"),
    ("qwen-plus", "text", "input", "reported"),
)
START_US = 1_793_600_000_000_000  # 2026-11-02 06:13:20 UTC


def usage_table(n: int, seed: int = 0, *, bad: int = 0) -> pa.Table:
    """``n`` usage rows of mixed models and modalities (``bad`` of them invalid)."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, len(KINDS), n)
    model = np.array([k[0] for k in KINDS], dtype=object)[kind]
    modality = np.array([k[1] for k in KINDS], dtype=object)[kind]
    direction = np.array([k[2] for k in KINDS], dtype=object)[kind]
    how = np.array([k[3] for k in KINDS], dtype=object)[kind]
    media = (how == "image") | (how == "video")
    timed = (how == "audio") | (how == "video") | (how == "seconds")
    reported = (how == "reported") | (how == "seconds")
    width = rng.integers(64, 4000, n)
    height = rng.integers(64, 3000, n)
    duration = np.round(rng.uniform(0.5, 120.0, n), 3)
    fps = rng.choice([24.0, 25.0, 30.0], n)
    tokens = rng.integers(0, 200_000, n)
    if bad:
        # invalid rows: a zero width, an unknown model, a negative reported count
        idx = rng.choice(n, size=bad, replace=False)
        width[idx[0::3]] = 0
        media[idx[0::3]] = True
        model[idx[1::3]] = "no-such-model"
        tokens[idx[2::3]] = -5
        reported[idx[2::3]] = True
    return pa.table({
        "event_id": pa.array([f"ev-{seed}-{i}" for i in range(n)]),
        "account": pa.array(np.where(rng.random(n) < 0.5, "acme", "globex").astype(object)),
        "model": pa.array(model, pa.string()),
        "modality": pa.array(modality, pa.string()),
        "direction": pa.array(direction, pa.string()),
        "width": pa.array(width, mask=~media),
        "height": pa.array(height, mask=~media),
        "duration": pa.array(duration, mask=~timed),
        "fps": pa.array(fps, mask=how != "video"),
        "reported_tokens": pa.array(tokens, mask=~reported),
        "timestamp": pa.array(START_US + rng.integers(0, 40 * 86_400, n) * 1_000_000,
                              pa.timestamp("us", tz="UTC")),
    })
