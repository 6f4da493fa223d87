"""``compile: true``: the training forward through torch.compile (Inductor), as CUDA graphs on a GPU.

Every training batch has the same shape (the sampler's batch size is fixed, micro-batches split it
evenly), so on one CUDA device the compiled graph is also captured as a CUDA graph (mode
``reduce-overhead``): one launch per step instead of hundreds, which is what small batches such as
the paper's 32 are bound by. Under DDP the gradient hooks must run between graph pieces, so
there it is plain Inductor; on the CPU too (C++ kernels; needs a C compiler).
"""

from __future__ import annotations

import torch
from torch import nn


class _Graphed(nn.Module):
    """Marks a new step before each call, so CUDA graph trees may reuse the last step's buffers."""

    def __init__(self, compiled: nn.Module):
        super().__init__()
        self.compiled = compiled

    def forward(self, *args, **kwargs):
        torch.compiler.cudagraph_mark_step_begin()
        return self.compiled(*args, **kwargs)


def compile_mode(device: torch.device, world: int) -> str:
    return "reduce-overhead" if device.type == "cuda" and world == 1 else "default"


def compile_model(module: nn.Module, device: torch.device, world: int = 1) -> nn.Module:
    mode = compile_mode(device, world)
    compiled = torch.compile(module, mode=mode, dynamic=False)
    return _Graphed(compiled) if mode == "reduce-overhead" else compiled
