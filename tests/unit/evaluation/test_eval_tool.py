"""tools/eval.py end to end: real files in, metrics.json + table + plots out."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from pyquaternion import Quaternion

TOOL = Path(__file__).resolve().parents[3] / "tools" / "eval.py"


def eval_main():
    return runpy.run_path(str(TOOL), run_name="onedrive_eval_tool")["main"]


def split_records(tiny_nuscenes, infos):
    """Info records for scene-0103 (the split), with a lane, a QA pair and an agent beside the path."""
    records = []
    for token in tiny_nuscenes["scenes"]["scene-0103"]:
        ego_xy, ego_yaw = tiny_nuscenes["ego_poses"][token]
        ego2global = np.eye(4)
        ego2global[:3, :3] = Quaternion(axis=[0, 0, 1], radians=ego_yaw).rotation_matrix
        ego2global[:2, 3] = ego_xy
        lane = np.column_stack([np.linspace(-20, 30, 11), np.zeros(11), np.zeros(11)])
        record = infos.make(
            token,
            ego2global=ego2global.tolist(),
            lanes=[lane.tolist()],
            qa=[
                {
                    "question": "What should the ego do?",
                    "answer": f"Keep driving straight in lane {token}.",
                    "type": "plan",
                }
            ],
        )
        infos.add_agent(record, "car", np.array(record["ego_fut_traj"]) + [0.0, 4.0])
        records.append(record)
    return records


def write_ground_truth_predictions(directory: Path, records, nusc_root, version):
    from nuscenes import NuScenes
    from nuscenes.eval.detection.utils import category_to_detection_name

    directory.mkdir()
    (directory / "planning.json").write_text(
        json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records})
    )
    (directory / "lanes.json").write_text(
        json.dumps({r["token"]: [{"points": lane, "score": 1.0} for lane in r["lanes"]] for r in records})
    )
    (directory / "text.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "sample_token": r["token"],
                    "question": qa["question"],
                    "prediction": qa["answer"],
                    "reference": qa["answer"],
                }
            )
            for r in records
            for qa in r["qa"]
        )
    )
    nusc = NuScenes(version=version, dataroot=str(nusc_root), verbose=False)
    results = {}
    for r in records:
        results[r["token"]] = []
        for ann_token in nusc.get("sample", r["token"])["anns"]:
            ann = nusc.get("sample_annotation", ann_token)
            attrs = [nusc.get("attribute", a)["name"] for a in ann["attribute_tokens"]]
            results[r["token"]].append(
                {
                    "sample_token": r["token"],
                    "translation": ann["translation"],
                    "size": ann["size"],
                    "rotation": ann["rotation"],
                    "velocity": nusc.box_velocity(ann_token)[:2].tolist(),
                    "detection_name": category_to_detection_name(ann["category_name"]),
                    "detection_score": 1.0,
                    "attribute_name": attrs[0] if attrs else "",
                }
            )
    (directory / "detection.json").write_text(json.dumps({"meta": {"use_camera": True}, "results": results}))


def test_eval_tool_scores_ground_truth_perfectly_and_writes_outputs(tiny_nuscenes, infos, tmp_path, capsys):
    records = split_records(tiny_nuscenes, infos)
    info_path = infos.write(
        tmp_path / "tiny_infos_eval.json",
        records,
        data_root=str(tiny_nuscenes["root"]),
        version=tiny_nuscenes["version"],
        split="onedrive_eval",
    )
    write_ground_truth_predictions(tmp_path / "preds", records, tiny_nuscenes["root"], tiny_nuscenes["version"])
    out = tmp_path / "eval"
    metrics = eval_main()(
        ["--predictions", str(tmp_path / "preds"), "--infos", str(info_path), "--out", str(out), "--num-plots", "2"]
    )
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["plan/l2_avg"] == 0.0 and saved["plan/collision_avg"] == 0.0 and saved["plan/boundary_avg"] == 0.0
    assert saved["plan/num_samples"] == 3
    assert saved["lane/DET_l"] == pytest.approx(1.0) and saved["lane/chamfer_AP"] == pytest.approx(1.0)
    assert saved["text/BLEU-4"] == pytest.approx(1.0, abs=1e-6) and saved["text/ROUGE-L"] == pytest.approx(1.0)
    assert saved["det/mAP_present"] == pytest.approx(1.0) and saved["det/NDS_present"] == pytest.approx(1.0)
    assert set(saved["conventions"]) >= {"plan", "plan/uniad", "det", "lane/DET_l", "text"}
    assert "| plan/collision_1s | 0.00 % |" in capsys.readouterr().out
    assert (out / "metrics.md").is_file() and (out / "summary.png").stat().st_size > 0
    assert sorted(p.name for p in (out / "bev").iterdir()) == sorted(f"{r['token']}.png" for r in records[:2])


def test_eval_tool_scores_only_present_files_and_refuses_an_empty_directory(infos, tmp_path):
    records = [infos.make(f"s{i}") for i in range(3)]
    info_path = infos.write(tmp_path / "x_infos_val.json", records)
    preds = tmp_path / "preds"
    preds.mkdir()
    with pytest.raises(ValueError, match="holds none of"):
        eval_main()(["--predictions", str(preds), "--infos", str(info_path)])
    (preds / "planning.json").write_text(
        json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records[:2]})
    )
    with pytest.raises(ValueError, match=r"no prediction for 1 split sample\(s\), e.g. \['s2'\]"):
        eval_main()(["--predictions", str(preds), "--infos", str(info_path)])
    (preds / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    metrics = eval_main()(["--predictions", str(preds), "--infos", str(info_path)])
    assert not any(key.startswith(("det/", "lane/", "text/")) for key in metrics)
    assert list(metrics["conventions"]) == ["plan", "plan/uniad", "plan/collision", "plan/boundary", "ego_status"]


def test_an_output_folder_holds_one_run_and_a_failed_run_leaves_no_metrics(infos, tmp_path):
    records = [infos.make(f"s{i}") for i in range(3)]
    info_path = infos.write(tmp_path / "x_infos_val.json", records)
    out = tmp_path / "eval"
    (out / "bev").mkdir(parents=True)
    (out / "bev" / "old-sample.png").write_bytes(b"png")
    (out / "baselines" / "constant_velocity").mkdir(parents=True)
    (out / "predictions").mkdir()
    (out / "predictions" / "text.jsonl").write_text("")  # written by an earlier --checkpoint run
    (out / "metrics.json").write_text(json.dumps({"text/BLEU-4": 1.0, "plan/l2_avg": 0.1}))
    (out / "metrics.md").write_text("| text/BLEU-4 | 1.0000 |")
    (out / "notes.txt").write_text("mine")  # not an evaluation output: kept
    preds = tmp_path / "preds"
    preds.mkdir()
    (preds / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": [[0.0, 0.0]]} for r in records}))
    with pytest.raises(ValueError, match=r"shape is not \(6, 2\)"):
        eval_main()(["--predictions", str(preds), "--infos", str(info_path), "--out", str(out)])
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]  # no earlier metrics.json looking current

    (preds / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    eval_main()(["--predictions", str(preds), "--infos", str(info_path), "--out", str(out), "--num-plots", "1"])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["plan/l2_avg"] == 0.0 and not any(key.startswith("text/") for key in saved)
    assert sorted(path.name for path in (out / "bev").iterdir()) == ["s0.png"]
    assert sorted(path.name for path in out.iterdir()) == [
        "bev",
        "metrics.json",
        "metrics.md",
        "notes.txt",
        "summary.png",
    ]


def test_predictions_inside_the_output_folder_are_kept_and_the_folder_itself_is_refused_as_output(infos, tmp_path):
    records = [infos.make(f"s{i}") for i in range(2)]
    info_path = infos.write(tmp_path / "x_infos_val.json", records)
    preds = tmp_path / "eval" / "predictions"
    preds.mkdir(parents=True)
    (preds / "planning.json").write_text(json.dumps({r["token"]: {"trajectory": r["ego_fut_traj"]} for r in records}))
    metrics = eval_main()(["--predictions", str(preds), "--infos", str(info_path), "--out", str(tmp_path / "eval")])
    assert metrics["plan/l2_avg"] == 0.0 and (preds / "planning.json").is_file()
    with pytest.raises(ValueError, match="is the predictions folder being scored"):
        eval_main()(["--predictions", str(preds), "--infos", str(info_path), "--out", str(preds)])
    assert (preds / "planning.json").is_file()
