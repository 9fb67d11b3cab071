import json
from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from onedrive.data import COMMAND_ANSWERS, PLANNING_QUESTION, DriveDataset, collate_drive_batch
from onedrive.errors import InputError

INFOS = "demo_infos_val.json"


def test_items_and_qa_choice(info_dir, processor, records):
    sampled = DriveDataset(info_dir / INFOS, info_dir, processor, split="val")
    assert len(sampled) == 4
    turns = [sampled.qa_turn(index) for index in range(4)]
    assert [token for token, _, _ in turns] == ["tok0", "tok1", "tok2", "tok3"]
    questions = {turn["question"]: turn["answer"] for turn in records.qa}
    for _token, question, answer in turns[:2]:
        assert questions[question] == answer
    # Records without QA ask the planning question, answered from the command (index % 3).
    assert turns[2][1:] == (PLANNING_QUESTION, COMMAND_ANSWERS[2])
    assert turns[3][1:] == (PLANNING_QUESTION, COMMAND_ANSWERS[0])
    # Deterministic, and the seed changes the choice for some record.
    again = DriveDataset(info_dir / INFOS, info_dir, processor)
    assert [again.qa_turn(index) for index in range(4)] == turns
    reseeded = [DriveDataset(info_dir / INFOS, info_dir, processor, qa_seed=seed).qa_turn(0)[1] for seed in range(8)]
    assert len(set(reseeded)) > 1

    every = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="all")
    assert len(every) == 3 + 3 + 1 + 1
    assert [every.qa_turn(index)[1] for index in range(3)] == [turn["question"] for turn in records.qa]
    planning = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="planning")
    assert [planning.qa_turn(index)[1] for index in range(4)] == [PLANNING_QUESTION] * 4


def test_item_contents(info_dir, processor, tokenizer, records):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="planning")
    sample = dataset[1]
    assert sample.sample_token == "tok1"
    assert tokenizer.decode(sample.input_ids[sample.labels != -100]) == COMMAND_ANSWERS[1] + "<|im_end|>"
    assert sample.command == 1
    torch.testing.assert_close(sample.ego_status, torch.tensor([4.0, 0.1, 0.2, 0.0, 0.01, 5.0]))
    # labels index det_classes.
    assert sample.targets.boxes.shape == (3, 9)
    assert sample.targets.labels.tolist() == [
        processor.det_classes.index("car"),
        processor.det_classes.index("pedestrian"),
        processor.det_classes.index("traffic_cone"),
    ]
    assert sample.targets.lanes.shape == (2, 11, 3)
    assert sample.targets.trajectory.shape == (6, 2)
    assert sample.targets.trajectory_mask.tolist() == [True] * 4 + [False] * 2
    # Geometry: cam2ego as written, intrinsics scaled from 160 × 96 to 112 × 56.
    torch.testing.assert_close(sample.cam2ego[1], torch.tensor(records.cam2ego(-55.0), dtype=torch.float32))
    scale_x, scale_y = 112 / 160, 56 / 96
    k = records.intrinsics()
    expected = [
        [k[0, 0] * scale_x, 0, scale_x * (k[0, 2] + 0.5) - 0.5],
        [0, k[1, 1] * scale_y, scale_y * (k[1, 2] + 0.5) - 0.5],
        [0, 0, 1],
    ]
    torch.testing.assert_close(sample.intrinsics[0], torch.tensor(expected, dtype=torch.float32))
    # Camera order: each camera's image has its own red value (30 · index + 10).
    red = sample.pixel_values.reshape(6, 3, 3, 56, 56)[:, 0, 0].mean(dim=(1, 2))  # (N_cam,) tile 0 red channel
    expected_red = (torch.tensor([30.0 * index + 10 for index in range(6)]) / 255 - 0.485) / 0.229
    torch.testing.assert_close(red, expected_red, atol=1e-4, rtol=0)


def test_generation_mode_has_no_answer(info_dir, processor, tokenizer):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, generation=True)
    sample = dataset[0]
    assert sample.labels is None
    assert tokenizer.decode(sample.input_ids).endswith("<|im_start|>assistant\n")
    assert sample.targets is not None  # ground truth stays available for evaluation


