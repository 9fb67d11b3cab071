"""The class names an info file's boxes may carry, checked wherever an info file is loaded.

nuScenes info files name their boxes by the devkit's 10 detection classes (lower case, as the
devkit spells them); NAVSIM info files by nuPlan's 7 classes. Any other name (``Car``,
``spaceship``) is an ``InputError`` naming the file, the sample and the name: it would
otherwise drop the box from the training targets and from the collision ground truth
without a word. An info file without ``metadata.dataset`` is read as nuScenes; info files of
another dataset list their classes in ``metadata.classes``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from onedrive.errors import InputError
from onedrive.schema import NUSCENES_DETECTION_CLASSES

NAVSIM_CLASSES = ("vehicle", "pedestrian", "bicycle", "traffic_cone", "barrier", "czone_sign", "generic_object")
DATASET_CLASSES = {"nuscenes": tuple(NUSCENES_DETECTION_CLASSES), "navsim": NAVSIM_CLASSES}
DEFAULT_DATASET = "nuscenes"  # an info file without metadata.dataset, as the evaluator reads it
SHOWN = 5  # culprits quoted in a message


def known_classes(path: str | os.PathLike, metadata: dict) -> tuple[str, ...]:
    """The class names of the info file's dataset (``metadata.dataset``, nuScenes when absent), else its
    ``metadata.classes``."""
    if not isinstance(metadata, dict):
        raise InputError(f"info file {path}: 'metadata' must be an object, got {type(metadata).__name__}")
    dataset = metadata.get("dataset", DEFAULT_DATASET)
    if dataset in DATASET_CLASSES:
        return DATASET_CLASSES[dataset]
    classes = metadata.get("classes")
    if isinstance(classes, list) and classes and all(isinstance(name, str) for name in classes):
        return tuple(classes)
    raise InputError(
        f"info file {path}: metadata needs 'dataset' (one of {sorted(DATASET_CLASSES)}) or a 'classes' list of the "
        f"box class names; got dataset {dataset!r} and classes {classes!r}"
    )


def check_class_names(path: str | os.PathLike, metadata: dict, records: Sequence[dict]) -> None:
    """Every record's ``gt_names`` entry is a class of the file's dataset, else ``InputError`` naming file, samples
    and names."""
    known = known_classes(path, metadata)
    unknown, not_list = [], []
    for record in records:
        names = record.get("gt_names", [])
        if not isinstance(names, list):
            not_list.append(record.get("token"))
            continue
        unknown.extend(f"{record.get('token')}: {name!r}" for name in names if name not in known)
    if not_list:
        raise InputError(f"info file {path}: gt_names must be a list of class names in samples {not_list[:SHOWN]}")
    if unknown:
        raise InputError(
            f"info file {path}: {len(unknown)} box(es) with an unknown class name (sample: name), e.g. "
            f"{'; '.join(unknown[:SHOWN])}; the class names are {list(known)}, spelled exactly"
        )
