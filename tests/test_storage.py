from __future__ import annotations

import pytest

from paperclip.storage import ImageStore, atomic_write


def test_content_addressed_put_is_idempotent(tmp_path):
    store = ImageStore(tmp_path / "images")
    rel1, digest = store.put(b"abc", "original", "jpg")
    rel2, _ = store.put(b"abc", "original", "jpg")
    assert rel1 == rel2 and digest in rel1
    assert store.resolve(rel1).read_bytes() == b"abc"
    assert len(list((tmp_path / "images").rglob("*.jpg"))) == 1


@pytest.mark.parametrize("rel", ["../secret.txt", "/etc/passwd", "original/../../secret.txt", "link.jpg"])
def test_resolve_refuses_escape(tmp_path, rel):
    (tmp_path / "secret.txt").write_text("x")
    root = tmp_path / "images"
    root.mkdir()
    (root / "link.jpg").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(FileNotFoundError):
        ImageStore(root).resolve(rel)


def test_atomic_write_leaves_no_temp(tmp_path):
    atomic_write(tmp_path / "a" / "f.bin", b"1")
    atomic_write(tmp_path / "a" / "f.bin", b"2")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.bin"]
    assert (tmp_path / "a" / "f.bin").read_bytes() == b"2"
