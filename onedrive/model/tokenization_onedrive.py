"""A small tokenizer the repository builds itself, with InternVL3's special tokens.

Real runs use the InternVL3 tokenizer (``AutoTokenizer.from_pretrained(path)``); tests,
the demo and the benchmarks cannot reach the hub, so ``build_tokenizer`` trains a tiny
byte-level BPE (``tokenizers`` library) on a built-in driving vocabulary plus any extra
text (e.g. the QA of an info file). Byte-level means every string encodes and decodes
back exactly, so no text is ever mapped to an unknown token.

The special tokens and the chat template copy the layout of InternVL3's Qwen2
tokenizer: ``<|im_start|>role\\ncontent<|im_end|>\\n`` turns, eos ``<|im_end|>``, pad
``<|endoftext|>``, image markers ``<img>``, ``</img>``, ``<IMG_CONTEXT>`` (exposed as
``start_image_token``, ``end_image_token``, ``context_image_token`` like the
``OpenGVLab/InternVL3-*-hf`` tokenizers, so ``transformers.InternVLProcessor`` accepts
it too). The special tokens take the first ids, so ``<IMG_CONTEXT>`` is id 5, the
``image_token_id`` of ``onedrive.tiny.tiny_internvl_config``.

    python -c "from onedrive.model.tokenization_onedrive import build_tokenizer; build_tokenizer('/tmp/tok')"
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from onedrive.schema import NAVSIM_CAMERAS, NUSCENES_CAMERAS, NUSCENES_DETECTION_CLASSES

PAD_TOKEN = "<|endoftext|>"
IM_START_TOKEN = "<|im_start|>"
IM_END_TOKEN = "<|im_end|>"
IMG_START_TOKEN = "<img>"
IMG_END_TOKEN = "</img>"
IMG_CONTEXT_TOKEN = "<IMG_CONTEXT>"
VIDEO_TOKEN = "<video>"

# Id order is part of the contract: <IMG_CONTEXT> gets id 5.
SPECIAL_TOKENS = (
    PAD_TOKEN,
    IM_START_TOKEN,
    IM_END_TOKEN,
    IMG_START_TOKEN,
    IMG_END_TOKEN,
    IMG_CONTEXT_TOKEN,
    VIDEO_TOKEN,
)

# Qwen2-style chat template (the turn format of InternVL3's LLM).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CAMERAS = " ".join(NUSCENES_CAMERAS + NAVSIM_CAMERAS)
_OBJECTS = " ".join(name.replace("_", " ") for name in NUSCENES_DETECTION_CLASSES)

# Built-in driving vocabulary: the words questions and answers about a driving scene use.
DRIVING_CORPUS = (
    "What should the ego vehicle do next? Turn right. Turn left. Keep going straight.",
    "The ego vehicle should turn left at the junction. The ego vehicle should turn right at the intersection.",
    "The ego vehicle should keep going straight and keep its lane. Slow down, accelerate, stop, wait, yield.",
    f"There is a {_OBJECTS} in front of the ego vehicle, behind it, to the left and to the right.",
    "How many cars are there? There are 0 1 2 3 4 5 6 7 8 9 10 cars, trucks, buses, pedestrians and cones.",
    "What is the nearest object? The nearest object is a car at 12.5 metres ahead, moving at 3.2 m/s.",
    "Is it safe to change lanes? No, because a vehicle is approaching in the adjacent lane. Yes, the lane is free.",
    "Describe the scene. The road is straight with two lanes, lane markings, a drivable area and a junction.",
    "Why? Because the traffic light is red, the road ahead is blocked, the pedestrian is crossing.",
    f"Cameras: {_CAMERAS}. front, back, left, right, rear, ahead, behind, beside, near, far, moving, parked, static.",
    "speed velocity acceleration heading yaw metres seconds distance trajectory waypoint command planning",
)


def build_tokenizer(
    save_dir: str | Path | None = None, corpus: Iterable[str] = (), vocab_size: int = 512
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``DRIVING_CORPUS`` + ``corpus``; optionally save it.

    Deterministic: the same corpus and ``vocab_size`` give the same vocabulary and
    merges. ``vocab_size`` counts the 256 byte symbols and the special tokens, so it
    must leave room for them (>= 263) and not exceed the LLM's vocabulary.
    ``save_dir`` gets a folder ``AutoTokenizer.from_pretrained`` reads back.
    """
    minimum = 256 + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise ValueError(
            f"vocab_size must be >= {minimum} (256 bytes + {len(SPECIAL_TOKENS)} special tokens), got {vocab_size}"
        )
    texts = list(DRIVING_CORPUS) + [str(text) for text in corpus]

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=IM_END_TOKEN,
        pad_token=PAD_TOKEN,
        extra_special_tokens={
            "start_image_token": IMG_START_TOKEN,
            "end_image_token": IMG_END_TOKEN,
            "context_image_token": IMG_CONTEXT_TOKEN,
            "video_token": VIDEO_TOKEN,
        },
        chat_template=CHAT_TEMPLATE,
        padding_side="right",
    )
    if save_dir is not None:
        tokenizer.save_pretrained(save_dir)
    return tokenizer
