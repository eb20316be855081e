"""The optimiser's pieces: the classifier split at its head, AdamW parameter groups, the
learning-rate schedule."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class HeadSplit:
    """Run a classifier as ``head(features(x))`` by swapping its head for an Identity."""

    def __init__(self, module: torch.nn.Module, head_name: str) -> None:
        self.module = module
        self.parent_name, _, self.child = head_name.rpartition(".")
        self.parent = module.get_submodule(self.parent_name) if self.parent_name else module
        self.head = getattr(self.parent, self.child)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        setattr(self.parent, self.child, torch.nn.Identity())
        try:
            return self.module(x)
        finally:
            setattr(self.parent, self.child, self.head)


def param_groups(
    module: torch.nn.Module,
    head_params: list[Any],
    lr: float,
    head_lr: float,
    weight_decay: float,
    freeze: bool,
) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases/norms; the head at ``head_lr``."""
    head_ids = {id(p) for p in head_params}
    groups: dict[tuple[bool, bool], list[Any]] = defaultdict(list)
    for p in module.parameters():
        is_head = id(p) in head_ids
        if freeze and not is_head:
            p.requires_grad_(False)
            continue
        p.requires_grad_(True)
        groups[(is_head, p.ndim <= 1)].append(p)
    return [
        {
            "params": params,
            "lr": head_lr if is_head else lr,
            "weight_decay": 0.0 if no_decay else weight_decay,
        }
        for (is_head, no_decay), params in sorted(groups.items())
        if params
    ]


def cosine_with_warmup(total_steps: int, warmup_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor
