"""The request-shape-independent middle: a conversation of messages with text and media.

Each vendor parser (``_openai``, ``_anthropic``, ``_gemini``, ``_dashscope``) turns its body
into a :class:`Conversation`; media parts are probed and counted on the way
(:class:`MediaCounter`). :func:`frame` then applies the *model's* chat framing (not the
request shape's: an OpenAI-shaped body sent to Qwen2.5-VL through vLLM is framed as
ChatML) and returns the per-part breakdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .._counts import TokenCount
from ..errors import (
    CatalogError,
    InvalidInputError,
    UnsupportedFormatError,
    UnsupportedModalityError,
)
from ..media import AudioInfo, ImageInfo, MediaInfo, VideoInfo
from ._media import MediaContext, load_media, quote, remote_ref

if TYPE_CHECKING:
    from .._model import Model

__all__ = [
    "Conversation",
    "MediaCounter",
    "MediaItem",
    "Message",
    "TextItem",
    "ToolDef",
]


@dataclass(slots=True)
class TextItem:
    """A piece of text inside a message.

    Attributes:
        text: the text as the model sees it.
        where: its index path in the request.
        kind: ``"text"`` or ``"tools"`` (a rendered tool definition block).
        exact: False when the vendor's serialization of this piece is not public (tool
            calls, tool schemas): its count is then the count of a documented stand-in.
        rule: a rule name to report instead of the tokenizer's.
        call: for a tool call, its (name, arguments), so a template that renders calls
            (Qwen2.5's ``<tool_call>``) can render it exactly.
    """

    text: str
    where: str
    kind: str = "text"
    exact: bool = True
    rule: str = ""
    call: tuple[str, Any] | None = None


@dataclass(slots=True)
class MediaItem:
    """A counted media part.

    Attributes:
        count: its :class:`~tokenmeter.TokenCount`.
        where: its index path in the request.
        kind: ``"image"``, ``"video"``, ``"audio"`` or ``"document"``.
        seconds: its duration (video, audio).
        note: what the request asked for that the count does not apply (an option the
            model's rule does not take, and why); shown in the part's rule, so
            ``Usage.explain()`` prints it, and in ``count.details["note"]``.
    """

    count: TokenCount
    where: str
    kind: str
    seconds: float = 0.0
    note: str = ""


@dataclass(slots=True)
class Message:
    """One chat turn.

    Attributes:
        role: the role as the chat template spells it (``"assistant"`` for Gemini's
            ``"model"``).
        where: the message's index path.
        items: text and media, in order.
        name: the OpenAI ``name`` field, if any.
        strings: other string fields of the message that OpenAI's counting rule counts
            (``tool_call_id``…), as (key, value).
        plain: the message's content was a single string in the request.
    """

    role: str
    where: str
    items: list[TextItem | MediaItem] = field(default_factory=list)
    name: str | None = None
    strings: list[tuple[str, str]] = field(default_factory=list)
    plain: bool = False


@dataclass(slots=True)
class ToolDef:
    """A tool (function) definition, normalized.

    Attributes:
        name, description: as given.
        parameters: the JSON schema of its arguments (``{}`` when none).
        raw: the definition object as the request gives it (rendered by templates that
            serialize tools as JSON).
        where: its index path.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    raw: Mapping[str, Any]
    where: str


@dataclass(slots=True)
class Conversation:
    """A parsed request.

    Attributes:
        shape: the request shape it was parsed from.
        messages: the turns, system first where the request has one.
        tools: tool definitions.
        tool_choice: ``"auto"``, ``"none"``, ``"any"`` (Anthropic ``any``/OpenAI
            ``required``), ``"tool"`` (a named tool), or ``None``.
        server_tools: vendor-hosted tools (web search…) by index path and type; their
            definitions are not public and are reported, not counted.
    """

    shape: str
    messages: list[Message] = field(default_factory=list)
    tools: list[ToolDef] = field(default_factory=list)
    tool_choice: str | None = None
    server_tools: list[tuple[str, str]] = field(default_factory=list)


# -- media ---------------------------------------------------------------------------

#: Tokens per PDF page where the vendor publishes a per-page rule (Gemini; the page is
#: rendered as one image). Elsewhere a page costs an image plus its extracted text, which
#: cannot be known offline: pass ``pdf_page_tokens=``.
PDF_PAGE_TOKENS = {
    "gemini2": (258, "https://ai.google.dev/gemini-api/docs/document-processing "
                     "(each page is 258 tokens)"),
    "gemini3": (560, "https://ai.google.dev/gemini-api/docs/media-resolution "
                     "(PDF default media_resolution medium: 560 tokens per page)"),
}
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_OBJSTM = re.compile(rb"/Type\s*/ObjStm")


def pdf_pages(data: bytes, where: str) -> int:
    """Pages of a PDF, by counting its page objects (in object streams too).

    Raises:
        UnsupportedFormatError: no page object found (an encrypted or unusual PDF).
    """
    import zlib

    n = len(_PAGE.findall(data))
    for m in _OBJSTM.finditer(data):
        s = data.find(b"stream", m.end())
        if s < 0:
            continue
        s += 6
        if data[s:s + 2] == b"\r\n":
            s += 2
        elif data[s:s + 1] in (b"\n", b"\r"):
            s += 1
        e = data.find(b"endstream", s)
        if e < 0:
            continue
        try:
            d = zlib.decompressobj()
            inner = d.decompress(data[s:e], 64 * 1024 * 1024)
        except zlib.error:
            continue
        n += len(_PAGE.findall(inner))
    if n == 0:
        raise UnsupportedFormatError(
            f"{where}: cannot find the pages of this PDF (encrypted, or its page objects are "
            "compressed in a way tokenmeter does not read)", source=where)
    return n


_DETAIL_VALUES = ("auto", "low", "high")

#: Request-wide options that name no modality (``count_request(..., media_resolution=...)``):
#: a part whose rule does not take one says so, like a part's own option.
_ANY_MEDIA_OPTS = frozenset({"media_resolution"})
_GEMINI_RESOLUTION_SOURCE = (
    "Google's GenerationConfig.MediaResolution: LOW 64 tokens, MEDIUM 256, HIGH 256 with "
    "zoomed reframing")


class MediaCounter:
    """Loads and counts the media parts of one request on one model.

    Args:
        model: the model counting.
        ctx: how references are loaded.
        opts: media options for every part (``count_request(..., max_pixels=...)``); a
            part's own options (``detail``, ``min_pixels``…) take precedence.
        pdf_page_tokens: tokens per PDF page where the vendor publishes no rule.
    """

    def __init__(self, model: Model, ctx: MediaContext, opts: Mapping[str, Any],
                 pdf_page_tokens: int | None) -> None:
        self.model = model
        self.ctx = ctx
        self.pdf_page_tokens = pdf_page_tokens
        self._rules: dict[str, Any] = {}
        self.opts: dict[str, dict[str, Any]] = {}
        # Request-wide options a kind's rule does not take, reported on each of its parts.
        self.unapplied: dict[str, dict[str, Any]] = {
            "document": {k: v for k, v in opts.items() if k in _ANY_MEDIA_OPTS}}
        unused = set(opts)
        for kind in ("image", "video", "audio"):
            if kind in model.modalities:
                try:
                    accepted = self._rule(kind).options
                except CatalogError:  # a broken rule fails at the part that needs it
                    continue
                self.opts[kind] = {k: v for k, v in opts.items() if k in accepted}
                self.unapplied[kind] = {k: v for k, v in opts.items()
                                        if k in _ANY_MEDIA_OPTS and k not in accepted}
                unused -= set(self.opts[kind])
        if unused:
            raise InvalidInputError(
                f"option(s) {', '.join(sorted(unused))} are taken by none of {model.id}'s "
                "media rules; model.rule(kind).options lists what each takes")

    def _rule(self, kind: str) -> Any:
        r = self._rules.get(kind)
        if r is None:
            r = self._rules[kind] = self.model.rule(kind)
        return r

    def require(self, kind: str, where: str) -> Any:
        """The rule for ``kind``; an unsupported modality names the part."""
        try:
            return self._rule(kind)
        except UnsupportedModalityError as exc:
            raise UnsupportedModalityError(f"{where}: {exc}") from None

    def _options(self, kind: str, part_opts: Mapping[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the options the rule takes, the options it does not take) for one part."""
        rule = self._rule(kind)
        merged = dict(self.opts.get(kind, {}))
        ignored = dict(self.unapplied.get(kind, {}))
        for k, v in part_opts.items():
            if v is None:
                continue
            if k in rule.options:
                merged[k] = v
                ignored.pop(k, None)
            else:
                # A request field this model's rule does not take: never dropped silently;
                # the part's rule and notes say it was not applied, and why.
                ignored[k] = v
        return merged, ignored

    def _why_ignored(self, kind: str, rule_kind: str, key: str, value: Any
                     ) -> tuple[str, bool]:
        """Why the option ``key`` is not applied to a ``kind`` part, and whether the vendor
        applies it (then the count is not what the vendor bills, and is not exact)."""
        shown = f"{key}={quote(value)}"
        gemini = self.model.family.startswith("gemini")
        if key == "media_resolution" and kind == "audio":
            return (f"{shown} does not apply to audio (Gemini tokenizes audio at a fixed rate "
                    "per second at every media resolution)"), False
        if key == "media_resolution" and gemini and kind == "document":
            return (f"{shown} not applied: the per-page figure is the default resolution's; "
                    "tokenmeter has no per-page PDF figure by media resolution"), True
        if key == "media_resolution" and gemini:
            return (f"{shown} not applied: {rule_kind} takes no media_resolution, so this is "
                    f"the default-resolution count, but Gemini applies it to {kind}s "
                    f"({_GEMINI_RESOLUTION_SOURCE})"), True
        return (f"{shown} not applied: {rule_kind} takes no {key} (a server for "
                f"{self.model.id} does not use it)"), False

    def _note(self, count: TokenCount, kind: str, ignored: Mapping[str, Any],
              extra: Mapping[str, Any] | None) -> tuple[TokenCount, str]:
        if not ignored and not extra:
            return count, ""
        details = dict(count.details)
        notes = []
        exact = count.exact
        for k in sorted(ignored):
            why, vendor_applies = self._why_ignored(kind, count.rule, k, ignored[k])
            notes.append(why)
            exact = exact and not vendor_applies
        note = "; ".join(notes)
        if ignored:
            details["ignored_options"] = ", ".join(sorted(ignored))
            details["note"] = f"{details['note']}; {note}" if details.get("note") else note
        if extra:
            details.update(extra)
        return replace(count, details=details, exact=exact), note

    def load(self, ref: Any, *, where: str, expect: str, mime: str | None = None,
             bare_path: bool = False, base64_only: bool = False) -> MediaInfo | bytes:
        """Load one reference (see :func:`._media.load_media`)."""
        return load_media(ref, where=where, expect=expect, mime=mime, ctx=self.ctx,
                          allow_bare_path=bare_path, base64_only=base64_only)

    def remote(self, ref: str, *, where: str, expect: str | None, mime: str | None = None
               ) -> MediaInfo | bytes:
        """Resolve a reference that is remote by nature (a file id, a ``gs://`` URI)."""
        return remote_ref(ref, where=where, expect=expect, mime=mime, ctx=self.ctx)

    def count(self, info: MediaInfo | bytes, *, where: str, part_opts: Mapping[str, Any]
              | None = None, note: Mapping[str, Any] | None = None) -> MediaItem:
        """Count one loaded media part."""
        part_opts = part_opts or {}
        if isinstance(info, bytes):
            return self.document(info, where=where, part_opts=part_opts)
        try:
            if isinstance(info, ImageInfo):
                self.require("image", where)
                opts, ignored = self._options("image", part_opts)
                c, why = self._note(self.model.count_image(info.width, info.height, **opts),
                                    "image", ignored, note)
                return MediaItem(count=c, where=where, kind="image", note=why)
            if isinstance(info, VideoInfo):
                rule = self.require("video", where)
                opts, ignored = self._options("video", part_opts)
                if info.audio is None and "has_audio" in rule.options:
                    # No soundtrack in the file: rules that add audio tokens for a video's
                    # soundtrack (Gemini's 32/s) must not assume one.
                    opts.setdefault("has_audio", False)
                from .._facade import count_info

                c, why = self._note(count_info(self.model, info, **opts), "video", ignored,
                                    note)
                return MediaItem(count=c, where=where, kind="video", seconds=info.duration,
                                 note=why)
            if isinstance(info, AudioInfo):
                rule = self.require("audio", where)
                opts, ignored = self._options("audio", part_opts)
                # Rules that count samples are exact from the header's sample count.
                if info.samples is not None and {"samples", "sample_rate"} <= rule.options:
                    opts.setdefault("samples", info.samples)
                    opts.setdefault("sample_rate", info.sample_rate)
                c, why = self._note(self.model.count_audio(info.duration, **opts), "audio",
                                    ignored, note)
                return MediaItem(count=c, where=where, kind="audio", seconds=info.duration,
                                 note=why)
        except InvalidInputError as exc:
            msg = str(exc)
            raise type(exc)(msg if msg.startswith(where) else f"{where}: {msg}") from None
        raise InvalidInputError(f"{where}: not media: {type(info).__name__}")

    def frames(self, infos: Sequence[MediaInfo | bytes], *, where: str, fps: float,
               part_opts: Mapping[str, Any]) -> MediaItem:
        """Count a video given as a list of frames (DashScope ``{"video": [...]}``)."""
        sizes = set()
        for i, info in enumerate(infos):
            if not isinstance(info, ImageInfo):
                raise InvalidInputError(f"{where}[{i}]: a video frame must be an image")
            sizes.add((info.width, info.height))
        if not infos:
            raise InvalidInputError(f"{where}: a video given as frames needs at least one frame")
        if len(sizes) > 1:
            raise InvalidInputError(
                f"{where}: the frames of one video differ in size ({sorted(sizes)}); they are "
                "stacked into one video, so they must share a size")
        (w, h), = sizes
        n = len(infos)
        video = VideoInfo(width=w, height=h, duration=n / fps, fps=fps, frames=n,
                          source=where)
        rule = self.require("video", where)
        opts = dict(part_opts)
        # Every listed frame is used: the list already is the sampling (qwen-vl-utils
        # passes image lists through without resampling).
        if "nframes" in rule.options:
            opts.setdefault("nframes", n)
        elif "sample_fps" in rule.options:
            opts.setdefault("sample_fps", fps)
        return self.count(video, where=where, part_opts=opts,
                          note={"frames_given": n, "frame_list_fps": fps})

    def document(self, data: bytes, *, where: str, part_opts: Mapping[str, Any] | None = None
                 ) -> MediaItem:
        """Count a PDF document: pages x the vendor's published per-page tokens.

        No option changes the per-page figure; any given (a Gemini ``mediaResolution``)
        is reported on the part as not applied."""
        fam = self.model.family
        if fam in PDF_PAGE_TOKENS:
            per, source = PDF_PAGE_TOKENS[fam]
        elif self.pdf_page_tokens is not None:
            per, source = self.pdf_page_tokens, "pdf_page_tokens given by the caller"
        else:
            raise UnsupportedFormatError(
                f"{where}: PDF input to {self.model.id} is not counted offline: the vendor "
                "turns each page into an image plus its extracted text and publishes no "
                "per-page rule. Pass pdf_page_tokens=N to count N tokens per page",
                source=where)
        pages = pdf_pages(data, where)
        c = TokenCount(tokens=pages * per, modality="image", model=self.model.id,
                       profile=self.model.profile, rule="document.pdf_pages", exact=False,
                       method=f"{pages} page(s) x {per} tokens per page", source=source,
                       as_of=self.model.as_of, details={"pages": pages, "tokens_per_page": per})
        ignored = dict(self.unapplied.get("document", {}))
        ignored.update({k: v for k, v in (part_opts or {}).items() if v is not None})
        c, why = self._note(c, "document", ignored, None)
        return MediaItem(count=c, where=where, kind="document", note=why)


def detail_option(value: Any, where: str) -> str | None:
    """OpenAI's ``detail`` value, checked."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in _DETAIL_VALUES:
        raise InvalidInputError(f"{where}.detail must be one of {', '.join(_DETAIL_VALUES)}, "
                                f"got {quote(value)}")
    return value


def need_str(obj: Mapping[str, Any], key: str, where: str, *, optional: bool = False
             ) -> str | None:
    """``obj[key]`` as a string, or a clear error."""
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise InvalidInputError(f"{where}: missing '{key}'")
    v = obj[key]
    if not isinstance(v, str):
        raise InvalidInputError(f"{where}.{key} must be a string, got {type(v).__name__}")
    return v


def need_dict(obj: Any, where: str) -> Mapping[str, Any]:
    """``obj`` if it is a JSON object, else a clear error."""
    if not isinstance(obj, Mapping):
        raise InvalidInputError(f"{where} must be an object, got {type(obj).__name__}")
    return obj


def need_list(obj: Any, where: str) -> Sequence[Any]:
    """``obj`` if it is a JSON array, else a clear error."""
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Sequence):
        raise InvalidInputError(f"{where} must be an array, got {type(obj).__name__}")
    return obj


def json_text(value: Any) -> str:
    """Compact, stable JSON for arguments and schemas (what tool calls carry on the wire)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"not JSON-serializable: {exc}") from None


def tool_def(obj: Mapping[str, Any], where: str, *, schema_key: str = "parameters") -> ToolDef:
    """A :class:`ToolDef` from ``{"name", "description", <schema_key>}``."""
    name = need_str(obj, "name", where)
    desc = need_str(obj, "description", where, optional=True) or ""
    params = obj.get(schema_key) or {}
    if not isinstance(params, Mapping):
        raise InvalidInputError(f"{where}.{schema_key} must be an object (a JSON schema)")
    return ToolDef(name=name or "", description=desc, parameters=params, raw=obj, where=where)

