"""Synthetic world → info files → a tiny OneDrive → prediction files → every metric family.

Real tools, real devkit, real files; the model is untrained, so the test checks that the
whole split is predicted and scored, not the values.
"""

import importlib.util
import json
from pathlib import Path

import pytest
from plan_query_helpers import with_anchors

from onedrive import OneDriveForDriving
from onedrive.evaluation import evaluate_predictions
from onedrive.inference import predict_split
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def run_tool(name: str, argv: list[str]):
    """``tools/<name>.py``'s ``main(argv)``, and what it returns."""
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    run_tool("make_synthetic", ["--out", str(root / "world"), "--scenes", "2", "--samples-per-scene", "8"])
    run_tool(
        "create_data",
        [
            "nuscenes",
            "--data-root",
            str(root / "world"),
            "--version",
            "v1.0-synthetic",
            "--out",
            str(root / "infos"),
            "--can-bus",
            str(root / "world"),
        ],
    )
    return root


def test_predictions_cover_the_split_and_score(world):
    tokenizer = build_tokenizer()
    config = tiny_internvl_config(
        vocab_size=len(tokenizer), image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    )
    save_tiny_internvl(world / "internvl", config)
    model = OneDriveForDriving.from_internvl(
        str(world / "internvl"),
        task_config=with_anchors(num_det_queries=16, num_lane_queries=8, max_boxes=16, max_lanes=8, depth_bins=4),
    )
    processor = OneDriveProcessor.from_config(model.config, tokenizer)
    infos = world / "infos" / "nuscenes_infos_synthetic_val.json"
    paths = predict_split(
        model, processor, infos, world / "world", world / "predictions", batch_size=4, max_new_tokens=2
    )
    assert sorted(paths) == ["detection", "lanes", "planning", "text"]

    records = json.loads(infos.read_text())["infos"]
    planning = json.loads(paths["planning"].read_text())
    assert set(planning) == {record["token"] for record in records}
    questions = sum(len(record["qa"]) for record in records)
    assert len(paths["text"].read_text().splitlines()) == questions

    metrics = evaluate_predictions(world / "predictions", infos, out_dir=world / "eval", num_plots=1)
    for key in (
        "plan/l2_avg",
        "plan/collision_avg",
        "det/NDS",
        "det/mAP",
        "lane/DET_l",
        "lane/chamfer_AP",
        "text/CIDEr",
    ):
        assert key in metrics, key
    assert metrics["plan/num_samples"] + metrics["plan/num_skipped"] == len(records)
    assert metrics["text/num_pairs"] == len({(r["token"], qa["question"]) for r in records for qa in r["qa"]})
    # Every planning-trajectory question is counted: 2 new tokens never make a 6-point list.
    with_future = sum(record["fut_valid"] for record in records)
    assert with_future > 0
    assert metrics["text_plan/num_questions"] == metrics["text_plan/num_unparsed"] == with_future
    assert "text_plan/l2_avg" not in metrics
    assert (world / "eval" / "metrics.json").is_file()


def test_eval_tool_scores_the_baselines_on_the_configs_split(world):
    """tools/eval.py CONFIG --predictions P --baselines: planning baselines and the box prior, scored by the real devkit."""
    infos = world / "infos" / "nuscenes_infos_synthetic_val.json"
    records = json.loads(infos.read_text())["infos"]
    perfect = world / "perfect"
    perfect.mkdir()
    (perfect / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    metrics = run_tool(
        "eval",
        [
            str(TOOLS.parent / "configs" / "demo" / "demo_stage1_perception.py"),
            "--predictions",
            str(perfect),
            "--baselines",
            "--out",
            str(world / "eval_baselines"),
            "--set",
            f"data.root={world / 'world'}",
            "--set",
            f"data.infos_dir={world / 'infos'}",
        ],
    )
    assert metrics["plan/l2_avg"] == 0.0
    assert metrics["baseline/constant_velocity/plan/l2_avg"] > 0.0
    assert "model/uses_ego_status" not in metrics  # nothing says what wrote these predictions
    assert "can_bus" in metrics["conventions"]["ego_status"]
    written = json.loads((world / "eval_baselines" / "metrics.json").read_text())
    assert written["conventions"]["ego_status"] == metrics["conventions"]["ego_status"]
    assert "baseline/mean_trajectory/plan/l2_avg" in metrics
    submission = json.loads((world / "eval_baselines" / "baselines" / "box_prior" / "detection.json").read_text())
    assert set(submission["results"]) == {r["token"] for r in records}
    assert 0.0 <= metrics["baseline/box_prior/det/mAP"] < 1.0
    assert metrics["baseline/box_prior/det/num_samples"] == len(records)
    written = json.loads((world / "eval_baselines" / "metrics.json").read_text())
    assert written["baseline/box_prior/det/mAP"] == metrics["baseline/box_prior/det/mAP"]


@pytest.mark.slow
def test_eval_checkpoint_without_text_scores_no_text_left_by_an_earlier_run(world):
    """tools/eval.py --checkpoint --no-text --out DIR, DIR holding an earlier run's predictions/text.jsonl and
    metrics.json: neither survives, no text metric is credited to the model."""
    tokenizer = build_tokenizer()
    config = tiny_internvl_config(
        vocab_size=len(tokenizer), image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    )
    save_tiny_internvl(world / "internvl_ckpt", config)
    model = OneDriveForDriving.from_internvl(
        str(world / "internvl_ckpt"),
        task_config=with_anchors(num_det_queries=8, num_lane_queries=4, max_boxes=8, max_lanes=4, depth_bins=4),
    )
    checkpoint = world / "checkpoint"
    model.save_pretrained(checkpoint)
    OneDriveProcessor.from_config(model.config, tokenizer).save_pretrained(checkpoint)
    infos = world / "infos" / "nuscenes_infos_synthetic_val.json"
    records = json.loads(infos.read_text())["infos"]
    out = world / "eval_checkpoint"
    (out / "predictions").mkdir(parents=True)
    (out / "predictions" / "text.jsonl").write_text(
        "".join(  # an earlier run's perfect answers
            json.dumps({"sample_token": r["token"], "question": qa["question"], "prediction": qa["answer"]}) + "\n"
            for r in records
            for qa in r["qa"]
        )
    )
    (out / "metrics.json").write_text(json.dumps({"text/BLEU-4": 1.0}))
    metrics = run_tool(
        "eval",
        [
            str(TOOLS.parent / "configs" / "demo" / "demo_stage1_perception.py"),
            "--checkpoint",
            str(checkpoint),
            "--no-text",
            "--out",
            str(out),
            "--num-plots",
            "0",
            "--set",
            f"data.root={world / 'world'}",
            "--set",
            f"data.infos_dir={world / 'infos'}",
        ],
    )
    assert not any(key.startswith(("text/", "text_plan/")) for key in metrics)
    assert sorted(path.name for path in (out / "predictions").iterdir()) == [
        "detection.json",
        "lanes.json",
        "planning.json",
    ]
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))


