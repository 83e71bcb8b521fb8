"""Generated files in the repository are rewritten whole, and only when their content changes."""

from __future__ import annotations

import os
from pathlib import Path

from devtools.generated_files import write_if_changed


def test_the_same_content_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cost.md"
    assert write_if_changed(path, "one\n")
    os.utime(path, (1_000_000, 1_000_000))
    assert not write_if_changed(path, b"one\n")
    assert path.stat().st_mtime == 1_000_000


def test_new_content_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "cost.md"
    write_if_changed(path, "one\n")
    before = path.stat().st_ino
    assert write_if_changed(path, "two\n")
    assert path.read_text() == "two\n" and path.stat().st_ino != before  # renamed over, not written into
    assert [found.name for found in path.parent.iterdir()] == ["cost.md"]
    assert path.stat().st_mode & 0o777 == 0o644
