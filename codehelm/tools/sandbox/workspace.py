"""A sandbox workspace seen from the host: path confinement and the file store on top of it.

Any backend whose workspace is a host directory that sandboxed code can write to (today
`LocalSandbox`) must never let a file API call leave it. Two guards do that:

- `confine` resolves a path (symlinks included) and refuses anything outside the root;
- `open_beneath` then opens the confined path one component at a time from the root
  without following symlinks, so code in the sandbox that swaps a directory for a symlink
  between the check and the open (a race it controls) is refused rather than followed.

`WorkspaceFiles` is the `FileStore` built from both: every read, write and listing goes
through them, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from codehelm.errors import BadInputError, SandboxError
from codehelm.tools.sandbox.base import FileInfo

__all__ = ["WorkspaceFiles", "confine", "open_beneath"]


def confine(root: Path, path: str) -> Path:
    """Resolve `path` (relative to `root`, or absolute) and refuse anything outside `root`.

    Symlinks are resolved first, so a link pointing outside the workspace is refused too.
    `root` must be resolved already.
    """
    if "\x00" in path:
        raise BadInputError(f"invalid path (NUL byte): {path!r}")
    candidate = Path(path)
    try:
        full = (candidate if candidate.is_absolute() else root / candidate).resolve()
    except (OSError, RuntimeError) as exc:  # e.g. a symlink loop
        raise BadInputError(f"cannot resolve path {path!r}: {exc}") from exc
    if not full.is_relative_to(root):
        raise BadInputError(f"path is outside the sandbox workspace: {path!r}")
    return full


def open_beneath(root: Path, full: Path, flags: int, *, parents: bool = False) -> int:
    """Open `full` (already confined) walking down from `root` without following symlinks.

    `confine` resolved every symlink, so one met here was planted after the check, by
    code racing us: refuse it (ELOOP) rather than follow it out of the workspace. With
    `parents`, missing directories on the way are created. Returns a file descriptor.
    """
    parts = full.relative_to(root).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            step = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                child = _open_at(fd, part, step)
            except FileNotFoundError:
                if not parents:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                child = _open_at(fd, part, step)
            os.close(fd)
            fd = child
        if not parts:
            return os.dup(fd)
        return _open_at(fd, parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    finally:
        os.close(fd)


def _open_at(directory: int, name: str, flags: int) -> int:
    try:
        return os.open(name, flags, 0o666, dir_fd=directory)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(directory, name):
            raise OSError(errno.ELOOP, "symlink in the path", name) from exc
        raise


def _is_link(directory: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=directory).st_mode)
    except OSError:
        return False


def _refused(path: str, exc: OSError) -> BadInputError:
    if exc.errno == errno.ELOOP:
        return BadInputError(f"path is outside the sandbox workspace (symlink): {path!r}")
    return BadInputError(f"cannot access {path}: {exc.strerror or exc}")


class WorkspaceFiles:
    """The sandbox workspace as a `FileStore`. Every path is confined to the workspace root.

    Paths are resolved and checked, then opened component by component without following
    symlinks, so code in the sandbox swapping a directory for a symlink mid-call cannot
    redirect a read or write outside the workspace. All of it runs in a thread, off the
    event loop. `root` gives the workspace (it may create it: it is called in that thread);
    `is_open` says whether the sandbox still accepts calls.
    """

    def __init__(self, root: Callable[[], Path], is_open: Callable[[], bool]) -> None:
        self._root = root
        self._is_open = is_open

    def _path(self, path: str) -> tuple[Path, Path]:
        """The workspace root and `path` confined to it."""
        if not self._is_open():
            raise SandboxError("the sandbox is closed")
        root = self._root()
        return root, confine(root, path)

    async def read(self, path: str) -> str:
        """Read a text file as UTF-8; undecodable bytes become U+FFFD."""
        data = await self.read_bytes(path)
        return data.decode("utf-8", errors="replace")

    async def read_bytes(self, path: str) -> bytes:
        def read() -> bytes:
            root, full = self._path(path)
            with os.fdopen(open_beneath(root, full, os.O_RDONLY), "rb") as handle:
                return handle.read()

        try:
            return await asyncio.to_thread(read)
        except FileNotFoundError:
            raise BadInputError(f"no such file in the sandbox workspace: {path}") from None
        except IsADirectoryError:
            raise BadInputError(f"is a directory, not a file: {path}") from None
        except OSError as exc:
            raise _refused(path, exc) from None

    async def write(self, path: str, data: str | bytes) -> None:
        """Write a file, creating parent directories. `str` is written as UTF-8."""
        payload = data.encode("utf-8") if isinstance(data, str) else data

        def write() -> None:
            root, full = self._path(path)
            if full == root:
                raise BadInputError(f"cannot write to the workspace root: {path!r}")
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            with os.fdopen(open_beneath(root, full, flags, parents=True), "wb") as handle:
                handle.write(payload)

        try:
            await asyncio.to_thread(write)
        except IsADirectoryError:
            raise BadInputError(f"is a directory, not a file: {path}") from None
        except (FileExistsError, NotADirectoryError) as exc:
            raise BadInputError(f"cannot write {path}: {exc}") from None
        except OSError as exc:
            raise _refused(path, exc) from None

    async def list(self, path: str = ".") -> list[FileInfo]:
        """Entries directly inside a directory (not recursive), sorted by path."""

        def scan() -> list[FileInfo]:
            root, full = self._path(path)
            fd = open_beneath(root, full, os.O_RDONLY | os.O_DIRECTORY)
            try:
                infos = []
                with os.scandir(fd) as entries:
                    for entry in entries:
                        entry_stat = entry.stat(follow_symlinks=False)
                        infos.append(
                            FileInfo(
                                path=(full / entry.name).relative_to(root).as_posix(),
                                is_dir=entry.is_dir(follow_symlinks=False),
                                size=entry_stat.st_size,
                            )
                        )
            finally:
                os.close(fd)
            return sorted(infos, key=lambda info: info.path)

        try:
            return await asyncio.to_thread(scan)
        except FileNotFoundError:
            raise BadInputError(f"no such directory in the sandbox workspace: {path}") from None
        except NotADirectoryError:
            raise BadInputError(f"not a directory: {path}") from None
        except OSError as exc:
            raise _refused(path, exc) from None
