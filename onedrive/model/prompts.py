"""Chat prompts with one image block per camera, and answer-only labels.

Layout (docs/design.md §4 "Prompt and token layout"): the user turn holds, in camera
order, one line per camera ``<img>`` + ``tokens_per_camera`` × ``<IMG_CONTEXT>`` +
``</img>``, then the question on its own line; the tokenizer's chat template wraps it
(Qwen2 turns for InternVL3). Training appends the answer as the assistant turn; its
tokens and the closing eos (``<|im_end|>``) are the only labels, everything else is
-100. Generation ends the prompt with the assistant header instead.

The prompt and the answer are tokenised as separate pieces and concatenated, so the
label mask falls exactly on the answer (no merge across the boundary); this is how
InternVL's and LLaVA's training code tokenise turns.
"""

from __future__ import annotations

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


def user_content(question: str, num_cameras: int, tokens_per_camera: int, markers: ImageTokens) -> str:
    """The user turn: one image block per camera (one line each), then the question."""
    block = markers.start + markers.context * tokens_per_camera + markers.end
    return "\n".join([block] * num_cameras + [question])


@dataclass
class TokenizedTurn:
    input_ids: list[int]
    labels: list[int] | None  # None for a generation prompt


def tokenize_turn(tokenizer: PreTrainedTokenizerBase, content: str, answer: str | None) -> TokenizedTurn:
    """Tokenise one user turn (+ the answer as assistant turn when given).

    ``answer is None``: the prompt ends with the assistant header
    (``add_generation_prompt=True``) and there are no labels.
    """
    if tokenizer.chat_template is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has no chat template")
    user = [{"role": "user", "content": content}]
    prompt = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
    if answer is None:
        return TokenizedTurn(prompt_ids, None)

    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": answer}], tokenize=False)
    eos = tokenizer.eos_token
    if eos is None or not full.startswith(prompt):
        raise ValueError(
            "the chat template must render a conversation as the generation prompt followed by the assistant "
            f"answer and an eos token; eos={eos!r}, rendered prompt {prompt[-80:]!r}, full {full[-120:]!r}"
        )
    continuation = full[len(prompt) :]  # answer + eos + template tail (e.g. "\n")
    end = continuation.find(eos)
    if end < 0:
        raise ValueError(f"the chat template did not close the answer with eos {eos!r}: {continuation!r}")
    answer_ids = tokenizer.encode(continuation[: end + len(eos)], add_special_tokens=False)
    tail_ids = tokenizer.encode(continuation[end + len(eos) :], add_special_tokens=False)
    input_ids = prompt_ids + answer_ids + tail_ids
    labels = [IGNORE_INDEX] * len(prompt_ids) + answer_ids + [IGNORE_INDEX] * len(tail_ids)
    return TokenizedTurn(input_ids, labels)
