"""Run a model over an evaluation split and write the prediction files of docs/design.md §4.

One prefill per (sample, question): ``generate`` answers the question from the prefill's
KV cache and returns the structured outputs of the same prefill. The query tokens sit
before the question, so boxes, lanes and trajectory do not depend on which question is
asked; they are taken from a sample's first item. Every sample of the info file is
predicted (the dataset yields at least one item per record), so the evaluator scores
the whole split.

A model with a temporal memory (``task_config.memory_size > 0``) walks each scene's key frames
in time order instead, carrying the memory state (``_streaming_outputs``): the scenes are spread
over the batch slots (``scene_streams.scene_slots``), a frame's first item advances its slot's
memory, the frame's other questions are answered from the memory that frame started with.

    python tools/eval.py configs/demo/demo_stage3_joint.py --checkpoint runs/demo/stage3/final
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from onedrive.data import DriveDataset, collate_drive_batch
from onedrive.errors import InputError
from onedrive.evaluation.detection import boxes_to_submission, write_submission
from onedrive.evaluation.predictions import PREDICTION_FILES
from onedrive.io import write_json_atomic, write_text_atomic
from onedrive.model import OneDriveProcessor
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.outputs import DrivePrediction
from onedrive.scene_streams import scene_slots


def _structured(prediction: DrivePrediction, row: int, classes: list[str]) -> dict:
    detections, lanes = prediction.detections[row], prediction.lanes[row]
    return {
        "boxes": detections.boxes.float().cpu().numpy(),  # (K, 9)
        "scores": detections.scores.float().cpu().numpy(),  # (K,)
        "names": [classes[int(label)] for label in detections.labels],
        "lanes": lanes.points.float().cpu().numpy(),  # (K, P, 3)
        "lane_scores": lanes.scores.float().cpu().numpy(),
        "trajectory": prediction.trajectory[row].float().cpu().numpy(),  # (T, D)
    }


@torch.no_grad()
def predict_split(
    model: OneDriveForDriving,
    processor: OneDriveProcessor,
    infos_path: str | Path,
    data_root: str | Path,
    out_dir: str | Path,
    batch_size: int = 4,
    max_new_tokens: int = 32,
    workers: int = 0,
    text: bool = True,
) -> dict[str, Path]:
    """Write the prediction files for the split of ``infos_path``.

    nuScenes models (``plan_dims`` 2): detection.json, planning.json, lanes.json; NAVSIM
    models (``plan_dims`` 3): navsim.json; both: text.jsonl when ``text``. Prediction files of an
    earlier run in ``out_dir`` are removed first, so the folder holds only what this run wrote
    (an old text.jsonl would otherwise be scored for a model that answered no question).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in PREDICTION_FILES.values():
        (out_dir / name).unlink(missing_ok=True)
    dataset = DriveDataset(infos_path, data_root, processor, qa_mode="all" if text else "planning", generation=True)
    records = {record["token"]: record for record in dataset.infos}
    model.eval()
    if model.config.task_config.memory_size > 0:
        structured, answers = _streaming_outputs(model, dataset, batch_size, max_new_tokens, text)
    else:
        structured, answers = _batched_outputs(model, dataset, batch_size, max_new_tokens, workers, text)
    missing = set(records) - set(structured)
    if missing:
        raise RuntimeError(f"inference produced no prediction for {len(missing)} samples, e.g. {sorted(missing)[:5]}")
    return _write_files(model, records, structured, answers, out_dir, text)


