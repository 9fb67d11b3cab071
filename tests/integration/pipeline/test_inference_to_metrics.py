"""Synthetic world → info files → a tiny OneDrive → prediction files → every metric family.

Real tools, real devkit, real files; the model is untrained, so the test checks that the
whole split is predicted and scored, not the values.
"""

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
from plan_query_helpers import with_anchors

from onedrive import OneDriveForDriving
from onedrive.evaluation import evaluate_predictions
from onedrive.inference import predict_split
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

TOOLS = Path(__file__).resolve().parents[3] / "tools"
DEMO_CONFIG = TOOLS.parent / "configs" / "demo" / "demo_stage1_perception.py"
HEADS = dict(num_det_queries=16, num_lane_queries=8, max_boxes=16, max_lanes=8, depth_bins=4)


def run_tool(name: str, argv: list[str]):
    """``tools/<name>.py``'s ``main(argv)``, and what it returns."""
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def make_world(root: Path, scenes: int, samples_per_scene: int, *create_data_options: str) -> Path:
    """``root`` holding a synthetic nuScenes world (``world/``) and its info files (``infos/``)."""
    world = str(root / "world")
    run_tool("make_synthetic", ["--out", world, "--scenes", str(scenes), "--samples-per-scene", str(samples_per_scene)])
    run_tool(
        "create_data",
        [
            "nuscenes",
            "--data-root",
            world,
            "--version",
            "v1.0-synthetic",
            "--out",
            str(root / "infos"),
            *create_data_options,
        ],
    )
    return root


def tiny_model(folder: Path, **task) -> tuple[OneDriveForDriving, OneDriveProcessor]:
    """An untrained OneDrive with ``task`` on a tiny random InternVL saved in ``folder``, and its processor."""
    tokenizer = build_tokenizer()
    config = tiny_internvl_config(
        vocab_size=len(tokenizer), image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    )
    save_tiny_internvl(folder, config)
    model = OneDriveForDriving.from_internvl(str(folder), task_config=with_anchors(**task))
    return model, OneDriveProcessor.from_config(model.config, tokenizer)


def read_records(infos: Path) -> list[dict]:
    return json.loads(infos.read_text())["infos"]


def write_perfect_planning(folder: Path, records: list[dict]) -> Path:
    """``folder`` holding a planning.json that predicts every record's logged future."""
    folder.mkdir()
    (folder / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    return folder


def eval_on_world(world: Path, *options: str) -> dict:
    """tools/eval.py with the demo stage-1 config on ``world``'s data and val info file, then ``options``."""
    return run_tool(
        "eval",
        [
            str(DEMO_CONFIG),
            *options,
            "--set",
            f"data.root={world / 'world'}",
            "--set",
            f"data.infos_dir={world / 'infos'}",
        ],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    return make_world(root, 2, 8, "--can-bus", str(root / "world"))


def test_predictions_cover_the_split_and_score(world):
    model, processor = tiny_model(world / "internvl", **HEADS)
    infos = world / "infos" / "nuscenes_infos_synthetic_val.json"
    paths = predict_split(
        model, processor, infos, world / "world", world / "predictions", batch_size=4, max_new_tokens=2
    )
    assert sorted(paths) == ["detection", "lanes", "planning", "text"]

    records = read_records(infos)
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


def test_eval_tool_scores_the_baselines_on_the_configs_split(world, monkeypatch):
    """tools/eval.py CONFIG --predictions P --baselines: planning baselines and the box prior, scored by the real devkit;
    the run reads each info file once (every info-file reader parses it through ``onedrive.infos.read_json``)."""
    import onedrive.infos

    read_json, reads = onedrive.infos.read_json, Counter()

    def counting_read_json(path):
        reads[Path(path).name] += 1
        return read_json(path)

    monkeypatch.setattr(onedrive.infos, "read_json", counting_read_json)
    records = read_records(world / "infos" / "nuscenes_infos_synthetic_val.json")
    perfect = write_perfect_planning(world / "perfect", records)
    metrics = eval_on_world(world, "--predictions", str(perfect), "--baselines", "--out", str(world / "eval_baselines"))
    assert reads == {"nuscenes_infos_synthetic_val.json": 1, "nuscenes_infos_synthetic_train.json": 1}
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
    assert written["baseline/box_prior/det/mAP"] == metrics["baseline/box_prior/det/mAP"]


@pytest.mark.slow
def test_eval_checkpoint_without_text_scores_no_text_left_by_an_earlier_run(world):
    """tools/eval.py --checkpoint --no-text --out DIR, DIR holding an earlier run's predictions/text.jsonl and
    metrics.json: neither survives, no text metric is credited to the model."""
    model, processor = tiny_model(
        world / "internvl_ckpt", num_det_queries=8, num_lane_queries=4, max_boxes=8, max_lanes=4, depth_bins=4
    )
    checkpoint = world / "checkpoint"
    model.save_pretrained(checkpoint)
    processor.save_pretrained(checkpoint)
    records = read_records(world / "infos" / "nuscenes_infos_synthetic_val.json")
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
    metrics = eval_on_world(world, "--checkpoint", str(checkpoint), "--no-text", "--out", str(out), "--num-plots", "0")
    assert not any(key.startswith(("text/", "text_plan/")) for key in metrics)
    assert sorted(path.name for path in (out / "predictions").iterdir()) == [
        "detection.json",
        "lanes.json",
        "planning.json",
    ]
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))


def test_eval_tool_says_whether_the_model_planned_with_ego_status(world):
    plans = write_perfect_planning(world / "plans", read_records(world / "infos" / "nuscenes_infos_synthetic_val.json"))
    metrics = eval_on_world(
        world,
        "--predictions",
        str(plans),
        "--out",
        str(world / "eval_no_status"),
        "--set",
        "model.task.plan_anchor='none'",
        "--set",
        "model.task.use_ego_status=False",
    )
    assert metrics["model/uses_ego_status"] is False


@pytest.fixture(scope="module")
def scenes_world(tmp_path_factory):
    """A synthetic world whose training split has several short scenes."""
    return make_world(tmp_path_factory.mktemp("scenes"), 3, 3)


@pytest.mark.parametrize("text", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_streaming_inference_equals_hand_passed_memory(scenes_world, text):
    """A model with a temporal memory: predict_split (2 batch slots; with ``text`` every question answered too)
    walks each scene in time order; its files equal frame-by-frame predict calls that pass the memory state by
    hand, and differ from calls without it."""
    import torch

    from onedrive.data import DriveDataset, collate_drive_batch
    from onedrive.model.initial_values import randomise_initial_values

    world = scenes_world
    model, processor = tiny_model(
        world / f"internvl_memory_{text}", **HEADS, memory_size=6, memory_topk=4, memory_propagated=3
    )
    model.eval()
    randomise_initial_values(model, std=0.05, seed=3)
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
    records = read_records(infos)
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
            batch = collate_drive_batch([dataset[index[token]]], processor.tokenizer.pad_token_id)
            by_hand = model.predict(batch, memory=memory)
            memory = by_hand.memory
            assert torch.allclose(torch.tensor(planning[token]["trajectory"]), by_hand.trajectory[0], atol=1e-4)
            points = torch.tensor([lane["points"] for lane in lanes[token]])
            assert torch.allclose(points, by_hand.lanes[0].points, atol=1e-4)
            alone = model.predict(batch)
            differs |= not torch.allclose(alone.trajectory, by_hand.trajectory, atol=1e-4)
    assert differs  # the memory is read: without it the frames after the first come out otherwise
