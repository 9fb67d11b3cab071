"""A key frame's training conversation: its context line and which of its QA turns fit.

As OmniDrive's training pipeline (``LoadAnnoatationVQA``), a key frame is trained on all its
turns at once: one multi-turn conversation whose first question is preceded by the context
line ``"You are driving in {location}."`` (the record's ``location``, the nuScenes log's map
location), with the loss on every answer. The turns keep the info record's order (the
converter puts the planning-trajectory turn first, as OmniDrive does). Where OmniDrive lets
the tokenizer cut the token sequence at ``max_length`` (mid-answer if need be), the
conversation here ends after the last whole turn whose end fits in ``max_text_tokens`` text
tokens (image-context tokens not counted, the way OmniDrive's single image placeholder is
not); the turns after it are dropped and counted (``ConversationStats``), never silently.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from onedrive.errors import InputError

LOGGER = logging.getLogger(__name__)
LOCATION_CONTEXT = "You are driving in {location}."


def location_context(record: dict) -> str:
    """``"You are driving in {location}."`` for a record with a ``location``; "" without one."""
    location = record.get("location")
    if location is None or location == "":
        return ""
    if not isinstance(location, str):
        raise InputError(f"sample {record.get('token')!r}: 'location' must be a string, got {location!r}")
    return LOCATION_CONTEXT.format(location=location)


def turns_that_fit(turn_ends: Sequence[int], max_text_tokens: int, token: str) -> int:
    """How many leading turns fit: the largest k with ``turn_ends[k - 1] <= max_text_tokens``.

    ``turn_ends``: text tokens of the conversation after each turn (increasing). A first turn
    longer than the limit is an error naming the sample: the frame would have no text target.
    """
    kept = bisect.bisect_right(list(turn_ends), max_text_tokens)
    if kept == 0:
        raise InputError(
            f"sample {token!r}: its first QA turn alone is {turn_ends[0]} text tokens, more than "
            f"data.max_text_tokens={max_text_tokens}; raise the limit"
        )
    return kept


@dataclass
class ConversationStats:
    """What packing a split's turns into conversations kept and dropped."""

    samples: int = 0  # records trained on a conversation of their QA turns
    turns: int = 0  # QA turns of those records
    turns_kept: int = 0
    turns_dropped: int = 0  # past data.max_text_tokens
    samples_with_dropped_turns: int = 0

    def add(self, turns: int, kept: int) -> None:
        self.samples += 1
        self.turns += turns
        self.turns_kept += kept
        self.turns_dropped += turns - kept
        self.samples_with_dropped_turns += int(kept < turns)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def report(self, source: str, max_text_tokens: int) -> None:
        """Log a warning naming the counts when turns were dropped."""
        if self.turns_dropped:
            LOGGER.warning(
                "%s: %d of %d QA turns (in %d of %d samples) do not fit in data.max_text_tokens=%d and are not "
                "trained on",
                source,
                self.turns_dropped,
                self.turns,
                self.samples_with_dropped_turns,
                self.samples,
                max_text_tokens,
            )
