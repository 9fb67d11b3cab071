"""Run a model over an evaluation split and write the prediction files of docs/design.md §4.

One prefill per (sample, question): ``generate`` answers the question from the prefill's
KV cache and returns the structured outputs of the same prefill. The query tokens sit
before the question, so boxes, lanes and trajectory do not depend on which question is
asked; they are taken from a sample's first item. Every sample of the info file is
predicted (the dataset yields at least one item per record), so the evaluator scores
the whole split.

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
from onedrive.evaluation.detection import boxes_to_submission, write_submission
from onedrive.evaluation.predictions import PREDICTION_FILES
from onedrive.io import write_json_atomic, write_text_atomic
from onedrive.model import OneDriveProcessor
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.model.outputs import DrivePrediction


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
    tokenizer = processor.tokenizer
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
    model.eval()
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
                answers.append(
                    {
                        "sample_token": token,
                        "question": question,
                        "prediction": decoded[row].strip(),
                        "reference": reference,
                    }
                )
    missing = set(records) - set(structured)
    if missing:
        raise RuntimeError(f"inference produced no prediction for {len(missing)} samples, e.g. {sorted(missing)[:5]}")

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
