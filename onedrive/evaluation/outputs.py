"""An evaluation's output folder holds one run: what an earlier run wrote there is removed first.

``tools/eval.py --out DIR`` writes ``RUN_OUTPUTS`` into DIR: ``metrics.json`` (written last,
so it exists only when the whole run succeeded), ``metrics.md``, ``summary.png``, ``bev/``,
``detection/`` (devkit outputs), ``baselines/`` and, with ``--checkpoint``, ``predictions/``.
``start_run`` removes those entries before anything is computed: a failed run leaves no
``metrics.json`` from an earlier one looking current, and a run never scores a prediction
file it did not write or was not given (e.g. an old ``predictions/text.jsonl`` with
``--no-text``). Other entries of DIR are not touched; the predictions being scored are kept
when they lie inside DIR.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from onedrive.errors import InputError

RUN_OUTPUTS = ("metrics.json", "metrics.md", "summary.png", "bev", "detection", "baselines", "predictions")


def start_run(out_dir: str | os.PathLike, scored: str | os.PathLike | None = None) -> Path:
    """Remove an earlier run's ``RUN_OUTPUTS`` from ``out_dir`` (created if absent), except the ``scored``
    predictions folder and what holds it; return ``out_dir``. ``out_dir`` equal to ``scored`` is an ``InputError``."""
    out_dir = Path(out_dir)
    if scored is not None:
        scored = Path(scored).resolve()
        if scored == out_dir.resolve():
            raise InputError(
                f"--out {out_dir} is the predictions folder being scored; write the evaluation elsewhere "
                "(a predictions folder holds prediction files only)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_OUTPUTS:
        entry = out_dir / name
        if scored is not None and (entry.resolve() == scored or entry.resolve() in scored.parents):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()
    return out_dir
