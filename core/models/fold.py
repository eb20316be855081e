"""The inference copy of a classifier's module: the same function, fewer and faster layers.

* **Batch norm folded** into the convolution before it (``fuse_conv_bn_eval``'s weight math):
  an eval-mode ``BatchNorm2d`` is an affine map per channel, so the convolution can apply it.
  The batch-norm module becomes an ``nn.Identity`` under the same name, so every dotted layer
  name still resolves and the module's own ``forward`` runs unchanged.
* **Symmetric padding by the convolution**: a convolution that pads explicitly (the built-in
  model's TensorFlow "same" padding, :class:`~core.models.imagenet.Conv2dSame`) becomes a
  plain ``nn.Conv2d`` with ``padding=`` where the padding is the same on both sides.
* **Channels-last weights** on the CPU (oneDNN's NHWC kernels; the inputs are channels-last too).

Pairs are found by tracing the module with ``torch.fx`` (convolutions and batch norms as
leaves): a batch norm is folded only when its input is a convolution's output that nothing
else reads, and each of the two modules is called once. A module fx cannot trace is used as it
is. The copy is cached per module and rebuilt when a parameter or buffer of the original
changed (replaced, or modified in place: training). Outputs equal the original's to float
rounding (about 1e-6 relative); the original module is never modified.
"""

from __future__ import annotations

import copy
import threading
import weakref
from typing import Any

import torch
from torch import nn

# module -> (state key, inference copy, names of the convolutions that absorbed a batch norm)
_COPIES: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, nn.Module, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def inference_module(module: nn.Module) -> nn.Module:
    """The cached inference copy of ``module`` (``module`` itself when nothing can be folded)."""
    return _entry(module)[1]


def folded_convolutions(module: nn.Module) -> frozenset[str]:
    """Dotted names of the convolutions whose output in the copy is their batch norm's output.

    A CAM taken at one of these layers must use the original module.
    """
    return _entry(module)[2]


def _entry(module: nn.Module) -> tuple[tuple, nn.Module, frozenset[str]]:
    key = _state_key(module)
    with _LOCK:
        cached = _COPIES.get(module)
        if cached is None or cached[0] != key:
            # Normal tensors even when first asked inside inference mode: CAMs need autograd.
            with torch.inference_mode(False), torch.no_grad():
                clone, folded = build_inference_copy(module)
            cached = _COPIES[module] = (key, clone, folded)
        return cached


def _state_key(module: nn.Module) -> tuple:
    """Each parameter's and buffer's identity, version (in-place changes) and storage address
    (``.data`` swapped, a move to another device); the copy is current while it is equal.

    A walk over the modules' own dicts: ``parameters()``/``buffers()`` build every dotted
    name on each call, twice the time (it runs a few times per batch).
    """
    key = []
    seen = set()
    stack = [module]
    while stack:
        sub = stack.pop()
        if id(sub) in seen:
            continue
        seen.add(id(sub))
        for tensor in (*sub._parameters.values(), *sub._buffers.values()):
            if tensor is not None:
                key.append((id(tensor), tensor._version, tensor.data_ptr()))
        stack.extend(child for child in sub._modules.values() if child is not None)
    return tuple(key)


def build_inference_copy(module: nn.Module) -> tuple[nn.Module, frozenset[str]]:
    """A folded, eval-mode copy of ``module`` and the names of its folded convolutions."""
    pairs = conv_bn_pairs(module)
    plain_convs = [name for name, m in module.named_modules() if _plain_conv(m) is not None]
    if not pairs and not plain_convs:
        return module, frozenset()
    clone = copy.deepcopy(module).eval()
    for conv_name, bn_name in pairs:
        conv, bn = clone.get_submodule(conv_name), clone.get_submodule(bn_name)
        weight, bias = torch.nn.utils.fusion.fuse_conv_bn_weights(
            conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
        )
        conv.weight, conv.bias = weight, bias
        _replace(clone, bn_name, nn.Identity())
    for name in plain_convs:
        _replace(clone, name, _plain_conv(clone.get_submodule(name)))
    if _on_cpu(clone) and any(isinstance(m, nn.Conv2d) for m in clone.modules()):
        clone = clone.to(memory_format=torch.channels_last)
    clone.requires_grad_(False)
    return clone, frozenset(conv for conv, _ in pairs)


def conv_bn_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """``(convolution, batch norm)`` names where the batch norm only reads the convolution."""
    import torch.fx as fx

    class LeafTracer(fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
                return True
            return super().is_leaf_module(m, qualname)

    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        graph = LeafTracer().trace(module)
    except Exception:  # torch.fx raises many kinds of errors on untraceable code
        return []
    finally:
        for m, training in modes:
            m.training = training
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or calls[node.target] != 1 or len(node.args) != 1:
            continue
        bn = module.get_submodule(node.target)
        source = node.args[0]
        if not _foldable_bn(bn) or not isinstance(source, fx.Node):
            continue
        if source.op != "call_module" or calls[source.target] != 1 or len(source.users) != 1:
            continue
        conv = module.get_submodule(source.target)
        known = type(conv).forward is nn.Conv2d.forward or hasattr(conv, "as_plain_conv")
        if known and conv.out_channels == bn.num_features:
            pairs.append((source.target, node.target))
    return pairs


def _foldable_bn(m: nn.Module) -> bool:
    return (
        type(m) is nn.BatchNorm2d
        and m.track_running_stats
        and m.running_mean is not None
        and m.running_var is not None
    )


def _plain_conv(m: nn.Module) -> nn.Conv2d | None:
    """A plain ``nn.Conv2d`` doing ``m``'s explicit padding itself, when it is symmetric."""
    as_plain = getattr(m, "as_plain_conv", None)
    return as_plain() if callable(as_plain) else None


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)


def _on_cpu(module: nn.Module) -> bool:
    first: Any = next(iter([*module.parameters(), *module.buffers()]), None)
    return first is None or first.device.type == "cpu"
