"""Data-loading speed: samples/s of 6-camera samples through ``DriveDataset`` + ``DataLoader``.

Writes ``num_samples`` info records with JPEG camera images of ``image_hw`` (nuScenes
size by default) into a temporary folder, then times a full pass (decode, resize,
tile, normalise, tokenise, targets, collate) with each worker count. Default
processing is the paper's: 448-pixel tiles, 1 × 2 tiles + thumbnail per camera.

    python -c "from benchmarks.data import benchmark_data; print(benchmark_data(num_samples=8))"
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import DataLoader

from onedrive.data.collate import collate_drive_batch
from onedrive.data.dataset import DriveDataset
from onedrive.model.processing_onedrive import OneDriveProcessor
from onedrive.model.tokenization_onedrive import build_tokenizer
from onedrive.schema import NUSCENES_CAMERAS


def write_benchmark_infos(folder: Path, num_samples: int, image_hw: tuple[int, int], seed: int = 0) -> Path:
    """Info file with ``num_samples`` records of 6 random-noise JPEG cameras; returns its path."""
    rng = np.random.default_rng(seed)
    height, width = image_hw
    intrinsics = [[0.8 * width, 0.0, width / 2], [0.0, 0.8 * width, height / 2], [0.0, 0.0, 1.0]]
    records = []
    for index in range(num_samples):
        cams = {}
        for camera_index, name in enumerate(NUSCENES_CAMERAS):
            relative = f"samples/{name}/{index:05d}.jpg"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / relative, quality=90)
            yaw = camera_index * np.pi / 3
            cam2ego = np.eye(4)
            cam2ego[:3, :3] = [[-np.sin(yaw), 0, np.cos(yaw)], [np.cos(yaw), 0, np.sin(yaw)], [0, -1, 0]]
            cams[name] = dict(
                path=relative, intrinsics=intrinsics, cam2ego=cam2ego.tolist(), width=width, height=height
            )
        records.append(
            dict(
                token=f"bench{index:05d}",
                cams=cams,
                ego_status=[5.0, 0.0, 0.1, 0.0, 0.0, 5.0],
                gt_boxes=[[10.0, 2.0, 0.5, 4.5, 1.9, 1.6, 0.1, 5.0, 0.0]] * 20,
                gt_names=["car"] * 20,
                gt_num_lidar_pts=[50] * 20,
                gt_num_radar_pts=[2] * 20,
                lanes=np.zeros((10, 11, 3)).tolist(),
                ego_fut_traj=[[2.5 * step, 0.0] for step in range(1, 7)],
                ego_fut_mask=[1] * 6,
                command=2,
                qa=[{"question": "What is ahead?", "answer": "A car 10 metres ahead.", "type": "perception"}],
            )
        )
    path = folder / "bench_infos_train.json"
    path.write_text(json.dumps({"metadata": {"dataset": "nuscenes", "split": "train"}, "infos": records}))
    return path


def benchmark_data(
    num_samples: int = 24,
    image_hw: tuple[int, int] = (900, 1600),
    workers: tuple[int, ...] = (0, 2),
    batch_size: int = 4,
    tile_size: int = 448,
    augment: bool = True,
) -> dict:
    """Samples/s of loading + processing 6-camera samples, per DataLoader worker count."""
    tokenizer = build_tokenizer()
    processor = OneDriveProcessor(tokenizer, tile_size=tile_size, camera_tiles=(1, 2), tokens_per_tile=256)
    results: dict = {"num_samples": num_samples, "image_hw": list(image_hw), "tile_size": tile_size, "cameras": 6}
    with tempfile.TemporaryDirectory() as folder:
        infos = write_benchmark_infos(Path(folder), num_samples, image_hw)
        dataset = DriveDataset(infos, folder, processor, augment=augment)
        for count in workers:
            loader = DataLoader(
                dataset,
                batch_size=batch_size,
                num_workers=count,
                collate_fn=partial(collate_drive_batch, pad_token_id=tokenizer.pad_token_id),
            )
            start = time.perf_counter()
            seen = sum(len(batch.sample_tokens) for batch in loader)
            elapsed = time.perf_counter() - start
            results[f"samples_per_s_workers{count}"] = seen / elapsed
    results["cpu_count"] = os.cpu_count()
    return results
