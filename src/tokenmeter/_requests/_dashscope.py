"""DashScope / Qwen-VL bodies, and the qwen-vl-utils / HF processor message format.

``{"model": ..., "input": {"messages": [...]}, "parameters": {...}}`` (the HTTP API), or the
SDK's keyword form ``{"model": ..., "messages": [...]}``. A message's content is a string or
a list of items, each one of ``{"text": ...}``, ``{"image": ref}``, ``{"video": ref}``,
``{"video": [frame refs]}``, ``{"audio": ref}`` (an optional ``"type"`` naming the same key,
as qwen-vl-utils and HF processors write it). A reference is an ``http(s)``/``oss`` URL
(resolved by the caller's resolver), a ``data:`` URL, a ``file://`` URI or a local path.
Per-item options: ``min_pixels``, ``max_pixels``, ``resized_height``/``resized_width``
(images and videos), ``fps``, ``total_pixels``, ``min_frames``, ``max_frames``, ``nframes``,
``video_start``/``video_end`` (videos). ``parameters.vl_high_resolution_images`` raises the
default image cap to 16384 tokens, as Model Studio documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import InvalidInputError
from ..media import ImageInfo, VideoInfo
from ._core import (
    Conversation,
    MediaCounter,
    Message,
    TextItem,
    need_dict,
    need_list,
    need_str,
)
from ._media import quote

__all__ = ["parse_dashscope"]

_IMAGE_OPTS = {"min_pixels": "min_pixels", "max_pixels": "max_pixels"}
_VIDEO_OPTS = {**_IMAGE_OPTS, "total_pixels": "total_pixels", "min_frames": "min_frames",
               "max_frames": "max_frames", "nframes": "nframes"}
_SIZE_KEYS = ("resized_height", "resized_width")
_ITEM_KEYS = {"type", "text", "image", "image_url", "video", "audio", "fps", "video_start",
              "video_end", *_VIDEO_OPTS, *_SIZE_KEYS}
#: Tokens per image with ``vl_high_resolution_images`` (Model Studio vision docs).
HIGH_RES_TOKENS = 16_384


def parse_dashscope(body: Mapping[str, Any], mc: MediaCounter) -> Conversation:
    """A DashScope body (HTTP or SDK form) or a list of qwen-vl-utils messages."""
    conv = Conversation(shape="dashscope")
    inp = body.get("input")
    if isinstance(inp, Mapping):
        msgs, prefix = inp.get("messages"), "input.messages"
    else:
        msgs, prefix = body.get("messages"), "messages"
    params = body.get("parameters")
    params = need_dict(params, "parameters") if params is not None else body
    high_res = bool(params.get("vl_high_resolution_images", False))
    image_defaults: dict[str, Any] = {}
    if high_res:
        rule = mc.require("image", "parameters.vl_high_resolution_images")
        factor = getattr(rule, "patch_size", 0) * getattr(rule, "merge_size", 0)
        if factor and "max_pixels" in rule.options:
            image_defaults["max_pixels"] = HIGH_RES_TOKENS * factor * factor
    for i, m in enumerate(need_list(msgs, prefix)):
        where = f"{prefix}[{i}]"
        m = need_dict(m, where)
        role = need_str(m, "role", where) or ""
        msg = Message(role=role, where=where)
        content = m.get("content")
        if isinstance(content, str):
            msg.items.append(TextItem(content, f"{where}.content"))
            msg.plain = True
        elif content is None:
            msg.plain = True
        else:
            for j, item in enumerate(need_list(content, f"{where}.content")):
                iw = f"{where}.content[{j}]"
                _item(need_dict(item, iw), iw, msg, mc, image_defaults)
        conv.messages.append(msg)
    return conv


def _opts(item: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {rule: item[k] for k, rule in names.items() if k in item}


def _resized(info: Any, item: Mapping[str, Any], iw: str) -> Any:
    """qwen-vl-utils' ``resized_height``/``resized_width``: the media is resized to (about)
    that size before the model's own rounding, so count that size."""
    if not any(k in item for k in _SIZE_KEYS):
        return info
    if not all(k in item for k in _SIZE_KEYS):
        raise InvalidInputError(f"{iw}: give both resized_height and resized_width")
    h, w = item["resized_height"], item["resized_width"]
    for name, v in (("resized_height", h), ("resized_width", w)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise InvalidInputError(f"{iw}.{name} must be a positive int, got {quote(v)}")
    return replace(info, width=w, height=h)


def _item(item: Mapping[str, Any], iw: str, msg: Message, mc: MediaCounter,
          image_defaults: Mapping[str, Any]) -> None:
    unknown = sorted(set(item) - _ITEM_KEYS)
    if unknown:
        raise InvalidInputError(f"{iw}: unknown key(s) {', '.join(unknown)}; an item holds one "
                                "of text, image, video, audio and its options")
    kinds = [k for k in ("text", "image", "image_url", "video", "audio") if k in item]
    if len(kinds) != 1:
        raise InvalidInputError(f"{iw}: an item needs exactly one of text, image, video, audio "
                                f"(got {kinds or 'none'})")
    kind = kinds[0]
    declared = item.get("type")
    if declared is not None and declared != ("image" if kind == "image_url" else kind) and not (
            declared == "image_url" and kind == "image_url"):
        raise InvalidInputError(f"{iw}: type {quote(declared)} does not match its {kind!r} key")
    if kind == "text":
        msg.items.append(TextItem(need_str(item, "text", iw) or "", iw))
        return
    if kind in ("image", "image_url"):
        ref = item[kind]
        if isinstance(ref, Mapping):  # {"image_url": {"url": ...}}
            ref = need_str(ref, "url", f"{iw}.{kind}")
        info = mc.load(ref, where=iw, expect="image", bare_path=True)
        opts = {**image_defaults, **_opts(item, _IMAGE_OPTS)}
        msg.items.append(mc.count(_resized(info, item, iw), where=iw, part_opts=opts))
        return
    if kind == "audio":
        info = mc.load(item["audio"], where=iw, expect="audio", bare_path=True)
        msg.items.append(mc.count(info, where=iw))
        return
    video = item["video"]
    opts = _opts(item, _VIDEO_OPTS)
    fps = item.get("fps")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float))
                            or not fps > 0):
        raise InvalidInputError(f"{iw}.fps must be a positive number, got {quote(fps)}")
    if isinstance(video, (list, tuple)):
        # A video given as its frames (DashScope: taken every 1/fps s; default 2).
        infos = [mc.load(f, where=f"{iw}.video[{k}]", expect="image", bare_path=True)
                 for k, f in enumerate(video)]
        infos = [_resized(x, item, iw) for x in infos]
        msg.items.append(mc.frames(infos, where=iw, fps=float(fps or 2.0), part_opts=opts))
        return
    info = mc.load(video, where=iw, expect="video", bare_path=True)
    if not isinstance(info, VideoInfo):  # pragma: no cover - load() checks the kind
        raise InvalidInputError(f"{iw}: not a video")
    if fps is not None:
        opts["sample_fps"] = fps
    start, end = item.get("video_start"), item.get("video_end")
    if start is not None or end is not None:
        s = float(start or 0.0)
        e = min(float(end), info.duration) if end is not None else info.duration
        if not 0 <= s < e:
            raise InvalidInputError(f"{iw}: the clip [{s}, {e}] s is empty or outside the "
                                    f"{info.duration:g} s video")
        info = replace(info, duration=e - s, frames=max(1, round((e - s) * info.fps)),
                       audio=None if info.audio is None else replace(
                           info.audio, duration=e - s, samples=None))
    if isinstance(info, ImageInfo):  # pragma: no cover - load() checks the kind
        raise InvalidInputError(f"{iw}: not a video")
    msg.items.append(mc.count(_resized(info, item, iw), where=iw, part_opts=opts))
