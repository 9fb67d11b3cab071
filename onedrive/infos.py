"""Reading an info file (``<name>_infos_<split>.json``, docs/design.md §4), for every reader.

``load_infos`` checks the layout all readers rely on: ``{"metadata": {...}, "infos":
[record, ...]}`` with at least one record, each a dict with a unique string ``token``, no key
given twice, and box class names of the file's dataset (``onedrive.info_classes``).
The dataset, the evaluation and the training's tokenizer corpus read info files through
it; what a reader needs beyond that (the dataset: ``cams``) it checks itself.
``InfoFile`` keeps a file read once together with its path, for a run that uses it several
times (tools/eval.py: the baselines, the ego-status report and the scorer).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from onedrive.errors import InputError
from onedrive.info_classes import check_class_names
from onedrive.io import read_json

SHOWN = 5  # tokens quoted in an error message


def load_infos(path: str | os.PathLike) -> tuple[dict, list[dict]]:
    """(metadata, records) of the info file at ``path``; InputError naming the file and the fault otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"info file {path} does not exist")
    try:
        content = read_json(path)  # refuses malformed JSON and a key given twice
    except InputError as error:
        raise InputError(f"info file {error}") from error
    if (
        not isinstance(content, dict)
        or not isinstance(content.get("infos"), list)
        or not isinstance(content.get("metadata"), dict)
    ):
        found = f"keys {sorted(content)[:SHOWN]}" if isinstance(content, dict) else type(content).__name__
        raise InputError(f"info file {path}: expected {{'metadata': {{...}}, 'infos': [...]}}, got {found}")
    records = content["infos"]
    if not records:
        raise InputError(f"info file {path} holds no records")
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("token"), str):
            raise InputError(f"info file {path}: record {index} has no 'token' string")
    duplicated = sorted(token for token, count in Counter(r["token"] for r in records).items() if count > 1)
    if duplicated:
        raise InputError(f"info file {path}: duplicated tokens {duplicated[:SHOWN]}")
    check_class_names(path, content["metadata"], records)
    return content["metadata"], records


class InfoFile(NamedTuple):
    """An info file read and checked by ``load_infos``: its path, ``metadata`` and ``records``."""

    path: Path
    metadata: dict
    records: list[dict]

    @classmethod
    def read(cls, path: str | os.PathLike) -> InfoFile:
        """The info file at ``path``, read and checked once (``load_infos``)."""
        metadata, records = load_infos(path)
        return cls(Path(path), metadata, records)
