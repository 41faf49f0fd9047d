"""Process locks on a file (进程锁), the same on Windows and POSIX, held only by the process that took them.

:func:`hold` takes an exclusive lock on a lock file without blocking: ``fcntl.flock`` on POSIX,
``msvcrt.locking`` on one byte on Windows.  The operating system releases it when the process ends,
however it ends (a crash, ``kill -9``, a power cut leaves no lock file to clean up, since the file
itself means nothing).  A child made by ``fork`` would share the lock with its parent — and keep it
after the parent is killed — so every lock this module holds is closed in the child right after the
fork (:func:`os.register_at_fork`); Windows children never inherit it.

:func:`is_held` asks whether another live process holds a lock file: the way a batch tells its own
leftover temporary folders (their owner is dead) from those of a run still going.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LockHeld", "hold", "is_held"]

_HELD: set[int] = set()  # descriptors of the locks this process holds


class LockHeld(Exception):
    """Another process holds the lock (已被占用)."""


def _close_inherited() -> None:
    """In a forked child: drop the parent's locks, so that only the parent holds them."""
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False when another process holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def hold(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block (加锁); raises
    :class:`LockHeld` at once when another process, or another open of it in this one, holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    try:
        if not _try_lock(fd):
            raise LockHeld(str(path))
        _HELD.add(fd)
        try:
            yield
        finally:
            _HELD.discard(fd)
            _unlock(fd)
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock on ``path`` (锁是否有人持有); False if the file is gone."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError:
        return False
    try:
        if not _try_lock(fd):
            return True
        _unlock(fd)
        return False
    finally:
        os.close(fd)