def test_dataloader_with_two_workers_matches_in_process(info_dir, processor, tokenizer):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor)
    collate = partial(collate_drive_batch, pad_token_id=tokenizer.pad_token_id)
    batches = [list(DataLoader(dataset, batch_size=2, num_workers=workers, collate_fn=collate)) for workers in (0, 2)]
    for serial, parallel in zip(*batches, strict=True):
        assert serial.sample_tokens == parallel.sample_tokens
        for key in ("input_ids", "attention_mask", "labels", "pixel_values", "ego_status", "command"):
            assert torch.equal(serial[key], parallel[key]), key
        torch.testing.assert_close(serial.camera.intrinsics, parallel.camera.intrinsics)
    assert [token for batch in batches[1] for token in batch.sample_tokens] == ["tok0", "tok1", "tok2", "tok3"]


def test_augmentation_draws_from_torch_rng(info_dir, processor):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, augment=True)
    torch.manual_seed(0)
    first = dataset[0].intrinsics
    torch.manual_seed(0)
    assert torch.equal(dataset[0].intrinsics, first)
    assert not torch.equal(dataset[0].intrinsics, first)  # the RNG moved on: a new crop


def test_stream_fields_reach_the_batch(info_dir, processor, tokenizer):
    """Scene token, timestamp (µs → s) and ego pose of each record, stacked by the collator (float64)."""
    path = info_dir / INFOS
    content = json.loads(path.read_text())
    content["infos"][2]["ego2global"][0][3] = 12.5
    content["infos"][3]["scene_token"] = "scene1"
    path.write_text(json.dumps(content))
    dataset = DriveDataset(path, info_dir, processor, qa_mode="planning")
    batch = collate_drive_batch([dataset[index] for index in range(4)], tokenizer.pad_token_id)
    assert batch.scene_tokens == ["scene0", "scene0", "scene0", "scene1"]
    assert batch.timestamps.dtype == torch.float64 and batch.timestamps.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert batch.ego_to_global.dtype == torch.float64 and batch.ego_to_global.shape == (4, 4, 4)
    assert batch.ego_to_global[2, 0, 3] == 12.5 and batch.ego_to_global[1, 0, 3] == 0.0
    assert set(batch) >= {"scene_tokens", "timestamps", "ego_to_global"}  # model(**batch) passes them


def _rewrite(info_dir, edit):
    path = info_dir / INFOS
    content = json.loads(path.read_text())
    edit(content["infos"][2])
    path.write_text(json.dumps(content))


def _set(key, value):
    return lambda record: record.__setitem__(key, value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r["cams"].pop("CAM_BACK"), r"sample 'tok2': camera 'CAM_BACK' missing"),
        (_set("ego_status", [1.0, float("nan"), 0, 0, 0, 1]), r"sample 'tok2': ego_status holds NaN"),
        (_set("ego_status", [1.0, 2.0]), r"sample 'tok2': ego_status must have shape \(6,\), got \(2,\)"),
        (
            _set("ego_status", ["4.0", "0.1", "0", "0", "0", "1"]),
            r"sample 'tok2': ego_status is not a numeric array .*str",
        ),
        (lambda r: r["gt_boxes"][1].__setitem__(3, float("nan")), r"sample 'tok2': gt_boxes holds NaN .*\[\[1, 3\]\]"),
        (_set("gt_boxes", [[1.0] * 7]), r"sample 'tok2': gt_boxes must have shape \(N, 9\), got \(1, 7\)"),
        (_set("gt_names", ["car"]), r"sample 'tok2': 3 gt_boxes but 1 gt_names"),
        (_set("lanes", np.zeros((2, 5, 3)).tolist()), r"lanes must have shape \(N, 11, 3\), got \(2, 5, 3\)"),
        (_set("lanes", [[[0, 0, 0]], [[0, 0]]]), r"sample 'tok2': lanes is not a numeric array"),
        (_set("ego_fut_traj", [[0.0, 0.0]] * 5), r"ego_fut_traj must have shape \(6, 2\), got \(5, 2\)"),
        (_set("command", 4), r"sample 'tok2': command must be 0 \(right\), 1 \(left\) or 2 \(straight\), got 4"),
        (lambda r: r.pop("ego_status"), r"sample 'tok2': key 'ego_status' missing"),
        (_set("scene_token", 7), r"sample 'tok2': scene_token must be a string, got 7"),
        (_set("ego2global", np.eye(3).tolist()), r"sample 'tok2': ego2global must have shape \(4, 4\)"),
        (_set("ego_history", [[0.0] * 10]), r"sample 'tok2': ego_history must have shape \(2, 10\), got \(1, 10\)"),
        (lambda r: r["cams"]["CAM_FRONT"].__setitem__("intrinsics", [[1, 0], [0, 1]]), r"'tok2/CAM_FRONT': intrinsics"),
    ],
)
def test_bad_records_raise_naming_the_sample(info_dir, processor, edit, message):
    _rewrite(info_dir, edit)
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="planning")
    dataset[1]  # other records still load
    with pytest.raises(ValueError, match=message):
        dataset[2]


