"""Load prediction files and check them against the split's info file.

File formats (``docs/design.md`` §4 "Prediction files"): ``detection.json`` (nuScenes submission),
``planning.json`` ``{token: {"trajectory": [[x, y], ...]}}``, ``lanes.json``
``{token: [{"points": [[x, y, z], ...], "score": s}, ...]}``, ``text.jsonl``
(``{"sample_token", "question", "prediction", "reference"}`` per line).

Rule: the split is the info file's records. A prediction file may hold more samples (ignored), but
every split sample must be present and valid; otherwise a ValueError names the file, the reason,
the number of offending samples and the first few tokens. Nothing is dropped silently.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from onedrive.errors import InputError
from onedrive.evaluation.detection import MAX_BOXES_PER_SAMPLE
from onedrive.infos import load_infos as load_infos  # the evaluation's API since before onedrive.infos
from onedrive.io import parse_json, read_json
from onedrive.numbers import as_numbers, is_number
from onedrive.schema import NUSCENES_DETECTION_CLASSES

PREDICTION_FILES = {
    "detection": "detection.json",
    "planning": "planning.json",
    "lanes": "lanes.json",
    "text": "text.jsonl",
    "navsim": "navsim.json",
}
SHOWN = 5  # tokens quoted in an error message


def _fail(path: Path | str, reason: str, tokens: Iterable[str]) -> None:
    tokens = list(tokens)
    if tokens:
        raise InputError(f"{path}: {reason} for {len(tokens)} split sample(s), e.g. {tokens[:SHOWN]}")


def prediction_files(folder: str | os.PathLike) -> dict[str, Path]:
    """{family: path} of the prediction files in ``folder`` (``PREDICTION_FILES``).

    Any other entry (``plan.json``, ``lane.json``, a sub-folder) is an ``InputError`` listing it with the expected
    names: a misnamed file would otherwise leave its metric family out without a word. Hidden entries (a name
    starting with ``.``, e.g. an editor's or an atomic write's temporary file) are not looked at.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"predictions folder {folder} does not exist or is not a folder")
    expected = sorted(PREDICTION_FILES.values())
    entries = sorted(entry.name for entry in folder.iterdir() if not entry.name.startswith("."))
    unknown = [name for name in entries if name not in expected or not (folder / name).is_file()]
    if unknown:
        raise InputError(
            f"{folder} holds {unknown}, which are not prediction files; the files it may hold are "
            f"{expected} (docs/design.md §4)"
        )
    if not entries:
        raise InputError(f"{folder} holds none of {expected}; nothing to evaluate")
    return {family: folder / name for family, name in PREDICTION_FILES.items() if name in entries}


def check_complete(path: Path, predictions: Mapping, tokens: list[str]) -> None:
    _fail(path, "no prediction", [t for t in tokens if t not in predictions])


def load_planning(path: str | os.PathLike, tokens: list[str], num_steps: int = 6) -> np.ndarray:
    """Trajectories of the split samples, in ``tokens`` order → (S, num_steps, 2)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object {{sample_token: {{'trajectory': [[x, y], ...]}}}}")
    check_complete(path, data, tokens)
    malformed, wrong_shape, not_finite, trajs = [], [], [], []
    for token in tokens:
        entry = data[token]
        if not isinstance(entry, dict) or "trajectory" not in entry:
            malformed.append(token)
            continue
        try:
            traj = as_numbers(entry["trajectory"])
        except (TypeError, ValueError):
            malformed.append(token)
            continue
        if traj.shape != (num_steps, 2):
            wrong_shape.append(f"{token} {traj.shape}")
        elif not np.isfinite(traj).all():
            not_finite.append(token)
        else:
            trajs.append(traj)
    _fail(path, "entry is not {'trajectory': [[x, y], ...]} of JSON numbers (not strings)", malformed)
    _fail(path, f"trajectory shape is not ({num_steps}, 2)", wrong_shape)
    _fail(path, "trajectory holds NaN/inf", not_finite)
    return np.stack(trajs).reshape(len(tokens), num_steps, 2)


def load_lanes(path: str | os.PathLike, tokens: list[str]) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """Predicted lanes of the split samples → (S lists of (K, 3) arrays, S score arrays (Q_s,))."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object {{sample_token: [{{'points': ..., 'score': s}}, ...]}}")
    check_complete(path, data, tokens)
    malformed, wrong_shape, not_finite = [], [], []
    lanes, scores = [], []
    for token in tokens:
        entries = data[token]
        sample_lanes, sample_scores = [], []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and {"points", "score"} <= e.keys() for e in entries
        ):
            malformed.append(token)
            continue
        for entry in entries:
            try:
                points = as_numbers(entry["points"])
                if not is_number(entry["score"]):
                    raise TypeError("score is not a number")
                score = float(entry["score"])
            except (TypeError, ValueError):
                malformed.append(token)
                break
            if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] < 2:
                wrong_shape.append(f"{token} {points.shape}")
                break
            if not (np.isfinite(points).all() and math.isfinite(score)):
                not_finite.append(token)
                break
            sample_lanes.append(points)
            sample_scores.append(score)
        lanes.append(sample_lanes)
        scores.append(np.asarray(sample_scores, dtype=np.float64))
    _fail(
        path, "entry is not a list of {'points': [[x, y, z], ...], 'score': s} of JSON numbers (not strings)", malformed
    )
    _fail(path, "lane points are not (K >= 2, 3)", wrong_shape)
    _fail(path, "lane points or score hold NaN/inf", not_finite)
    return lanes, scores


