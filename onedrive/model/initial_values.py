"""Linear layers whose starting values matter, and the hook that keeps them under transformers' init.

transformers initialises a model's ``nn.Linear`` layers with N(0, ``initializer_range``) and a
zero bias (``PreTrainedModel._init_weights``), after the modules' own constructors ran, so a
constructor's ``nn.init.zeros_`` does not survive. Layers that must start elsewhere are these
subclasses, and ``restore_initial_values`` (called from the ``_init_weights`` of every OneDrive
model class, on modules transformers is initialising, never on loaded ones) puts them back.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import initialization
from transformers.models.qwen2.modeling_qwen2 import Qwen2MLP

QUERY_FFN_STD = 0.02  # the official release draws its query FFNs from N(0, 0.02)


class ZeroLinear(nn.Linear):
    """Starts at zero, so a branch added to a pretrained computation begins as a no-op."""

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def restore(self) -> None:
        self.reset_parameters()


class PriorLinear(nn.Linear):
    """Classifier output whose bias starts at the focal-loss prior: every class has probability ``prior``."""

    def __init__(self, in_features: int, out_features: int, prior: float = 0.01):
        self.prior = prior
        super().__init__(in_features, out_features)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.restore()

    def restore(self) -> None:
        nn.init.constant_(self.bias, -math.log((1 - self.prior) / self.prior))


def randomise_initial_values(model: nn.Module, std: float, seed: int = 0) -> None:
    """N(0, ``std``) values for every ``ZeroLinear`` parameter and ``PriorLinear`` weight, standing in for a
    trained model in tests and benchmarks (untrained, these layers make the new branches silent and every
    class score equal to the prior, so outputs and rankings would say little)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, ZeroLinear):
                parameters = list(module.parameters())
            elif isinstance(module, PriorLinear):
                parameters = [module.weight]
            else:
                continue
            for parameter in parameters:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)


class QueryFFN(Qwen2MLP):
    """A query type's FFN in a task layer: the pretrained FFN's SwiGLU shape, weights drawn from N(0, 0.02)
    whatever the checkpoint's ``initializer_range`` (``internvl_weights.from_internvl`` can copy the
    pretrained FFN instead: ``task_config.task_ffn_init``)."""

    def restore(self) -> None:
        for projection in (self.gate_proj, self.up_proj, self.down_proj):
            initialization.normal_(projection.weight, mean=0.0, std=QUERY_FFN_STD)  # skips loaded tensors


def restore_initial_values(module: nn.Module) -> None:
    """Re-apply the starting values of a ``ZeroLinear`` / ``PriorLinear`` / ``QueryFFN`` after transformers'
    generic init (which visits a module's children before the module)."""
    if isinstance(module, (ZeroLinear, PriorLinear, QueryFFN)):
        module.restore()
