"""Whole requests: ``tm.count_request`` against LiteLLM's ``token_counter``, same request.

The typical request is a Chat Completions body with a system prompt, a question and three
photos given as data URLs (JPEG, 1920x1080, 1280x960 and 3024x4032, a few hundred KB
each, as phones and screenshots produce them), ``detail: auto``. Both libraries count it on
``gpt-4o`` (``gpt-4-turbo`` when the o200k vocabulary is not installed), in the same
process, best of several rounds; the ratio is printed.

LiteLLM is optional: install it only in a benchmark environment, e.g.::

    python -m venv /work/benchvenv
    /work/benchvenv/bin/pip install litellm -e '/work/main[all]'
    LITELLM_LOCAL_MODEL_COST_MAP=True /work/benchvenv/bin/python benchmarks/bench_requests.py

``LITELLM_LOCAL_MODEL_COST_MAP=True`` keeps it from fetching its price map; the script
sets it, and skips LiteLLM cleanly when it is not installed. Extra rows time tokenmeter on
the other shapes (DashScope/Qwen-VL, Anthropic, Gemini), which LiteLLM's token_counter
does not count (Anthropic image blocks are rejected, video_url raises).

Run: ``python benchmarks/bench_requests.py [--rounds 5] [--seconds 1.0]``.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import tokenmeter as tm
from tokenmeter.text import vocabulary_available


def photo(size: tuple[int, int], seed: int) -> bytes:
    """A JPEG with photo-like content (smooth noise), so its size is realistic."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    fine = rng.integers(-12, 13, (h, w, 3))
    arr = np.clip(np.asarray(im, dtype=np.int16) + fine, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=85)
    return buf.getvalue()


SIZES = [(1920, 1080), (1280, 960), (3024, 4032)]


def openai_request(images: list[bytes]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "Compare these three photos and list what differs."}]
    for data in images:
        content.append({"type": "image_url", "image_url": {
            "url": "data:image/jpeg;base64," + base64.b64encode(data).decode(),
            "detail": "auto"}})
    return {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "You are a meticulous visual inspector."},
        {"role": "user", "content": content}]}


def other_shapes(images: list[bytes]) -> dict[str, tuple[str, dict[str, Any]]]:
    b64 = [base64.b64encode(d).decode() for d in images]
    question = "Compare these three photos and list what differs."
    return {
        "dashscope": ("qwen2.5-vl-72b-instruct", {"model": "qwen-vl-max", "input": {"messages": [
            {"role": "user", "content": [*({"image": "data:image/jpeg;base64," + s}
                                          for s in b64), {"text": question}]}]}}),
        "anthropic": ("claude-sonnet-4-5", {"system": "You are a meticulous visual inspector.",
                                            "messages": [{"role": "user", "content": [
            *({"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                           "data": s}} for s in b64),
            {"type": "text", "text": question}]}]}),
        "gemini": ("gemini-2.5-flash", {"contents": [{"parts": [
            *({"inlineData": {"mimeType": "image/jpeg", "data": s}} for s in b64),
            {"text": question}]}]}),
    }


def rates(fns: dict[str, Callable[[], Any]], seconds: float, rounds: int) -> dict[str, float]:
    """Best calls/s of each function; the rounds alternate between the functions, so a
    burst of load on a shared machine hits all of them alike."""
    for fn in fns.values():
        fn()  # warm: tokenizers, plugins, caches
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            n = 0
            t0 = time.perf_counter()
            while True:
                fn()
                n += 1
                dt = time.perf_counter() - t0
                if dt >= seconds:
                    break
            best[name] = max(best[name], n / dt)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()

    images = [photo(s, i) for i, s in enumerate(SIZES)]
    body = openai_request(images)
    model = "gpt-4o" if vocabulary_available("o200k_base") else "gpt-4-turbo"
    payload = sum(len(p["image_url"]["url"]) for p in body["messages"][1]["content"][1:])
    print(f"request: 3 JPEG data URLs ({', '.join(f'{w}x{h}' for w, h in SIZES)}), "
          f"{payload / 1e6:.2f} MB of base64; model {model}")

    usage = tm.count_request(model, body)
    fns: dict[str, Callable[[], Any]] = {
        "tokenmeter": lambda: tm.count_request(model, body),
        # Without the full alphabet scan only the header blocks are decoded and checked,
        # as LiteLLM reads only the header.
        "quick": lambda: tm.count_request(model, body, check_base64=False),
    }
    try:
        import litellm
    except ImportError:
        litellm = None
    else:
        theirs_count = litellm.token_counter(model=model, messages=body["messages"])
        fns["litellm"] = lambda: litellm.token_counter(model=model, messages=body["messages"])
    shapes = other_shapes(images)
    for shape, (mid, req) in shapes.items():
        fns[shape] = lambda mid=mid, req=req: tm.count_request(mid, req)
    r = rates(fns, args.seconds, args.rounds)

    ours, quick = r["tokenmeter"], r["quick"]
    print(f"{'tokenmeter count_request':34} {ours:10.1f} req/s   {1e3 / ours:7.3f} ms/req   "
          f"input tokens {usage.input_tokens} (image {usage.image}, exact={usage.exact})")
    print(f"{'  ... check_base64=False':34} {quick:10.1f} req/s   {1e3 / quick:7.3f} ms/req")
    if litellm is None:
        print(f"{'litellm token_counter':34} {'skipped':>10}   (litellm is not installed; see "
              "the module docstring)")
    else:
        theirs = r["litellm"]
        print(f"{'litellm token_counter':34} {theirs:10.1f} req/s   {1e3 / theirs:7.3f} ms/req   "
              f"input tokens {theirs_count}")
        print(f"ratio (tokenmeter / litellm): {ours / theirs:.2f}x with the full base64 check, "
              f"{quick / theirs:.2f}x with check_base64=False")
    for shape, (mid, req) in shapes.items():
        u = tm.count_request(mid, req)
        name = f"tokenmeter {shape} ({mid})"
        print(f"{name:34} {r[shape]:10.1f} req/s   {1e3 / r[shape]:7.3f} ms/req   "
              f"input tokens {u.input_tokens} (image {u.image})")


if __name__ == "__main__":
    main()