def load_detection(
    path: str | os.PathLike, tokens: list[str], classes: Iterable[str] = NUSCENES_DETECTION_CLASSES
) -> dict:
    """Parsed nuScenes submission after checking every split sample's boxes (the devkit only asserts)."""
    path = Path(path)
    data = read_json(path)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("results"), dict)
        or not isinstance(data.get("meta"), dict)
    ):
        raise ValueError(f"{path}: expected a nuScenes submission {{'meta': {{...}}, 'results': {{token: [...]}}}}")
    results = data["results"]
    check_complete(path, results, tokens)
    classes = set(classes)
    sizes = {"translation": 3, "size": 3, "rotation": 4, "velocity": 2}
    malformed, not_finite, bad_class, too_many, wrong_token = [], [], [], [], []
    for token in tokens:
        boxes = results[token]
        if not isinstance(boxes, list):
            malformed.append(token)
            continue
        if len(boxes) > MAX_BOXES_PER_SAMPLE:
            too_many.append(f"{token} ({len(boxes)})")
        for box in boxes:
            try:
                values = [as_numbers(box[key]) for key in sizes]
                if not is_number(box["detection_score"]):
                    raise TypeError("detection_score is not a number")
                score = float(box["detection_score"])
                name, attribute, box_token = box["detection_name"], box["attribute_name"], box["sample_token"]
            except (KeyError, TypeError, ValueError):
                malformed.append(token)
                break
            if any(v.shape != (n,) for v, n in zip(values, sizes.values())):
                malformed.append(token)
                break
            if not (all(np.isfinite(v).all() for v in values) and math.isfinite(score)):
                not_finite.append(token)
                break
            if name not in classes or not isinstance(attribute, str):
                bad_class.append(f"{token} ({name!r})")
                break
            if box_token != token:
                wrong_token.append(token)
                break
    _fail(
        path,
        "box is missing a field or has the wrong length (translation 3, size 3, rotation 4, velocity 2, "
        "detection_score, detection_name, attribute_name, sample_token)",
        malformed,
    )
    _fail(path, "box values hold NaN/inf", not_finite)
    _fail(path, f"detection_name is not one of {sorted(classes)}", bad_class)
    _fail(path, f"more than {MAX_BOXES_PER_SAMPLE} boxes", too_many)
    _fail(path, "box sample_token differs from its results key", wrong_token)
    return data


class TextPairs(NamedTuple):
    """One entry per (sample, question) of the split's ``qa``, in info-file order."""

    predictions: list[str]
    references: list[list[str]]  # the info file's answers to that question
    tokens: list[str]
    questions: list[str]
    kinds: list[str]  # the QA type (``"type"``; "" when absent), that of the question's first turn


def load_text(path: str | os.PathLike, records: list[dict]) -> TextPairs:
    """Predictions for every (sample, question) of the split's ``qa``.

    References are the info file's answers; a line's ``reference``, when it differs from them, is an
    error (the file was made for other data). Lines of other samples are ignored.
    """
    path = Path(path)
    expected: dict[tuple[str, str], list[str]] = {}
    kinds: dict[tuple[str, str], str] = {}
    for record in records:
        for qa in record.get("qa", []):
            expected.setdefault((record["token"], qa["question"]), []).append(qa["answer"])
            kinds.setdefault((record["token"], qa["question"]), str(qa.get("type", "")))
    if not expected:
        raise ValueError(f"{path} is present but the split's info records hold no 'qa' pairs to score it against")
    split_tokens = {record["token"] for record in records}
    found: dict[tuple[str, str], str] = {}
    unknown, mismatched, duplicated, malformed = [], [], [], []
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            row = parse_json(line, f"{path} line {number}")
            try:
                key = (row["sample_token"], row["question"])
                prediction = row["prediction"]
            except (KeyError, TypeError):
                malformed.append(f"line {number}")
                continue
            if not isinstance(prediction, str):
                malformed.append(f"line {number}")
                continue
            if key[0] not in split_tokens:
                continue
            if key not in expected:
                unknown.append(f"{key[0]} {key[1]!r}")
            elif key in found and found[key] != prediction:
                duplicated.append(f"{key[0]} {key[1]!r}")
            elif "reference" in row and row["reference"] not in expected[key]:
                mismatched.append(f"{key[0]} {key[1]!r}")
            else:
                found[key] = prediction
    _fail(path, "line is not a JSON object with string sample_token, question, prediction", malformed)
    _fail(path, "question not in the info file's qa for that sample", unknown)
    _fail(path, "two different predictions for one question", duplicated)
    _fail(path, "reference differs from the info file's answer", mismatched)
    _fail(path, "no prediction for a question of the split", [f"{t} {q!r}" for t, q in expected if (t, q) not in found])
    keys = list(expected)
    return TextPairs(
        [found[k] for k in keys],
        [expected[k] for k in keys],
        [k[0] for k in keys],
        [k[1] for k in keys],
        [kinds[k] for k in keys],
    )
