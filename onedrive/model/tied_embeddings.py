"""Whether the LM head shares the input embeddings: the checkpoint decides, as in transformers.

transformers 5.x ties ``lm_head.weight`` to the input embeddings when the config's
``tie_word_embeddings`` is true — its default when the key is absent, as in the InternVL3
configs written by transformers 4.5x — unless the checkpoint holds both tensors with
different values: then it keeps them apart (InternVL3-1B/2B-hf have their own LM head).
OneDrive follows the tensors the same way and writes the outcome into its config, so a
saved OneDrive folder states the tie explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from transformers import PreTrainedModel

LM_HEAD = "lm_head.weight"
INPUT_EMBEDDINGS = "model.language_model.embed_tokens.weight"


def embeddings_tied(model: PreTrainedModel) -> bool:
    """Whether ``model``'s LM head and input embeddings are one parameter (what loading left them as)."""
    return model.get_output_embeddings().weight is model.get_input_embeddings().weight


def checkpoint_ties(config_ties: bool, state: Mapping[str, torch.Tensor]) -> bool:
    """transformers' rule on a state dict: tied when the config says so, unless both tensors are in it and differ."""
    if not config_ties:
        return False
    if LM_HEAD in state and INPUT_EMBEDDINGS in state:
        return torch.equal(state[LM_HEAD], state[INPUT_EMBEDDINGS])
    return True
