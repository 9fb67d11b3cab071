"""Write a folder atomically: a hidden staging folder beside it, renamed into place when complete.

``StagingFolder(out)`` creates ``.<out name>.staging-<random>/`` next to ``out`` and holds an
exclusive ``flock`` on ``.<out name>.staging-<random>.lock`` while its process lives; the
kernel drops the lock when the process dies, even by SIGKILL. ``publish`` gives the tree
the modes of the umask (``onedrive.io.apply_umask_tree``) and renames it to ``out`` (an
existing ``out`` is moved to ``<staging>.old/`` first and deleted afterwards);
``discard`` removes it.

A process killed before that leaves its staging folder behind. ``clean_leftovers(out)``,
called by each new ``StagingFolder`` for the same ``out``, removes the leftovers whose
lock is free and reports on stderr the ones it keeps: folders of a writer still running,
and a ``.old/`` folder holding the previous ``out`` when the kill came between the two
renames of ``publish`` (``out`` is missing then; move it back by hand).

    python -c "from onedrive.staging import clean_leftovers; print(clean_leftovers('exported/onedrive'))"
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from onedrive.io import apply_umask_tree

LOCK_SUFFIX = ".lock"
OLD_SUFFIX = ".old"


def staging_prefix(out: Path) -> str:
    return f".{out.name}.staging-"


@dataclass
class Leftovers:
    """What ``clean_leftovers`` found beside ``out``."""

    removed: list[Path] = field(default_factory=list)  # staging folders of dead writers, deleted
    in_use: list[Path] = field(default_factory=list)  # staging folders whose writer still holds the lock
    previous: list[Path] = field(default_factory=list)  # <staging>.old/<out name>: the previous out, kept


def clean_leftovers(out: str | os.PathLike, report: bool = True) -> Leftovers:
    """Remove the staging folders of interrupted writers of ``out`` (module docstring); report the rest on stderr."""
    out = Path(out)
    found = Leftovers()
    if not out.parent.is_dir():
        return found
    for lock_path in sorted(out.parent.glob(f"{staging_prefix(out)}*{LOCK_SUFFIX}")):
        staging = lock_path.with_name(lock_path.name[: -len(LOCK_SUFFIX)])
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found.in_use.append(staging)
                continue
            old = staging.with_name(staging.name + OLD_SUFFIX)
            if old.exists() and not out.exists():
                found.previous.append(old / out.name)
                continue
            for path in (staging, old):
                if path.exists():
                    shutil.rmtree(path)
                    found.removed.append(path)
            lock_path.unlink()
    if report:
        for path in found.removed:
            print(f"removed {path}, left by an interrupted write of {out}", file=sys.stderr)
        for path in found.in_use:
            print(f"note: {path} is being written by another running process (writing {out} too)", file=sys.stderr)
        for path in found.previous:
            print(
                f"warning: {out} is missing and {path} holds its previous content, left by an interrupted "
                f"replacement: move it back to {out} or delete it",
                file=sys.stderr,
            )
    return found


class StagingFolder:
    """A locked hidden folder beside ``out`` that becomes ``out`` on ``publish`` (module docstring)."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(self.out)
        self.path = Path(tempfile.mkdtemp(prefix=staging_prefix(self.out), dir=self.out.parent))
        self._lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        pending = self.path.with_name(self.path.name + ".pending")  # locked before clean_leftovers can see it
        self._lock = pending.open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(pending, self._lock_path)

    def publish(self, overwrite: bool = False) -> Path:
        """Rename the staged folder to ``out`` (replacing it only with ``overwrite``); return ``out``."""
        apply_umask_tree(self.path)
        if self.out.exists():
            if not overwrite:
                raise FileExistsError(f"{self.out} exists; pass overwrite=True")
            old = self.path.with_name(self.path.name + OLD_SUFFIX)
            old.mkdir()
            os.replace(self.out, old / self.out.name)
            os.replace(self.path, self.out)
            shutil.rmtree(old)
        else:
            os.replace(self.path, self.out)
        self._release()
        return self.out

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        self._lock_path.unlink(missing_ok=True)
        self._lock.close()
