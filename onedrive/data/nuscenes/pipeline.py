"""Convert nuScenes splits into info files, serially or with worker processes.

``create_infos(settings, splits, out_dir, workers)`` converts every requested split
first and writes the files only when all of them succeeded, each atomically
(``onedrive.io.write_json_atomic``): an error anywhere leaves no new file behind.

Parallelism: the unit of work is one scene (its key frames share poses, annotations
and map queries). With ``workers > 1`` a process pool is started whose initializer
builds one ``SceneConverter`` per worker — its own ``NuScenes`` tables and, on first
use, its own ``NuScenesMap`` and drivable-area union per location — so a task is just
``(scene_token, split)`` and results come back as plain records. The price is memory
and start-up: every worker holds a full copy of the tables (plus the maps it touched)
and pays the devkit's load time once; the parent only reads ``scene.json``. On
``v1.0-trainval`` the devkit's tables take several GB per process, so size
``--workers`` to the free memory, not only to the cores; ``benchmark_conversion``
measures the throughput. ``pool.imap`` keeps the scene order, so the output is
byte-identical to a serial run. An error in a worker (including while loading)
is re-raised in the parent and nothing is written.

Each split's ``metadata`` counts its key frames by ego-status source and by the reason
the CAN bus was not used (``ego_status_summary``), and by lane source (``lane_sources``:
``openlane_v2`` / ``nuscenes_map_expansion``); ``tools/create_data.py`` prints them.
It also holds the split's planning mode anchors (``onedrive.data.plan_anchors``).

Order of records: splits as requested; scenes of a split sorted by name; key frames
in time order.

QA: each split's ``metadata`` records ``qa_source`` (``"omnidrive"`` for ``--qa``,
``"split_file"`` for ``<data_root>/qa/<split>.json``, ``"none"``) and
``samples_without_qa``, the number of records the QA source gave no turn (their ``qa`` holds
at most the converter's planning-trajectory turn, ``onedrive.data.planning_text``); a split with such
records is reported through ``logging`` (a warning naming the count, the first tokens and,
without any QA source, the ``--qa`` option). A record with no turn at all (no QA and no whole
6-step future) asks the planning question (``onedrive.data.dataset``), and ``check_config``
refuses a text loss on infos without any QA turn.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from onedrive.data.nuscenes.converter import ConverterSettings, SceneConverter, info_metadata
from onedrive.data.nuscenes.qa import split_qa_file
from onedrive.data.nuscenes.splits import default_splits, scenes_of_split
from onedrive.data.plan_anchors import mode_anchors
from onedrive.data.planning_text import PLANNING_TEXT_TYPE
from onedrive.io import write_json_atomic

INFO_NAME = "nuscenes"
LOGGER = logging.getLogger(__name__)

_WORKER_CONVERTER: SceneConverter | None = None
_WORKER_ERROR: BaseException | None = None


def info_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``<out>/nuscenes_infos_<split>.json``."""
    return Path(out_dir) / f"{INFO_NAME}_infos_{split}.json"


def _init_worker(settings: ConverterSettings) -> None:
    # An exception escaping a Pool initializer kills the worker and the pool restarts it
    # forever; keep the error and raise it from the first task instead.
    global _WORKER_CONVERTER, _WORKER_ERROR
    try:
        _WORKER_CONVERTER = SceneConverter(settings)
    except Exception as error:  # noqa: BLE001 - re-raised by _convert_in_worker
        _WORKER_ERROR = error


def _convert_in_worker(task: tuple[str, str]) -> list[dict]:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER_CONVERTER is not None, "worker initializer did not run"
    return _WORKER_CONVERTER.convert_scene(*task)


