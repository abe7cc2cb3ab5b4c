"""Package `release/app/` as the zip archive the web fleet installs at boot.

The archive is byte-for-byte reproducible: entries sorted, one fixed timestamp,
fixed permissions, and no bytecode or caches. Its content hash, and so the
CDK asset hash and every template that names it, changes only when a file of
the release does. Ship it with `s3_assets.Asset(scope, id, path=str(archive))`.

    python -m release.build [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("app")
DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "build" / "release"
# The earliest time a zip entry can carry.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRECTORIES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})
EXECUTABLE, REGULAR = 0o755, 0o644


def release_version(source: Path = SOURCE) -> str:
    """The version the release declares in its VERSION file."""
    return (source / "VERSION").read_text(encoding="utf-8").strip()


def release_files(source: Path = SOURCE) -> list[Path]:
    """Files that belong in the archive, in archive order."""
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not EXCLUDED_DIRECTORIES.intersection(path.relative_to(source).parts)
        and path.suffix not in EXCLUDED_SUFFIXES
    )


def build_release(out_dir: Path = DEFAULT_OUT_DIR, source: Path = SOURCE) -> Path:
    """Write the archive into `out_dir` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"web-{release_version(source)}.zip"
    # A partial file of its own: builds running at once (test workers, a synth
    # beside them) each replace the archive with the same bytes, atomically.
    handle, name = tempfile.mkstemp(prefix=f".{archive.name}.", dir=out_dir)
    os.close(handle)
    partial = Path(name)
    try:
        _write(partial, source)
        partial.chmod(REGULAR)
        partial.replace(archive)
    finally:
        partial.unlink(missing_ok=True)
    return archive


def _write(partial: Path, source: Path) -> None:
    with zipfile.ZipFile(partial, "w") as bundle:
        for path in release_files(source):
            entry = zipfile.ZipInfo(
                path.relative_to(source).as_posix(), FIXED_TIMESTAMP
            )
            entry.compress_type = zipfile.ZIP_DEFLATED
            mode = EXECUTABLE if path.stat().st_mode & 0o111 else REGULAR
            entry.external_attr = (0o100000 | mode) << 16
            bundle.writestr(entry, path.read_bytes())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT_DIR
    sys.stdout.write(f"{build_release(target)}\n")
