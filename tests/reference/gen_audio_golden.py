"""Golden audio token counts, produced by calling the reference processors themselves.

Run in the reference venv (torch, transformers 5.24, librosa); CI only reads the JSON::

    /work/refvenv/bin/python tests/reference/gen_audio_golden.py

Writes ``tests/golden/audio/``:

* ``qwen2_audio.json``   Qwen2AudioProcessor (chunk_length 30): ``<|AUDIO|>`` ids and
  wrapper ids in ``input_ids`` for clips of ``samples`` zeros at 16 kHz.
* ``qwen2_5_omni.json``  Qwen2_5OmniProcessor (hub chunk_length 300), the same way.
* ``qwen3_omni.json``    Qwen3OmniMoeProcessor (its own audio_kwargs: padding=True,
  truncation=False); ``error`` = 1 where the processor raises.
* ``qwen3_omni_max_length.json``  the Whisper feature extractor with its defaults
  (padding="max_length", chunk_length 300) and the module's
  ``_get_feat_extract_output_lengths``.
* ``whisper.json``       WhisperFeatureExtractor padded to a multiple of the 30 s window,
  then ``WhisperPreTrainedModel._get_feat_extract_output_lengths`` (conv stride 2).
* ``resample.json``      ``len(librosa.resample(zeros(n), orig_sr=sr, target_sr=16000))``.
* ``vendor_examples.json`` numbers printed in the vendors' docs (Gemini, OpenAI realtime).

Speed: the log-mel features do not affect any count (the counts come from the attention
mask), so where the extractor pads to a whole window (Qwen2-Audio, Qwen2.5-Omni, the
max_length variant, Whisper) the STFT is replaced by zeros of the same shape;
``--check-unpatched N`` re-runs N cases with the real STFT and asserts equality.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _refenv
import numpy as np

SR = 16_000
OPENAI_RT = "https://platform.openai.com/docs/guides/realtime-costs"


def sample_counts(seed: int, window_s: int, n_random: int) -> list[int]:
    """Every count 0..400, the 160-sample hop edges, window edges, and random clips."""
    r = _refenv.rng(seed)
    s: set[int] = set(range(0, 401))
    for k in range(1, 60):
        s.update({160 * k - 1, 160 * k, 160 * k + 1, 320 * k + 160})
    w = window_s * SR
    for k in (1, 2):
        s.update(w * k + d for d in (-161, -160, -1, 0, 1, 159, 160, 161))
    s.update(r.randrange(1, 3 * SR) for _ in range(n_random // 2))
    s.update(r.randrange(1, w + 10 * SR) for _ in range(n_random // 2))
    return sorted(x for x in s if x >= 0)


def fake_fbank(fe):  # type: ignore[no-untyped-def]
    """Replace the STFT by zeros of the shape it would have (hop 160, last frame dropped)."""

    def extract(waveform_batch, device="cpu"):  # type: ignore[no-untyped-def]
        n = waveform_batch.shape[-1]
        return np.zeros((waveform_batch.shape[0], fe.feature_size, n // fe.hop_length),
                        dtype=np.float32)

    fe._torch_extract_fbank_features = extract
    fe._np_extract_fbank_features = extract


def count_ids(processor, tok, samples: list[int], batch: int = 32):  # type: ignore[no-untyped-def]
    """(placeholders, wrappers, error) per clip, from the processor's input_ids."""
    aid = tok.convert_tokens_to_ids("<|AUDIO|>")
    wids = {tok.convert_tokens_to_ids("<|audio_bos|>"), tok.convert_tokens_to_ids("<|audio_eos|>")}
    text = "<|audio_bos|><|AUDIO|><|audio_eos|>"
    ph, wr, err = [], [], []
    for s in samples:  # one clip per call: Qwen3-Omni pads to the longest clip of a batch
        try:
            out = processor(text=[text], audio=[np.zeros(s, dtype=np.float32)],
                            sampling_rate=SR)
        except Exception:  # the reference refuses this clip
            ph.append(0)
            wr.append(0)
            err.append(1)
            continue
        ids = list(out["input_ids"][0])
        ph.append(sum(1 for i in ids if i == aid))
        wr.append(sum(1 for i in ids if i in wids))
        err.append(0)
    return ph, wr, err


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=600)
    ap.add_argument("--check-unpatched", type=int, default=40)
    args = ap.parse_args()

    import librosa
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_5_omni import Qwen2_5OmniProcessor
    from transformers.models.qwen2_audio import Qwen2AudioProcessor
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor
    from transformers.models.qwen3_omni_moe import Qwen3OmniMoeProcessor
    from transformers.models.qwen3_omni_moe import processing_qwen3_omni_moe as q3mod
    from transformers.models.qwen3_vl import Qwen3VLVideoProcessor
    from transformers.models.whisper.modeling_whisper import WhisperPreTrainedModel

    tok = _refenv.tiny_tokenizer()

    # Hub preprocessor_config.json values: feature_size 128 (Qwen2-Audio, Omni), chunk_length
    # 30 (Qwen2-Audio) / 300 (Qwen2.5-Omni, Qwen3-Omni), hop 160, n_fft 400, 16 kHz.
    def fe(chunk: int, patched: bool) -> WhisperFeatureExtractor:
        f = WhisperFeatureExtractor(feature_size=128, chunk_length=chunk, hop_length=160,
                                    n_fft=400, sampling_rate=SR)
        if patched:
            fake_fbank(f)
        return f

    def build(name: str, patched: bool):  # type: ignore[no-untyped-def]
        if name == "qwen2_audio":
            return Qwen2AudioProcessor(feature_extractor=fe(30, patched), tokenizer=tok)
        if name == "qwen2_5_omni":
            return Qwen2_5OmniProcessor(image_processor=Qwen2VLImageProcessor(),
                                        video_processor=Qwen2VLVideoProcessor(),
                                        feature_extractor=fe(300, patched), tokenizer=tok)
        return Qwen3OmniMoeProcessor(image_processor=Qwen2VLImageProcessor(),
                                     video_processor=Qwen3VLVideoProcessor(),
                                     feature_extractor=fe(300, patched), tokenizer=tok)

    sources = {
        "qwen2_audio": "transformers Qwen2AudioProcessor (WhisperFeatureExtractor "
                       "chunk_length 30)",
        "qwen2_5_omni": "transformers Qwen2_5OmniProcessor (WhisperFeatureExtractor "
                        "chunk_length 300)",
        "qwen3_omni": "transformers Qwen3OmniMoeProcessor (audio_kwargs padding=True, "
                      "truncation=False)",
    }
    windows = {"qwen2_audio": 30, "qwen2_5_omni": 300, "qwen3_omni": 300}
    for seed, name in enumerate(sources):
        samples = sample_counts(seed, windows[name], args.random)
        # Qwen3-Omni does not pad to a window, so its real STFT is cheap (and its failures
        # on very short clips are part of the reference): run it unpatched.
        proc = build(name, patched=name != "qwen3_omni")
        ph, wr, err = count_ids(proc, tok, samples)
        # The patched STFT must not change a single count.
        real = build(name, patched=False)
        pick = _refenv.rng(100 + seed).sample(range(len(samples)), args.check_unpatched)
        pick += [i for i, s in enumerate(samples) if s in (0, 1, 16, 200, 201, 1000)]
        for i in pick:
            p2, w2, e2 = count_ids(real, tok, [samples[i]])
            assert (p2[0], w2[0], e2[0]) == (ph[i], wr[i], err[i]), (name, samples[i])
        _refenv.write("audio", name, {"reference": sources[name], "sample_rate": SR},
                      {"samples": samples, "placeholders": ph, "wrappers": wr, "error": err})

    # Qwen3-Omni with the feature extractor's own defaults (max_length, truncation at 300 s).
    samples = sample_counts(7, 300, args.random)
    f = fe(300, patched=True)
    toks = []
    for s in samples:
        out = f(np.zeros(s, dtype=np.float32), sampling_rate=SR, return_attention_mask=True)
        mel = int(np.asarray(out["attention_mask"]).sum())
        toks.append(int(q3mod._get_feat_extract_output_lengths(np.int64(mel), 50)))
    _refenv.write("audio", "qwen3_omni_max_length",
                  {"reference": "WhisperFeatureExtractor defaults (padding max_length, "
                                "chunk_length 300) + processing_qwen3_omni_moe."
                                "_get_feat_extract_output_lengths"},
                  {"samples": samples, "placeholders": toks})

    # Whisper: padded to whole 30 s windows, then the encoder's conv (stride 2).
    r = _refenv.rng(11)
    w = 30 * SR
    samples = sorted({1, 2, 160, 161, *(w * k + d for k in (1, 2, 3) for d in (-1, 0, 1)),
                      *(r.randrange(1, 4 * w) for _ in range(300))})
    fw = WhisperFeatureExtractor(feature_size=128, chunk_length=30, sampling_rate=SR)
    fake_fbank(fw)
    positions = []
    for s in samples:
        out = fw(np.zeros(s, dtype=np.float32), sampling_rate=SR, padding="longest",
                 truncation=False, pad_to_multiple_of=w, return_tensors="np")
        frames = out["input_features"].shape[-1]
        positions.append(int(WhisperPreTrainedModel._get_feat_extract_output_lengths(
            None, torch_long(frames))))
    _refenv.write("audio", "whisper",
                  {"reference": "WhisperFeatureExtractor(padding='longest', truncation=False, "
                                "pad_to_multiple_of=480000) + WhisperPreTrainedModel."
                                "_get_feat_extract_output_lengths"},
                  {"samples": samples, "positions": positions})

    # librosa's resampled length (what transformers' load_audio hands the extractor).
    r = _refenv.rng(12)
    rates = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000]
    ns, srs, outs = [], [], []
    for sr in rates:
        cand = {0, 1, 2, 3, sr, sr + 1, sr - 1, 2 * sr, 3 * sr + 7}
        cand.update(r.randrange(1, 5 * sr) for _ in range(60))
        for n in sorted(cand):
            y = librosa.resample(np.zeros(n, dtype=np.float32), orig_sr=sr, target_sr=SR)
            ns.append(n)
            srs.append(sr)
            outs.append(int(y.shape[-1]))
    _refenv.write("audio", "resample",
                  {"reference": "librosa.resample(zeros(n), orig_sr=sr, target_sr=16000) "
                                "(default res_type soxr_hq)"},
                  {"samples": ns, "sample_rate": srs, "resampled": outs})

    # Numbers printed in the vendors' documentation (typed from the pages, not computed).
    _refenv.write(
        "audio", "vendor_examples",
        {"reference": "vendor documentation; each row names its page"},
        {
            "model": ["gemini-2.5-flash", "gemini-2.0-flash", "gemini-3-pro", "gpt-4o",
                      "gpt-4o", "gpt-4o", "gpt-4o"],
            "seconds": [1, 60, 1, 60, 60, 0.1, 0.05],
            "direction": ["input", "input", "input", "input", "output", "input", "output"],
            "tokens": [32, 1920, 32, 600, 1200, 1, 1],
            "source": [
                "https://ai.google.dev/gemini-api/docs/audio (each second of audio is 32 tokens)",
                "https://ai.google.dev/gemini-api/docs/tokens (audio: 32 tokens per second)",
                "https://ai.google.dev/gemini-api/docs/media-resolution (audio 32 tokens/s)",
                f"{OPENAI_RT} (user audio 1 token/100 ms)",
                f"{OPENAI_RT} (assistant audio 1 token/50 ms)",
                f"{OPENAI_RT} (1 token per 100 ms)",
                f"{OPENAI_RT} (1 token per 50 ms)",
            ],
        },
    )


def torch_long(n: int):  # type: ignore[no-untyped-def]
    import torch

    return torch.tensor(n, dtype=torch.long)


if __name__ == "__main__":
    main()
