"""Replacing a publication folder as a whole (PUBLICATION.md section 1).

A publication is replaced as a whole and a failed run leaves the last good
publication in place: the files are written into a staging folder beside the
target, which is swapped in with one atomic ``renameat2(RENAME_EXCHANGE)``
(through ``ctypes``) or, where that does not exist, two renames that
``recover_publications`` can undo.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from nhv_pipeline.core.faults import fault_point

# --------------------------------------------------------------------------
# Replacing a publication as a whole (section 1)
# --------------------------------------------------------------------------

_STAGING_PREFIX = ".staging-"
_RETIRED_PREFIX = ".retired-"


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def recover_publications(published_root: Path, report_year: int | None = None) -> list[Path]:
    """Undo what a run killed in the middle of a swap left behind.

    Without an atomic exchange a swap renames ``<year>`` to
    ``.retired-<year>-<random>`` and then the staging folder to ``<year>``. A
    crash between the two leaves no ``<year>`` but a retired folder: that is the
    last good publication, so it is renamed back. A retired folder next to a
    present ``<year>`` is a finished swap whose clean-up did not run, and a
    ``.staging-*`` folder is an unfinished publication or, after an exchange,
    the replaced one: both are removed. With ``report_year`` only that year's
    leftovers are touched, so a run publishing another year at the same time
    keeps its staging folder. Returns the year folders restored.
    """
    root = Path(published_root)
    if not root.is_dir():
        return []
    year_glob = "*" if report_year is None else f"{int(report_year)}-*"
    restored: list[Path] = []
    for retired in sorted(root.glob(f"{_RETIRED_PREFIX}{year_glob}")):
        year = retired.name[len(_RETIRED_PREFIX) :].split("-", 1)[0]
        target = root / year
        if not target.exists():
            os.rename(retired, target)
            restored.append(target)
        else:
            shutil.rmtree(retired, ignore_errors=True)
    for staging in sorted(root.glob(f"{_STAGING_PREFIX}{year_glob}")):
        shutil.rmtree(staging, ignore_errors=True)
    _fsync_dir(root)
    return restored


PUBLISHED_DIR_MODE = 0o755
PUBLISHED_FILE_MODE = 0o644


def make_world_readable(folder: Path) -> None:
    """Section 5: published folders 0755 and files 0644, so a web server or a publisher's account can read them.

    ``tempfile.mkdtemp`` makes the staging folder 0700; this runs on it (and
    everything below it) before it is swapped in. Symbolic links are left alone.
    """
    folder = Path(folder)
    os.chmod(folder, PUBLISHED_DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                os.chmod(p, PUBLISHED_DIR_MODE)
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                os.chmod(p, PUBLISHED_FILE_MODE)


def make_published_root(published_root: Path) -> Path:
    """The publications' folder, created 0755 if missing.

    Section 5: it is for everyone, while a run's umask keeps the warehouse around it owner-only.
    """
    root = Path(published_root)
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, PUBLISHED_DIR_MODE)
    return root


def _discard(retired: Path) -> None:
    shutil.rmtree(retired)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing directory entries in one atomic step: Linux ``renameat2(RENAME_EXCHANGE)``.

    Returns False where the kernel, the C library or the file system cannot
    (another OS, glibc before 2.28, some network file systems); the caller then
    falls back to two renames. Any other error is raised.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(a), None, str(b))


@contextlib.contextmanager
def publish_folder(
    published_root: Path,
    report_year: int,
    on_replaced: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``published_root/<report_year>``.

    Section 1: readers never see a mix of an old and a new publication, and a
    failed run leaves the last good one in place. So every file is written into
    ``.staging-<year>-<random>`` beside the target (same file system, so the
    renames are atomic) and only a block that finishes swaps it in:

    1. staging and ``<year>`` are exchanged in one step (``renameat2`` with
       ``RENAME_EXCHANGE``): at every instant ``<year>`` is the old folder or the
       new one, even under ``kill -9``; the staging name then holds the old one.
       With no previous publication, staging is simply renamed to ``<year>``.
    2. ``on_replaced(previous)`` — the hook for keeping old publications; by
       default the previous folder is deleted.

    Where no atomic exchange exists, two renames are used instead:
    ``<year>`` -> ``.retired-<year>-<random>``, then staging -> ``<year>``; between
    them ``<year>`` is briefly absent (never mixed), and a crash right there
    leaves the old publication as ``.retired-*``, which ``recover_publications``
    (run on entry here, for this year, and at the start of every CLI run for all
    years) renames back.
    On an exception inside the block the staging folder is removed, the
    previous publication is not touched, and the exception propagates.
    """
    root = make_published_root(published_root)
    recover_publications(root, report_year)
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{int(report_year)}-", dir=root))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    target = root / str(int(report_year))
    previous: Path | None = None
    try:
        make_world_readable(staging)
        _fsync_dir(staging)
        if target.exists() and _exchange(staging, target):
            previous = staging  # the staging name now holds the previous publication
            _fsync_dir(root)
            fault_point("publish_swap")
        else:
            if target.exists():
                previous = root / f"{_RETIRED_PREFIX}{int(report_year)}-{secrets.token_hex(6)}"
                os.rename(target, previous)
                fault_point("publish_swap_gap")
            try:
                os.rename(staging, target)
            except BaseException:
                if previous is not None:
                    os.rename(previous, target)
                raise
            _fsync_dir(root)
            fault_point("publish_swap")
    except BaseException:
        if previous is not staging:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        (on_replaced or _discard)(previous)
