"""What a bad-input case builds its input in: a temporary folder and small shared builders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from checkpoint_files import write_checkpoint


@dataclass
class Workspace:
    tmp: Path

    def write_json(self, relative: str, document) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        return path

    def write_text(self, relative: str, text: str) -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def train_config(self, relative: str = "config.py") -> Path:
        """A tiny experiment config (``tiny_experiment``) whose checks pass: data root, an info file, output ``out/``.

        Nothing in the info file is read before the config and the resume checkpoint are checked.
        """
        data = self.tmp / "data"
        self.write_text("data/infos/tiny_infos_train.json", "[]")
        return self.write_text(
            relative,
            "from onedrive.training.tiny_run import tiny_experiment\n\n\n"
            f"def build():\n    return tiny_experiment({str(data)!r}, {str(self.tmp / 'out')!r})\n",
        )

    def checkpoint(self, relative: str = "out/checkpoint-2", omit: tuple[str, ...] = (),
                   truncate: tuple[str, ...] = ()) -> Path:
        """A Trainer ``checkpoint-N`` folder (``tests/helpers/checkpoint_files``) without ``omit``, ``truncate`` cut short."""
        return write_checkpoint(self.tmp / relative, omit=omit, truncate=truncate)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
