"""Captions: the raw-abstract variant and structured summaries (offline extractor or an LLM).

``run_captions`` is imported on first use, so ``import training.captions.raw`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.captions.run import CaptionSummary, run_captions

__all__ = ["CaptionSummary", "run_captions"]


def __getattr__(name: str):
    if name in __all__:
        from training.captions import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