def _batched_outputs(model, dataset: DriveDataset, batch_size, max_new_tokens, workers, text):
    """{sample token: structured outputs}, answers: the dataset's items in order, ``batch_size`` at a time."""
    tokenizer = dataset.processor.tokenizer
    loader = DataLoader(
        range(len(dataset)),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=lambda indices: (
            list(indices),
            collate_drive_batch([dataset[i] for i in indices], tokenizer.pad_token_id),
        ),
    )
    classes = list(model.config.task_config.det_classes)
    device = next(model.parameters()).device
    structured: dict[str, dict] = {}
    answers: list[dict] = []
    for indices, batch in tqdm(loader, desc="inference", unit="batch"):
        batch = batch.to(device)
        if text:
            output = model.generate(
                batch,
                max_new_tokens=max_new_tokens,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            prediction = output.prediction
            decoded = tokenizer.batch_decode(output.sequences, skip_special_tokens=True)
        else:
            prediction = model.predict(batch)
        for row, index in enumerate(indices):
            token, question, reference = dataset.qa_turn(index)
            if token not in structured:
                structured[token] = _structured(prediction, row, classes)
            if text:
                answers.append(_answer(token, question, reference, decoded[row]))
    return structured, answers


def _answer(token: str, question: str, reference: str, decoded: str) -> dict:
    return {"sample_token": token, "question": question, "prediction": decoded.strip(), "reference": reference}


def _streaming_outputs(model, dataset: DriveDataset, batch_size, max_new_tokens, text):
    """As ``_batched_outputs``, for a model with a temporal memory: each scene in time order (module docstring).

    Every step takes the next key frame of each slot still walking; a slot whose walk ended leaves the batch
    (``QueryMemory.select``). Answers are listed in the dataset's item order.
    """
    tokenizer = dataset.processor.tokenizer
    items: dict[str, list[int]] = {}  # sample token → its item indices
    for index in range(len(dataset)):
        items.setdefault(dataset.qa_turn(index)[0], []).append(index)
    frames = []
    for record in dataset.infos:
        if "scene_token" not in record or "timestamp" not in record:
            raise InputError(
                f"{dataset.infos_path}: sample {record['token']!r} has no scene_token / timestamp, which a model "
                f"with a temporal memory needs to walk the scenes in order"
            )
        frames.append((record["token"], record["scene_token"], float(record["timestamp"])))
    walks = scene_slots(frames, batch_size)
    classes = list(model.config.task_config.det_classes)
    device = next(model.parameters()).device
    generation = dict(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)

    def run(indices: list[int], memory):
        batch = collate_drive_batch([dataset[i] for i in indices], tokenizer.pad_token_id).to(device)
        if not text:
            return model.predict(batch, memory=memory), []
        output = model.generate(batch, max_new_tokens=max_new_tokens, memory=memory, **generation)
        return output.prediction, tokenizer.batch_decode(output.sequences, skip_special_tokens=True)

    structured: dict[str, dict] = {}
    answered: dict[int, dict] = {}
    memory, active = None, list(range(len(walks)))
    for step in tqdm(range(max(len(walk) for walk in walks)), desc="inference (streaming)", unit="step"):
        still = [position for position, slot in enumerate(active) if step < len(walks[slot])]
        if memory is not None and len(still) < len(active):
            memory = memory.select(still)
        active = [active[position] for position in still]
        tokens = [walks[slot][step] for slot in active]
        started_with = memory
        prediction, decoded = run([items[token][0] for token in tokens], started_with)
        memory = prediction.memory
        for row, token in enumerate(tokens):
            structured[token] = _structured(prediction, row, classes)
            if text:
                answered[items[token][0]] = _answer(*dataset.qa_turn(items[token][0]), decoded[row])
        others = [(row, index) for row, token in enumerate(tokens) for index in items[token][1:]]
        for start in range(0, len(others), batch_size):
            chunk = others[start : start + batch_size]
            rows = [row for row, _ in chunk]
            _, decoded = run([index for _, index in chunk], None if started_with is None else started_with.select(rows))
            for (_, index), answer in zip(chunk, decoded):
                answered[index] = _answer(*dataset.qa_turn(index), answer)
    return structured, [answered[index] for index in sorted(answered)]


def _write_files(model, records, structured, answers, out_dir: Path, text: bool) -> dict[str, Path]:
    """The prediction files of ``structured`` / ``answers`` in ``out_dir``."""
    paths = {}
    if model.config.task_config.plan_dims == 3:  # NAVSIM: 8 poses (x, y, heading), scored by the PDM score
        files = {"navsim": {token: {"poses": out["trajectory"].tolist()} for token, out in structured.items()}}
    else:
        detection = {
            token: boxes_to_submission(
                token, out["boxes"], out["scores"], out["names"], np.asarray(records[token]["ego2global"])
            )
            for token, out in structured.items()
        }
        paths["detection"] = write_submission(detection, out_dir / "detection.json")
        files = {
            "planning": {token: {"trajectory": out["trajectory"].tolist()} for token, out in structured.items()},
            "lanes": {
                token: [
                    {"points": p.tolist(), "score": float(score)} for p, score in zip(out["lanes"], out["lane_scores"])
                ]
                for token, out in structured.items()
            },
        }
    for name, payload in files.items():
        paths[name] = out_dir / f"{name}.json"
        write_json_atomic(paths[name], payload)  # refuses NaN: a prediction file holds numbers only
    if text:
        paths["text"] = out_dir / "text.jsonl"
        write_text_atomic(paths["text"], "".join(json.dumps(row) + "\n" for row in answers))
    return paths
