"""Chat prompts with one image block per camera, and answer-only labels.

Layout (docs/design.md §4 "Prompt and token layout"): the user turn holds, in camera
order, one line per camera ``<img>`` + ``tokens_per_camera`` × ``<IMG_CONTEXT>`` +
``</img>``, then the context line when there is one (``"You are driving in {location}."``,
OmniDrive's prompt), then the question on its own line; the tokenizer's chat template
wraps it (Qwen2 turns for InternVL3). Later questions of a conversation are plain user
turns. Training appends each answer as an assistant turn; the answers' tokens and their
closing eos (``<|im_end|>``) are the only labels, everything else (questions, image
blocks, role headers, the newline after each eos) is -100. Generation ends the prompt with
the assistant header instead.

Each question piece and each answer is tokenised separately and the pieces concatenated,
so the label mask falls exactly on the answers (no merge across a boundary); this is how
InternVL's and LLaVA's training code tokenise turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from onedrive.schema import IGNORE_INDEX


@dataclass(frozen=True)
class ImageTokens:
    """The three image-marker strings of the tokenizer."""

    start: str = "<img>"
    context: str = "<IMG_CONTEXT>"
    end: str = "</img>"

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase) -> ImageTokens:
        """Markers as the tokenizer names them (InternVL3 ``-hf`` tokenizers expose them as attributes)."""
        default = cls()
        names = {"start": "start_image_token", "context": "context_image_token", "end": "end_image_token"}
        found = {
            field: getattr(tokenizer, attribute, None) or getattr(default, field) for field, attribute in names.items()
        }
        markers = cls(**found)
        for token in (markers.start, markers.context, markers.end):
            ids = tokenizer.encode(token, add_special_tokens=False)
            if len(ids) != 1 or ids[0] == tokenizer.unk_token_id:
                raise ValueError(
                    f"tokenizer {type(tokenizer).__name__} must encode the image marker {token!r} as one known "
                    f"token, got ids {ids}; add it as a special token"
                )
        return markers


def user_content(
    question: str, num_cameras: int, tokens_per_camera: int, markers: ImageTokens, context: str = ""
) -> str:
    """The first user turn: one image block per camera (one line each), the context line (if any), the question."""
    block = markers.start + markers.context * tokens_per_camera + markers.end
    return "\n".join([block] * num_cameras + ([context] if context else []) + [question])


@dataclass
class TokenizedTurn:
    input_ids: list[int]
    labels: list[int] | None  # None for a generation prompt
    turn_ends: list[int]  # len(input_ids) after each (question, answer) turn; [] for a generation prompt


def tokenize_turn(tokenizer: PreTrainedTokenizerBase, content: str, answer: str | None) -> TokenizedTurn:
    """Tokenise one user turn (+ the answer as assistant turn when given).

    ``answer is None``: the prompt ends with the assistant header
    (``add_generation_prompt=True``) and there are no labels.
    """
    if answer is not None:
        return tokenize_conversation(tokenizer, [(content, answer)])
    _check_template(tokenizer)
    user = [{"role": "user", "content": content}]
    prompt = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
    return TokenizedTurn(tokenizer.encode(prompt, add_special_tokens=False), None, [])


def tokenize_conversation(tokenizer: PreTrainedTokenizerBase, turns: Sequence[tuple[str, str]]) -> TokenizedTurn:
    """Tokenise (user content, answer) turns as one conversation; labels on every answer and its eos only.

    ``turn_ends[k]`` is the length of the first k + 1 turns: the pieces of a turn do not depend
    on later turns, so a conversation cut after turn k is exactly ``input_ids[:turn_ends[k]]``.
    """
    if not turns:
        raise ValueError("a conversation needs at least one (question, answer) turn")
    _check_template(tokenizer)
    eos = tokenizer.eos_token
    messages: list[dict] = []
    rendered = ""
    input_ids: list[int] = []
    labels: list[int] = []
    turn_ends: list[int] = []
    for content, answer in turns:
        messages.append({"role": "user", "content": content})
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        messages.append({"role": "assistant", "content": answer})
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if eos is None or not prompt.startswith(rendered) or not full.startswith(prompt):
            raise ValueError(
                "the chat template must render a conversation as each turn's generation prompt followed by the "
                f"assistant answer and an eos token; eos={eos!r}, rendered prompt {prompt[-80:]!r}, "
                f"full {full[-120:]!r}"
            )
        continuation = full[len(prompt) :]  # answer + eos + template tail (e.g. "\n")
        end = continuation.find(eos)
        if end < 0:
            raise ValueError(f"the chat template did not close the answer with eos {eos!r}: {continuation!r}")
        question_ids = tokenizer.encode(prompt[len(rendered) :], add_special_tokens=False)
        answer_ids = tokenizer.encode(continuation[: end + len(eos)], add_special_tokens=False)
        tail_ids = tokenizer.encode(continuation[end + len(eos) :], add_special_tokens=False)
        input_ids += question_ids + answer_ids + tail_ids
        labels += [IGNORE_INDEX] * len(question_ids) + answer_ids + [IGNORE_INDEX] * len(tail_ids)
        turn_ends.append(len(input_ids))
        rendered = full
    return TokenizedTurn(input_ids, labels, turn_ends)


def conversation_token_bound(tokenizer: PreTrainedTokenizerBase, turns: Sequence[tuple[str, str]]) -> int:
    """An upper bound on ``len(tokenize_conversation(tokenizer, turns).input_ids)`` from one rendering.

    The pieces ``tokenize_conversation`` encodes concatenate to the rendered conversation; each
    token covers at least one byte of its piece, and a piece may gain one prefix token
    (SentencePiece's word marker), so the count is at most the rendering's UTF-8 bytes plus
    three per turn (question, answer, tail). Cheap: one rendering instead of two per turn.
    """
    _check_template(tokenizer)
    messages = [
        message
        for content, answer in turns
        for message in ({"role": "user", "content": content}, {"role": "assistant", "content": answer})
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(rendered.encode("utf-8")) + 3 * len(turns)


def _check_template(tokenizer: PreTrainedTokenizerBase) -> None:
    if tokenizer.chat_template is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has no chat template")