def _scene_table(settings: ConverterSettings) -> list[dict]:
    path = Path(settings.data_root) / settings.version / "scene.json"
    if not path.is_file():
        raise FileNotFoundError(f"nuScenes table {path} does not exist (check --data-root and --version)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _scene_tasks(scenes: list[dict], settings: ConverterSettings, splits: Sequence[str]) -> list[tuple[str, str, int]]:
    by_name = {scene["name"]: scene for scene in scenes}
    tasks = []
    for split in splits:
        for name in scenes_of_split(settings.data_root, settings.version, split, set(by_name)):
            tasks.append((by_name[name]["token"], split, int(by_name[name]["nbr_samples"])))
    return tasks


def _run(settings: ConverterSettings, tasks: list[tuple[str, str, int]], workers: int) -> Iterator[list[dict]]:
    if workers <= 1:
        converter = SceneConverter(settings)
        for scene_token, split, _ in tasks:
            yield converter.convert_scene(scene_token, split)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(settings,)) as pool:
        yield from pool.imap(_convert_in_worker, [(scene_token, split) for scene_token, split, _ in tasks])


def convert_splits(
    settings: ConverterSettings, splits: Sequence[str] | None = None, workers: int = 1, progress: bool = True
) -> dict[str, dict]:
    """``{split: {"metadata", "infos"}}`` for every requested split (default: the version's)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    splits = list(splits) if splits else default_splits(settings.data_root, settings.version)
    tasks = _scene_tasks(_scene_table(settings), settings, splits)
    documents = {split: {"metadata": info_metadata(settings, split), "infos": []} for split in splits}
    total = sum(count for _, _, count in tasks)
    with tqdm(total=total, desc=f"nuScenes {settings.version}", unit="sample", disable=not progress) as bar:
        for (_, split, _), records in zip(tasks, _run(settings, tasks, workers)):
            documents[split]["infos"].extend(records)
            bar.update(len(records))
    for split, document in documents.items():
        _record_qa_coverage(settings, split, document)
        document["metadata"].update(ego_status_summary(document["infos"]))
        document["metadata"]["lane_sources"] = lane_source_summary(document["infos"])
        document["metadata"].update(mode_anchors(document["infos"]))
    return documents


def _qa_source(settings: ConverterSettings, split: str) -> str:
    if settings.qa_root:
        return "omnidrive"
    return "split_file" if split_qa_file(settings.data_root, split).is_file() else "none"


def _record_qa_coverage(settings: ConverterSettings, split: str, document: dict) -> None:
    """Write ``qa_source`` / ``samples_without_qa`` into the split's metadata; warn when samples lack QA.

    A record counts as without QA when its source gave it no turn: the planning-trajectory turn the
    converter writes itself (``onedrive.data.planning_text``) does not count."""
    source = _qa_source(settings, split)
    missing = [
        record["token"]
        for record in document["infos"]
        if all(turn["type"] == PLANNING_TEXT_TYPE for turn in record["qa"])  # the converter's own turn aside
    ]
    document["metadata"]["qa_source"] = source
    document["metadata"]["samples_without_qa"] = len(missing)
    if not missing:
        return
    hint = (
        "no QA source: pass --qa with the OmniDrive-nuScenes folder (keywords/, desc/, vqa/, conv/) for text targets"
        if source == "none"
        else f"the {source} QA source has no turns for them"
    )
    LOGGER.warning(
        "split %s: %d of %d samples have no QA turns (%s), e.g. %s; their text turn is the planning question",
        split,
        len(missing),
        len(document["infos"]),
        hint,
        ", ".join(missing[:3]),
    )


def ego_status_summary(records: list[dict]) -> dict:
    """``{"ego_status_sources": {source: key frames}, "can_bus_fallbacks": {reason: key frames}}``."""
    sources = Counter(record["ego_status_source"] for record in records)
    fallbacks = Counter(record["can_bus_fallback"] for record in records if record["can_bus_fallback"])
    return {"ego_status_sources": dict(sorted(sources.items())), "can_bus_fallbacks": dict(sorted(fallbacks.items()))}


def lane_source_summary(records: list[dict]) -> dict[str, int]:
    """``{lane source: key frames}`` (``nuscenes_map_expansion`` / ``openlane_v2``)."""
    return dict(sorted(Counter(record["lane_source"] for record in records).items()))


def create_infos(
    settings: ConverterSettings,
    out_dir: str | os.PathLike,
    splits: Sequence[str] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> list[Path]:
    """Convert, then write ``<out>/nuscenes_infos_<split>.json`` per split; returns the paths."""
    documents = convert_splits(settings, splits, workers, progress)
    return [write_json_atomic(info_path(out_dir, split), document) for split, document in documents.items()]
