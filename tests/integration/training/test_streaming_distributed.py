"""Streaming training under torchrun (2 processes, gloo): each process gets its own rows' frames in order.

``tests/helpers/streaming_run.py`` runs ``OneDriveTrainer.train`` (DDP, accelerate's dataloader
preparation, gradient accumulation 2) over 2 epochs in each process and records the micro-batches
``compute_loss`` received. They must be exactly that process's batches of the sampler, epoch 0 then
epoch 1 — accelerate neither re-shards nor reshuffles them — and together every frame of the split
(plus the sampler's padding), each row a time-ordered stream of sub-sequences. A second run resumes
from a checkpoint inside epoch 1 and must continue epoch 1's plan where the checkpoint left it.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from streaming_run import streaming_dataset
from streaming_world import write_streaming_world

from onedrive.data.streaming_dataset import stream_keys
from onedrive.data.streaming_sampler import StreamingBatchSampler

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
ROWS, PROCESSES, STEPS = 2, 2, 5  # 18 frames over 4 rows: 5 steps per epoch, 2 padding frames


def run(infos, root, out, mode):
    helpers = [str(REPO / "tests" / "helpers"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, helpers))}
    command = [str(BIN / "torchrun"), "--nproc_per_node", str(PROCESSES), "--master_port", "29517"]
    command += [str(REPO / "tests" / "helpers" / "streaming_run.py"), str(infos), str(root), str(out)]
    command += [str(ROWS), "2", "2", "4", mode]  # batch, accumulation, epochs, checkpoint every 4 steps
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


def assert_time_ordered(row: list[tuple[str, bool]], records: dict[str, dict]) -> None:
    """Between two sequence starts, the row's frames follow each other in time within one scene."""
    successor = {}
    for token, record in records.items():
        later = [
            r
            for r in records.values()
            if r["scene_token"] == record["scene_token"] and r["timestamp"] > record["timestamp"]
        ]
        successor[token] = min(later, key=lambda r: r["timestamp"])["token"] if later else None
    assert row[0][1], "a row starts with a sequence start"
    for (before, _), (after, start) in zip(row, row[1:]):
        assert start or successor[before] == after, f"{after} follows {before} without a sequence start"


@pytest.mark.slow
def test_two_processes_each_get_their_rows_streams_in_order_and_resume_inside_an_epoch(tmp_path):
    root, infos = write_streaming_world(tmp_path, scenes=4, samples_per_scene=6)  # 3 training scenes x 6 frames
    out = tmp_path / "seen"
    out.mkdir()
    run(infos, root, out, "fresh")

    dataset = streaming_dataset(infos, root)
    token_of = {i: dataset.record(i)["token"] for i in range(len(dataset))}
    records = {token_of[i]: dataset.record(i) for i in range(len(dataset))}
    keys = stream_keys(dataset)
    sampler = StreamingBatchSampler(*keys, ROWS, PROCESSES, 0, seed=3, seq_split_num=2, warmup_split_num=3)
    assert (sampler.steps, sampler.padding) == (STEPS, 2)
    seen = [json.loads((out / f"{rank}.json").read_text()) for rank in range(PROCESSES)]
    assert [(s["rank"], s["processes"]) for s in seen] == [(0, 2), (1, 2)]
    for epoch in (0, 1):
        plan = sampler.slot_streams(epoch)  # per global row: [(item, sequence_start)] x STEPS
        rows = []
        for rank in range(PROCESSES):
            batches = seen[rank]["batches"][STEPS * epoch : STEPS * (epoch + 1)]
            for row in range(ROWS):
                got = [tuple(batch[row]) for batch in batches]
                assert got == [(token_of[i], start) for i, start in plan[ROWS * rank + row]]
                assert_time_ordered(got, records)
                rows.append(got)
        counts = Counter(token for row in rows for token, _ in row)
        assert set(counts) == set(records) and sum(counts.values()) == len(records) + sampler.padding

    # 3 optimizer steps per epoch (5 micro-batches, accumulation 2): checkpoint-4 is 1 step into epoch 1
    run(infos, root, out, str(out / "run" / "checkpoint-4"))
    plan = sampler.slot_streams(1)
    for rank in range(PROCESSES):
        resumed = json.loads((out / f"{rank}_resumed.json").read_text())["batches"]
        expected = [
            [(token_of[plan[ROWS * rank + row][step][0]], plan[ROWS * rank + row][step][1]) for row in range(ROWS)]
            for step in range(2, STEPS)
        ]
        assert [[tuple(frame) for frame in batch] for batch in resumed] == expected
