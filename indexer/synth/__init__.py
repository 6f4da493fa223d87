"""A synthetic HST-like archive: 16 classes of target, rendered like MAST previews, with abstracts."""

from indexer.synth.generate import COLLECTION, contact_sheet, generate
from indexer.synth.scenes import CLASSES

__all__ = ["CLASSES", "COLLECTION", "contact_sheet", "generate"]
