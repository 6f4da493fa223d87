"""Where things live in the data home, and the content-addressed image store."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from paperclip.config import Settings, get_settings


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def checkpoints(self) -> Path:
        return self.home / "checkpoints"

    @property
    def indexes(self) -> Path:
        return self.home / "indexes"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    def ensure(self) -> Paths:
        for p in (self.home, self.images, self.checkpoints, self.indexes, self.reports, self.cache):
            p.mkdir(parents=True, exist_ok=True)
        return self


def get_paths(settings: Settings | None = None) -> Paths:
    return Paths((settings or get_settings()).home_dir)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ImageStore:
    """Content-addressed files under ``images/``: ``<kind>/ab/cd/<sha256>.<ext>``.

    Paths stored in the DB are relative to the store root; ``resolve`` refuses anything
    that would leave it (traversal or a symlink pointing outside).
    """

    def __init__(self, root: Path):
        self.root = root.resolve()

    def relpath(self, digest: str, kind: str, ext: str) -> str:
        return f"{kind}/{digest[:2]}/{digest[2:4]}/{digest}.{ext.lstrip('.')}"

    def put(self, data: bytes, kind: str, ext: str) -> tuple[str, str]:
        """Store bytes once; returns (relative path, sha256). Idempotent."""
        digest = sha256_bytes(data)
        rel = self.relpath(digest, kind, ext)
        target = self.root / rel
        if not target.exists():
            atomic_write(target, data)
        return rel, digest

    def resolve(self, rel: str) -> Path:
        candidate = (self.root / rel).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            raise FileNotFoundError(rel)
        return candidate
