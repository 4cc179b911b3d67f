"""Which :class:`~tokenmeter.Usage` fields one metered item fills under a price book.

A usage row is one item of one modality and one direction: a text, an image, a video or
an audio clip, as input (``input``, ``cached``, ``cache_write``) or as output. Its tokens
go to the field a request's usage would put them in (``image``, ``output_video``…). Two
things depend on what the book's entry prices, because books bill some media by the
second or by the item rather than by the token:

* **Seconds.** A video/audio item with a known duration also carries that duration in
  the seconds field (``video_seconds``, ``audio_seconds``, ``output_video_seconds``)
  when the entry prices (or includes) that seconds meter. Its tokens are then left out
  if, and only if, the entry has no token rate for them: the book bills that media by
  the second. Without a duration such an item has nothing billable: ``price_table``
  reports the row as an error and ``Meter.quote`` raises, rather than billing zero.
* **Generations.** A generated image/video/audio item counts as one generation when the
  entry prices generations (a per-item price).

This is the one definition both :func:`tokenmeter.batch.price_table` (row by row) and
:meth:`tokenmeter.Meter.quote` (per period) use, so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..pricing import Meter as _PM

if TYPE_CHECKING:
    from ..pricing import ModelPrice

__all__ = ["DIRECTIONS", "MEDIA", "MODALITIES", "Plan", "known_meters", "plan"]

MODALITIES = ("text", "image", "video", "audio")
MEDIA = ("image", "video", "audio")
#: ``cached``/``cache_write`` are input tokens read from / written to a prompt cache.
DIRECTIONS = ("input", "output", "cached", "cache_write")

_COMBINED = _PM("text", "input+output", "token")
_GENERATION = _PM("", "generation", "item")
_SECONDS = {
    ("video", "input"): ("video_seconds", _PM("video", "input", "second")),
    ("audio", "input"): ("audio_seconds", _PM("audio", "input", "second")),
    ("video", "output"): ("output_video_seconds", _PM("video", "output", "second")),
}


@dataclass(frozen=True, slots=True)
class Plan:
    """Where one (modality, direction) item's numbers go in a :class:`~tokenmeter.Usage`.

    Attributes:
        token_field: the field its tokens add to (``"image"``, ``"output"``…).
        subset_field: ``"cached"``/``"cache_write"`` for cache directions, else ``None``.
        seconds_field: the seconds field to fill when the duration is known, or ``None``
            when the entry does not bill this media by the second.
        tokens_when_timed: whether the tokens are billed too when the seconds are.
        generation: whether the item counts as one generation.
    """

    token_field: str
    subset_field: str | None
    seconds_field: str | None
    tokens_when_timed: bool
    generation: bool


def known_meters(entry: ModelPrice) -> frozenset[_PM]:
    """Every meter the entry prices or includes, in any tier, window or override."""
    known = set(entry.table) | set(entry.includes)
    if entry.context is not None:
        for tier in entry.context.tiers:
            known |= set(tier.table)
    if entry.multimodal_input is not None:
        known |= set(entry.multimodal_input)
    for window in entry.windows:
        known |= set(window.table)
    return frozenset(known)


def plan(known: frozenset[_PM], modality: str, direction: str) -> Plan:
    """The :class:`Plan` for an item under an entry whose :func:`known_meters` are ``known``."""
    out = direction == "output"
    field = ("output" if modality == "text" else f"output_{modality}") if out else modality
    if modality == "text" and _COMBINED in known:
        token_meter = _COMBINED
    else:
        token_meter = _PM(modality, "output" if out else "input", "token")
    seconds = _SECONDS.get((modality, "output" if out else direction))
    seconds_field = seconds[0] if seconds is not None and seconds[1] in known else None
    return Plan(
        token_field=field,
        subset_field=direction if direction in ("cached", "cache_write") else None,
        seconds_field=seconds_field,
        tokens_when_timed=seconds_field is None or token_meter in known,
        generation=out and modality in MEDIA and _GENERATION in known,
    )
