"""Atomic JSON writing: an interrupted run never leaves a half-written file.

The document is serialised to a temporary file in the destination folder, flushed to
disk, then moved over the destination with ``os.replace`` (atomic on POSIX and
Windows when both paths are on one file system). NaN and infinity are refused
(``allow_nan=False``): JSON has no such numbers and readers would choke on them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_json_atomic(path: str | os.PathLike, document: Any) -> Path:
    """Write ``document`` as JSON to ``path`` atomically; return the path.

    Raises ``ValueError`` (naming the path) when the document holds NaN / infinity or
    something JSON cannot encode; the destination is then left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            try:
                json.dump(document, handle, allow_nan=False, separators=(",", ":"))
            except (TypeError, ValueError) as error:
                raise ValueError(f"cannot write {path} as JSON: {error}") from error
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise
    return path
