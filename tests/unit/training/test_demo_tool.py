"""tools/demo.py: the summary table it prints and writes (metrics, baselines, loss trends, timings), and its argument checks."""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "tools" / "demo.py"


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("demo_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_puts_each_baseline_beside_the_model(demo):
    metrics = {
        "plan/l2_avg": 0.5372,
        "det/mAP": 0.0007,
        "text/BLEU-4": 0.39,
        "plan/num_samples": 24,
        "baseline/constant_velocity/plan/l2_avg": 1.3963,
        "baseline/mean_trajectory/plan/l2_avg": 1.4754,
        "baseline/box_prior/det/mAP": 0.001,
    }
    losses = {
        "stage1_perception": {
            "logged": {"loss": (22.8, 12.7), "loss_det_cls": (0.9, 0.95)},
            "fixed": {"samples": 96, "start": {"total": 23.0, "det_cls": 0.91}, "end": {"total": 12.0, "det_cls": 0.8}},
        }
    }
    table = demo.summary(
        metrics, {"train stage1_perception": 134.6}, losses, headline=("plan/l2_avg", "det/mAP", "lane/DET_l")
    )
    assert table.splitlines() == [
        "| metric | OneDrive demo | constant velocity | mean trajectory | box prior |",
        "|---|---|---|---|---|",
        "| plan/l2_avg | 0.5372 | 1.3963 | 1.4754 |  |",
        "| det/mAP | 0.0007 |  |  | 0.0010 |",
        "",
        "| stage | loss | fixed samples: start | end | fell | logged: first 10 % | last 10 % | fell |",
        "|---|---|---|---|---|---|---|---|",
        "| stage1_perception | loss | 23.0000 | 12.0000 | yes | 22.8000 | 12.7000 | yes |",
        "| stage1_perception | loss_det_cls | 0.9100 | 0.8000 | yes | 0.9000 | 0.9500 | **no** |",
        "",
        "| step | seconds |",
        "|---|---|",
        "| train stage1_perception | 135 |",
    ]


def test_summary_reports_the_text_planning_beside_the_head(demo):
    metrics = {
        "plan/l2_avg": 0.61,
        "text/BLEU-4": 0.39,
        "text_plan/l2_1s": 1.2,
        "text_plan/l2_avg": 2.5,
        "text_plan/head_l2_avg": 0.6,
        "text_plan/num_parsed": 20,
        "text_plan/num_unparsed": 4,
    }
    rows = demo.summary(metrics, {}, {}).splitlines()
    for key in ("text_plan/l2_1s", "text_plan/l2_avg", "text_plan/head_l2_avg"):
        assert f"| {key} | {metrics[key]:.4f} |" in rows
    assert "| text_plan/num_parsed | 20 |" in rows and "| text_plan/num_unparsed | 4 |" in rows


def test_summary_lists_the_parts_of_the_soft_plan_cls_after_the_logged_losses(demo):
    fixed = {
        "samples": 96,
        "start": {"plan_cls": 0.84, "plan_cls: target entropy": 0.84, "plan_cls: KL to target": 0.0},
        "end": {"plan_cls": 0.6, "plan_cls: target entropy": 0.4, "plan_cls: KL to target": 0.2},
    }
    losses = {"stage2_planning": {"logged": {"loss_plan_cls": (0.8, 0.55)}, "fixed": fixed}}
    rows = demo.summary({}, {}, losses, headline=()).splitlines()[5:8]
    assert rows == [
        "| stage2_planning | loss_plan_cls | 0.8400 | 0.6000 | yes | 0.8000 | 0.5500 | yes |",
        "| stage2_planning | plan_cls: target entropy | 0.8400 | 0.4000 | yes | | | |",
        "| stage2_planning | plan_cls: KL to target | 0.0000 | 0.2000 | **no** | | | |",
    ]


def test_summary_drops_baselines_without_values_and_adds_navsim_scores(demo):
    metrics = {
        "det/mAP": 0.02,
        "navsim/PDMS": 0.7474,
        "navsim/num_tokens": 60,
        "baseline/constant_velocity/navsim/PDMS": 0.5995,
    }
    lines = demo.summary(metrics, {}, {}, headline=("det/mAP",)).splitlines()
    assert lines[:4] == [
        "| metric | OneDrive demo | constant velocity |",
        "|---|---|---|",
        "| det/mAP | 0.0200 |  |",
        "| navsim/PDMS | 0.7474 | 0.5995 |",
    ]
    assert not any("num_tokens" in line for line in lines)


def test_summary_puts_epdms_beside_pdms_for_the_human_and_the_baselines(demo):
    metrics = {
        "navsim/PDMS": 0.75,
        "navsim/EPDMS": 0.70,
        "navsim/EPDMS_num_EC_tokens": 120,
        "baseline/human/navsim/PDMS": 0.948,
        "baseline/human/navsim/EPDMS": 0.93,
        "baseline/constant_velocity/navsim/EPDMS": 0.55,
        "baseline/mean_trajectory/navsim/PDMS": 0.6,
    }
    lines = demo.summary(metrics, {}, {}, headline=()).splitlines()
    assert lines[:4] == [
        "| metric | OneDrive demo | human | constant velocity | mean trajectory |",
        "|---|---|---|---|---|",
        "| navsim/PDMS | 0.7500 | 0.9480 |  | 0.6000 |",
        "| navsim/EPDMS | 0.7000 | 0.9300 | 0.5500 |  |",
    ]
    assert lines[4] == ""  # counts are not rows


def test_summary_of_every_metric_puts_baselines_beside_and_skips_lists(demo):
    """--detection passes every metric as the headline: the box prior's keys are not rows of their own."""
    metrics = {"det/mAP": 0.0176, "det/classes_present": ["car"], "baseline/box_prior/det/mAP": 0.002}
    lines = demo.summary(metrics, {}, {}, headline=tuple(metrics)).splitlines()
    assert lines[:3] == ["| metric | OneDrive demo | box prior |", "|---|---|---|", "| det/mAP | 0.0176 | 0.0020 |"]
    assert lines[3] == ""


def test_detection_and_navsim_together_are_refused_before_anything_runs(demo, capsys):
    with pytest.raises(SystemExit) as stopped:
        demo.main(["--detection", "--navsim"])
    assert stopped.value.code == 2
    assert "--detection runs stage 1 alone; run --navsim separately" in capsys.readouterr().err