def test_eval_tool_says_whether_the_model_planned_with_ego_status(world):
    infos = world / "infos" / "nuscenes_infos_synthetic_val.json"
    records = json.loads(infos.read_text())["infos"]
    plans = world / "plans"
    plans.mkdir()
    (plans / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    metrics = run_tool(
        "eval",
        [
            str(TOOLS.parent / "configs" / "demo" / "demo_stage1_perception.py"),
            "--predictions",
            str(plans),
            "--out",
            str(world / "eval_no_status"),
            "--set",
            f"data.root={world / 'world'}",
            "--set",
            f"data.infos_dir={world / 'infos'}",
            "--set",
            "model.task.plan_anchor='none'",
            "--set",
            "model.task.use_ego_status=False",
        ],
    )
    assert metrics["model/uses_ego_status"] is False


@pytest.fixture(scope="module")
def scenes_world(tmp_path_factory):
    """A synthetic world whose training split has several short scenes."""
    root = tmp_path_factory.mktemp("scenes")
    run_tool("make_synthetic", ["--out", str(root / "world"), "--scenes", "3", "--samples-per-scene", "3"])
    run_tool(
        "create_data",
        ["nuscenes", "--data-root", str(root / "world"), "--version", "v1.0-synthetic", "--out", str(root / "infos")],
    )
    return root


@pytest.mark.parametrize("text", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_streaming_inference_equals_hand_passed_memory(scenes_world, text):
    """A model with a temporal memory: predict_split (2 batch slots; with ``text`` every question answered too)
    walks each scene in time order; its files equal frame-by-frame predict calls that pass the memory state by
    hand, and differ from calls without it."""
    import torch

    from onedrive.data import DriveDataset, collate_drive_batch
    from onedrive.model.initial_values import randomise_initial_values

    tokenizer = build_tokenizer()
    config = tiny_internvl_config(
        vocab_size=len(tokenizer), image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    )
    world = scenes_world
    save_tiny_internvl(world / f"internvl_memory_{text}", config)
    model = OneDriveForDriving.from_internvl(
        str(world / f"internvl_memory_{text}"),
        task_config=with_anchors(
            num_det_queries=16,
            num_lane_queries=8,
            max_boxes=16,
            max_lanes=8,
            depth_bins=4,
            memory_size=6,
            memory_topk=4,
            memory_propagated=3,
        ),
    ).eval()
    randomise_initial_values(model, std=0.05, seed=3)
    processor = OneDriveProcessor.from_config(model.config, tokenizer)
    infos = world / "infos" / "nuscenes_infos_synthetic_train.json"  # the split with more than one scene
    paths = predict_split(
        model,
        processor,
        infos,
        world / "world",
        world / f"stream_predictions_{text}",
        batch_size=2,
        max_new_tokens=1,
        text=text,
    )
    records = json.loads(infos.read_text())["infos"]
    assert len({record["scene_token"] for record in records}) > 1
    if text:
        assert len(paths["text"].read_text().splitlines()) == sum(len(record["qa"]) for record in records)
    planning = json.loads(paths["planning"].read_text())
    lanes = json.loads(paths["lanes"].read_text())

    dataset = DriveDataset(infos, world / "world", processor, qa_mode="planning", generation=True)
    index = {record["token"]: position for position, record in enumerate(dataset.infos)}
    differs = False
    for scene in sorted({record["scene_token"] for record in records}):
        frames = sorted((r["timestamp"], r["token"]) for r in records if r["scene_token"] == scene)
        memory = None
        for _, token in frames:
            batch = collate_drive_batch([dataset[index[token]]], tokenizer.pad_token_id)
            by_hand = model.predict(batch, memory=memory)
            memory = by_hand.memory
            assert torch.allclose(torch.tensor(planning[token]["trajectory"]), by_hand.trajectory[0], atol=1e-4)
            points = torch.tensor([lane["points"] for lane in lanes[token]])
            assert torch.allclose(points, by_hand.lanes[0].points, atol=1e-4)
            alone = model.predict(batch)
            differs |= not torch.allclose(alone.trajectory, by_hand.trajectory, atol=1e-4)
    assert differs  # the memory is read: without it the frames after the first come out otherwise
