"""The inference copy (``core.models.fold``) follows its original: every way a parameter, buffer
or submodule of the original can change gives a new copy whose outputs match the changed one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.models.fold import _state_key, inference_module


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    ).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
    return net


def _in_place_weight(net):
    with torch.no_grad():
        net[0].weight.mul_(1.5)


def _in_place_buffer(net):
    net[3][1].running_mean.add_(0.3)


def _new_parameter(net):
    net[6].weight = nn.Parameter(net[6].weight.detach() * -1.0)


def _swapped_data(net):
    net[0].bias.data = net[0].bias.detach() + 1.0


def _new_submodule(net):
    net[3][0] = nn.Conv2d(4, 4, 3, padding=1, bias=False)


def _a_training_step(net):
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    net(torch.randn(4, 3, 8, 8)).sum().backward()
    opt.step()
    net.eval()


@pytest.mark.parametrize(
    "change",
    [
        _in_place_weight,
        _in_place_buffer,
        _new_parameter,
        _swapped_data,
        _new_submodule,
        _a_training_step,
    ],
)
def test_a_changed_original_gets_a_new_copy_with_its_outputs(change):
    net = _net()
    x = torch.randn(2, 3, 8, 8)
    first = inference_module(net)
    key = _state_key(net)
    assert _state_key(net) == key and inference_module(net) is first  # cached while unchanged
    change(net)
    assert _state_key(net) != key
    copy = inference_module(net)
    assert copy is not first
    with torch.no_grad():
        torch.testing.assert_close(copy(x), net(x), rtol=1e-5, atol=1e-5)