@pytest.mark.parametrize("name", ["Car", "spaceship"])
def test_unknown_class_names_are_an_error_naming_file_sample_and_name(info_dir, processor, name):
    _rewrite(info_dir, lambda record: record["gt_names"].__setitem__(0, name))
    with pytest.raises(
        InputError,
        match=rf"info file {info_dir / INFOS}: 1 box\(es\) with an unknown class name "
        rf"\(sample: name\), e.g. tok2: '{name}';",
    ):
        DriveDataset(info_dir / INFOS, info_dir, processor)


def test_nan_trajectory_is_allowed_only_where_masked(info_dir, processor):
    traj = [[1.0, 0.0]] * 4 + [[float("nan"), float("nan")]] * 2
    _rewrite(info_dir, _set("ego_fut_traj", traj))
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor)
    assert dataset[2].targets.trajectory[4:].abs().sum() == 0
    _rewrite(info_dir, _set("ego_fut_mask", [1] * 6))
    with pytest.raises(ValueError, match=r"sample 'tok2': ego_fut_traj / ego_fut_mask hold NaN or inf at valid steps"):
        DriveDataset(info_dir / INFOS, info_dir, processor)[2]


def test_missing_corrupt_and_resized_images_name_the_file(info_dir, processor):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor)
    image = info_dir / "samples/CAM_FRONT_LEFT/tok1.png"
    image.write_bytes(image.read_bytes()[:40])  # truncated PNG
    with pytest.raises(ValueError, match=rf"sample 'tok1': image file {image} cannot be decoded"):
        dataset[1]
    image.unlink()
    with pytest.raises(ValueError, match=rf"sample 'tok1': image file {image} does not exist"):
        dataset[1]
    Image.new("RGB", (80, 48)).save(image)
    with pytest.raises(
        ValueError, match=r"sample 'tok1': .*tok1.png is \(80, 48\) \(W, H\), the record says \(160, 96\)"
    ):
        dataset[1]


def test_bad_info_files_are_refused(info_dir, processor, tmp_path):
    with pytest.raises(ValueError, match="expected split 'train', the file holds 'val'"):
        DriveDataset(info_dir / INFOS, info_dir, processor, split="train")
    with pytest.raises(ValueError, match="qa_mode must be one of"):
        DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="random")
    with pytest.raises(ValueError, match="the processor expects 6 cameras, got 2"):
        DriveDataset(info_dir / INFOS, info_dir, processor, cameras=["CAM_FRONT", "CAM_BACK"])
    broken = tmp_path / "broken.json"
    broken.write_text('{"metadata": {}, "infos": [')
    with pytest.raises(ValueError, match=rf"{broken}: not valid JSON"):
        DriveDataset(broken, info_dir, processor)
    with pytest.raises(ValueError, match="does not exist"):
        DriveDataset(tmp_path / "absent.json", info_dir, processor)
    broken.write_text(json.dumps({"metadata": {}, "infos": [{"cams": {}}]}))
    with pytest.raises(ValueError, match="record 0 has no 'token' string"):
        DriveDataset(broken, info_dir, processor)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_rgba_camera_files_are_refused_naming_the_file(info_dir, processor, mode):
    image = info_dir / "samples/CAM_BACK/tok1.png"
    Image.open(image).convert(mode).save(image)
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor)
    dataset[0]  # other samples still load
    with pytest.raises(
        InputError,
        match=rf"sample 'tok1': image file {image} has PIL mode '{mode}', camera images "
        r"must be 'RGB'",
    ):
        dataset[1]


def test_ego_history_is_read_and_collated(info_dir, processor):
    history = [[4.0, 0.1, 0.2, 0.0, 0.01, 5.0, -2.5, 0.0, 0.0, 1.0], [0.0] * 10]

    def edit(record):
        record["ego_history"] = history

    _rewrite(info_dir, edit)
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="planning")
    torch.testing.assert_close(dataset[2].ego_history, torch.tensor(history))
    assert dataset[1].ego_history is None  # an info file written before the key: the sample has none
    batch = collate_drive_batch([dataset[2], dataset[2]], pad_token_id=0)
    torch.testing.assert_close(batch.ego_history, torch.tensor([history, history]))
