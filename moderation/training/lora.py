"""Low-rank adapters (LoRA, Hu et al. 2021) for the linear layers of a transformer, and their export.

A frozen linear layer W gets a trainable update B @ A of rank r, scaled by alpha / r; only A and B
(and whatever else is unfrozen) are shipped, and merged into W at load: W' = W + scale * B @ A.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """`base(x) + scale * B(A(dropout(x)))`, with `base` frozen; B starts at zero, so training starts at `base`."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)
        for parameter in base.parameters():
            parameter.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = (self.dropout(x) @ self.lora_a.T) @ self.lora_b.T
        return self.base(x) + update * self.scale

    def delta(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, scale * B): the factors of the weight update, scale folded in so that W' = W + B @ A."""
        return self.lora_a.detach().clone(), (self.lora_b.detach() * self.scale).clone()


def add_adapters(
    model: nn.Module, targets: tuple[str, ...], rank: int, alpha: float, dropout: float = 0.0
) -> list[str]:
    """Wrap every nn.Linear whose qualified name ends with one of `targets`; returns the wrapped names."""
    wrapped = []
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.endswith(targets):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, LoRALinear(module, rank, alpha, dropout))
            wrapped.append(name)
    return wrapped


def adapter_deltas(model: nn.Module) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{name of the wrapped linear: (A, scale * B)} for every adapter in `model`."""
    return {name: module.delta() for name, module in model.named_modules() if isinstance(module, LoRALinear)}
