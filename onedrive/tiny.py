"""Tiny random InternVL3-shaped checkpoints, for the demo, tests and benchmarks.

No hub is reachable on CI, so every code path that loads a pretrained InternVL is
exercised on a checkpoint written here with ``save_pretrained`` and read back
through the real loading code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import InternVLConfig, InternVLForConditionalGeneration


def tiny_internvl_config(
    vocab_size: int = 512, image_token_id: int = 5, vision_overrides: dict | None = None, **text_overrides
) -> InternVLConfig:
    """An InternVL3 config with the real architecture and toy sizes.

    ViT: 56-pixel tiles of 14-pixel patches (a 4 × 4 grid → 2 × 2 = 4 LLM tokens per
    tile after pixel shuffle), 2 layers of width 32. LLM (Qwen2): 2 layers of width 64,
    4 query heads, 2 key/value heads.
    """
    text = dict(
        model_type="qwen2",
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=vocab_size,
        max_position_embeddings=4096,
    )
    text.update(text_overrides)
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=56,
        patch_size=14,
    )
    vision.update(vision_overrides or {})
    return InternVLConfig(vision_config=vision, text_config=text, image_token_id=image_token_id)


def save_tiny_internvl(folder: str | Path, config: InternVLConfig | None = None, seed: int = 0) -> Path:
    """Write a randomly initialised ``InternVLForConditionalGeneration`` to ``folder``."""
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config or tiny_internvl_config())
    model.save_pretrained(folder)
    return Path(folder)
