"""Question-answer turns of a key frame.

Two layouts, both giving ``[{"question", "answer", "type"}, ...]`` per sample token:

* ``OmniDriveQA`` — the OmniDrive-nuScenes release (NVlabs/OmniDrive,
  ``docs/setup.md`` and the ``LoadAnnoatationVQA`` pipeline): one JSON file per
  sample token under ``<dir>/keywords/<split>/``, ``<dir>/desc/<split>/``,
  ``<dir>/vqa/<split>/`` and ``<dir>/conv/<split>/``, read in that order (OmniDrive's).
  ``keywords`` files hold one JSON string, the short driving action (turned into one
  turn whose question is ``KEYWORDS_QUESTION``, OmniDrive's); ``desc`` files hold
  ``{"description": text}`` (one turn whose question is ``DESCRIPTION_QUESTION``);
  ``vqa`` and ``conv`` files hold lists of ``{"question", "answer"}``. Types are the
  folder names. OmniDrive's split folders are ``train`` / ``val``; every split folder
  is indexed, so the mini splits find their samples too. Each of the four files is
  optional (OmniDrive's pipeline reads whichever exist); a sample with none of them has
  no turns, and the conversion counts and reports such samples (``pipeline.convert_splits``).
* ``SplitFileQA`` — the synthetic world's ``<data_root>/qa/<split>.json``, a dict
  ``{sample_token: [{"question", "answer", "type"}]}``; used automatically when that
  file exists and no ``--qa`` folder is given. A sample of the split missing from the
  file is an error naming the file and the token.
"""

from __future__ import annotations

import os
from pathlib import Path

from onedrive.io import read_json

DESCRIPTION_QUESTION = "Describe the current driving scene."
KEYWORDS_QUESTION = "Please shortly describe your driving action."
OMNIDRIVE_KINDS = ("keywords", "desc", "vqa", "conv")


def _check_turn(turn: object, source: str) -> dict:
    if (
        not isinstance(turn, dict)
        or not isinstance(turn.get("question"), str)
        or not isinstance(turn.get("answer"), str)
    ):
        raise ValueError(f"{source}: expected QA turns {{'question': str, 'answer': str}}, got {turn!r}")
    return turn


class OmniDriveQA:
    """QA turns from an OmniDrive-nuScenes folder (see module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"--qa {root}: QA folder does not exist")
        self.files: dict[str, dict[str, Path]] = {}
        for kind in OMNIDRIVE_KINDS:
            for path in sorted(self.root.glob(f"{kind}/*/*.json")):
                self.files.setdefault(path.stem, {})[kind] = path
        if not self.files:
            raise FileNotFoundError(
                f"--qa {root}: no QA files found; expected {', '.join(f'{kind}/<split>/<sample_token>.json' for kind in OMNIDRIVE_KINDS)}"
            )

    def turns(self, sample_token: str) -> list[dict]:
        """The sample's turns in keywords, desc, vqa, conv order; [] when it has none of the four files."""
        files = self.files.get(sample_token, {})
        result = []
        for kind in OMNIDRIVE_KINDS:
            if kind not in files:
                continue
            content = read_json(files[kind])
            if kind == "keywords":
                if not isinstance(content, str):
                    raise ValueError(
                        f"{files[kind]}: expected one JSON string (the driving action), got {content!r:.200}"
                    )
                result.append({"question": KEYWORDS_QUESTION, "answer": content, "type": kind})
                continue
            if kind == "desc":
                if not isinstance(content, dict) or not isinstance(content.get("description"), str):
                    raise ValueError(f"{files[kind]}: expected {{'description': str}}, got {content!r:.200}")
                result.append({"question": DESCRIPTION_QUESTION, "answer": content["description"], "type": kind})
                continue
            if not isinstance(content, list):
                raise ValueError(f"{files[kind]}: expected a list of QA turns, got {type(content).__name__}")
            for turn in content:
                turn = _check_turn(turn, str(files[kind]))
                result.append({"question": turn["question"], "answer": turn["answer"], "type": kind})
        return result


class SplitFileQA:
    """QA turns from one ``{sample_token: [turn, ...]}`` file (the synthetic layout)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        content = read_json(self.path)
        if not isinstance(content, dict):
            raise ValueError(f"{self.path}: expected {{sample_token: [QA turns]}}, got {type(content).__name__}")
        self.by_token = content

    def turns(self, sample_token: str) -> list[dict]:
        if sample_token not in self.by_token:
            raise ValueError(f"{self.path} has no QA entry for sample {sample_token}")
        result = []
        for turn in self.by_token[sample_token]:
            turn = _check_turn(turn, str(self.path))
            result.append({"question": turn["question"], "answer": turn["answer"], "type": str(turn.get("type", "qa"))})
        return result


def split_qa_file(data_root: str | os.PathLike, split: str) -> Path:
    """Where the synthetic layout keeps a split's QA turns."""
    return Path(data_root) / "qa" / f"{split}.json"
