"""Rebuild ``tests/data/hst-mini/`` from the full shared sample (``../shared/data/hst-mini``).

The vendored copy keeps every record, abstract and proposal id, with previews downsized (long
side 256 px, still above every model's 224 px input) and the full-size MAST preview cut to a
1280 px long side, so a clone anywhere runs the real-data tests. Each manifest record gives the
vendored file's size and digest, and under ``source`` those of the file it was made from.

    python tests/data/make_hst_mini.py [SOURCE]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent / "hst-mini"
PREVIEW_SIDE = 256
FULL_SIZE_SIDE = 1280
FULL_SIZE = "hst_15354_01_acs_wfc_total_jdi601_drc.jpg"


def shrink(src: Path, dst: Path, side: int, **save) -> tuple[int, int]:
    with Image.open(src) as img:
        img.load()
        img.thumbnail((side, side), Image.Resampling.LANCZOS)
        dst.parent.mkdir(parents=True, exist_ok=True)
        img.save(dst, **save)
        return img.size


def main(source: Path) -> None:
    records = [json.loads(line) for line in (source / "manifest.jsonl").read_text().splitlines() if line]
    lines = []
    for rec in records:
        src, dst = source / rec["file"], HERE / rec["file"]
        width, height = shrink(src, dst, PREVIEW_SIDE, format="PNG", optimize=True)
        rec["source"] = {"width": rec["width"], "height": rec["height"], "sha256": rec["sha256"]}
        rec.update(width=width, height=height, sha256=hashlib.sha256(dst.read_bytes()).hexdigest())
        lines.append(json.dumps(rec, ensure_ascii=False))
    (HERE / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    shutil.copy(source / "abstracts_noid.txt", HERE / "abstracts_noid.txt")
    shrink(source / FULL_SIZE, HERE / FULL_SIZE, FULL_SIZE_SIDE, format="JPEG", quality=90)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "data" / "hst-mini")
