"""The model benchmark times the paper configuration as stage 1 sets it, against InternVL over as many tokens."""

import pytest
import torch

from benchmarks.model import SHAPES, _build, paper_task_settings, write_checkpoints
from onedrive import OneDriveConfig
from onedrive.model.streaming import continues


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmark")
    write_checkpoints("tiny", str(folder))
    return str(folder)


def test_the_one_b_shapes_run_the_paper_task_settings():
    task = OneDriveConfig(task_config=paper_task_settings()).task_config
    assert task.num_plan_tokens == 109  # 1 ego + 3 commands x 6 modes x 6 steps
    assert (task.memory_size, task.memory_topk, task.memory_propagated) == (600, 300, 300)
    assert (task.num_det_queries, task.num_lane_queries, task.depth_bins) == (600, 600, 64)
    assert task.camera_tiles == [1, 2] and task.use_thumbnail
    assert all(SHAPES[name]["task"] == "paper" for name in ("internvl3_1b_shapes", "internvl3_1b_shapes_one_camera"))


@pytest.mark.parametrize("memory", [True, False])
def test_internvl_sees_as_many_tokens_as_the_expanded_sequence(tiny_checkpoints, memory):
    setup = _build(tiny_checkpoints, "onedrive", torch.float32, memory)
    model, batch = setup.model, setup.batch
    assert (model.stream_memory is not None) == memory
    layout = model.token_layout(batch.input_ids, batch.attention_mask, driving=True)
    assert setup.vlm_ids.shape[1] == layout.attention_mask.shape[1]
    propagated = 2 * model.config.task_config.memory_propagated
    assert layout.num_queries == 32 + 16 + 109 + propagated and propagated == (16 if memory else 0)


def test_the_timed_frame_continues_the_first_frames_memory(tiny_checkpoints):
    setup = _build(tiny_checkpoints, "onedrive", torch.float32)
    memory = setup.model.predict(setup.first_frame).memory
    batch = setup.batch
    gap = setup.model.config.task_config.memory_max_gap_seconds
    assert continues(memory, batch.scene_tokens, batch.timestamps, gap).all()
    assert memory.tasks["det"].valid.any() and batch.ego_history.shape == (1, 2, 10)
