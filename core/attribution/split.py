"""The torch.fx split: a *body* (input -> target layer) and a *head* (activation -> logits).

The body runs once without autograd; pytorch-grad-cam only sees the small head, with an
identity "target layer" at its input. Splits are cached per model and layer, and rebuilt when
the model's parameters were replaced.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.attribution.state import logits_of

if TYPE_CHECKING:
    import torch

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- fx split


class NoSplit(Exception):
    """The model cannot be cut at the layer with torch.fx (use the hook fallback)."""


@dataclass
class Split:
    body: torch.nn.Module  # input -> (activation, *extras)
    head: torch.nn.Module  # (activation, *extras) -> model output
    layer: torch.nn.Module  # the target submodule when the split was made
    params: tuple[int, ...]  # ids of the model's parameters then (replaced ones -> re-trace)
    name: str = ""  # the target layer's dotted name


_SPLITS: weakref.WeakKeyDictionary[Any, dict[str, Split | None]] = weakref.WeakKeyDictionary()
_SPLITS_LOCK = threading.RLock()


def get_split(module: torch.nn.Module, name: str, layer: torch.nn.Module) -> Split | None:
    """Cached split of ``module`` at ``name``; None when fx cannot trace it. One split per
    module and layer even when two threads ask at once (a batch's body may be computed ahead
    on another thread: :func:`core.attribution.driver.body_ahead`)."""
    with _SPLITS_LOCK:
        return _get_split(module, name, layer)


def _get_split(module: torch.nn.Module, name: str, layer: torch.nn.Module) -> Split | None:
    cache = _SPLITS.setdefault(module, {})
    split = cache.get(name, False)
    stale = (
        split is not None
        and split is not False
        and (split.layer is not layer or split.params != _param_ids(module))
    )
    if split is False or stale:
        try:
            split = _build_split(module, name, layer)
        except Exception as error:  # torch.fx raises many kinds of errors on untraceable code
            _log.info(
                "cannot cut %s at %s with torch.fx (%s); using a hook",
                type(module).__name__,
                name,
                error,
            )
            split = None
        cache[name] = split
    return split


def _build_split(module: torch.nn.Module, name: str, layer: torch.nn.Module) -> Split:
    import torch.fx as fx

    ancestors = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}

    class CutTracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if qualname == name:
                return True
            if qualname in ancestors:
                return False
            return super().is_leaf_module(m, qualname)

    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()  # trace the inference branches (`if self.training` is baked in)
        graph = CutTracer().trace(module)
    finally:
        for m, training in modes:
            m.training = training
    nodes = list(graph.nodes)
    cuts = [n for n in nodes if n.op == "call_module" and n.target == name]
    if len(cuts) != 1:
        raise NoSplit(f"layer {name} is called {len(cuts)} times")
    cut = cuts[0]
    below = {cut}  # nodes computed from the target activation
    for n in nodes:
        if n is not cut and any(a in below for a in n.all_input_nodes):
            below.add(n)
    from_input = set()  # nodes that depend on the model input
    for n in nodes:
        if n.op == "placeholder" or any(a in from_input for a in n.all_input_nodes):
            from_input.add(n)
    output = nodes[-1]
    if output.op != "output" or output not in below:
        raise NoSplit(f"the output does not depend on layer {name}")
    crossing: list[fx.Node] = []
    for n in nodes:
        if n in below and n is not cut:
            for a in n.all_input_nodes:
                if a not in below and a in from_input and a not in crossing:
                    crossing.append(a)

    body = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for n in nodes:
        if n.op != "output" and (n not in below or n is cut):
            env[n] = body.node_copy(n, lambda a: env[a])
    body.output((env[cut], *[env[c] for c in crossing]))

    head = fx.Graph()
    henv: dict[fx.Node, fx.Node] = {cut: head.placeholder("activation")}
    for i, c in enumerate(crossing):
        henv[c] = head.placeholder(f"crossing_{i}")

    def head_arg(a: fx.Node) -> fx.Node:
        if a not in henv:  # a constant (parameter, buffer, ...) computed above the cut
            henv[a] = head.node_copy(a, head_arg)
        return henv[a]

    for n in nodes:
        if n in below and n is not cut:
            henv[n] = head.node_copy(n, head_arg)
    parts = []
    for graph_part, class_name in ((body, "CamBody"), (head, "CamHead")):
        part = fx.GraphModule(module, graph_part, class_name=class_name)
        part.graph.eliminate_dead_code()
        part.graph.lint()
        part.recompile()
        parts.append(part)
    return Split(body=parts[0], head=parts[1], layer=layer, params=_param_ids(module), name=name)


def _param_ids(module: torch.nn.Module) -> tuple[int, ...]:
    return tuple(id(p) for p in module.parameters())


def head_module(graph: torch.nn.Module, extras: list[Any], device: torch.device) -> Any:
    """The head as pytorch-grad-cam's model: an identity target layer, then the graph."""
    import torch

    class CamHeadModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.target = torch.nn.Identity()
            self.graph = graph
            self.extras = extras
            if next(graph.parameters(), None) is None:  # BaseCAM reads the device from here
                self.anchor = torch.nn.Parameter(torch.empty(0, device=device), False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.target(x)
            # Clones: the head may modify its inputs in place (ReLU(inplace=True), +=).
            extras = [e.clone() if isinstance(e, torch.Tensor) else e for e in self.extras]
            return logits_of(self.graph(x.clone(), *extras))

    return CamHeadModel()
