"""The whole recipe on the embedded default: synthetic world → info files → 3 stages → eval → export → reload.

Runs the repository's own tools one after another (each as a separate process, exactly
as a user would call them), times them, checks that the exported folder, reloaded
through ``AutoModel`` / ``AutoProcessor``, scores what the trained model scored, and
prints the metric table beside the baselines (planning; the image-blind box prior for
detection) and, for every training stage, each loss on fixed training samples with the
stage's starting model and its result (``tools/stage_losses.py``) beside its mean over the
first and the last tenth of the logged steps. ``--navsim`` adds the NAVSIM part (synthetic NAVSIM logs,
planning-only training from the driving model, PDMS and EPDMS beside the logged human, constant velocity and the
mean trajectory on the same tokens).

    python tools/demo.py                 # about 30 minutes on a 2-core CPU (docs/demo.md)
    python tools/demo.py --navsim        # + NAVSIM, a few minutes more
    python tools/demo.py --seed 1        # another initialisation and data order (train.seed)
    python tools/demo.py --detection     # only stage 1, trained 4,000 steps, scored on detection (18 to 22 min)

Writes ``data/synthetic*`` and ``runs/demo/`` (``runs/demo_detection/`` with ``--detection``;
both replaced on every run) and ``summary.md`` there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from loss_trend import fell, read_loss_trend

REPO = Path(__file__).resolve().parents[1]
RUNS = Path("runs/demo")
DETECTION_RUNS = Path("runs/demo_detection")
SYNTHETIC = Path("data/synthetic")
SYNTHETIC_NAVSIM = Path("data/synthetic_navsim")
HEADLINE = (
    "plan/l2_1s",
    "plan/l2_2s",
    "plan/l2_3s",
    "plan/l2_avg",
    "plan/collision_avg",
    "plan/boundary_avg",
    "det/mAP",
    "det/NDS",
    "det/mAP_present",
    "lane/DET_l",
    "lane/chamfer_AP",
    "text/BLEU-4",
    "text/CIDEr",
    "text/counting_class_named",
    "text/counting_correct",
    "text_plan/l2_1s",
    "text_plan/l2_avg",
    "text_plan/head_l2_avg",
    "text_plan/num_parsed",
    "text_plan/num_unparsed",
)
RELOAD_KEYS = ("plan/l2_avg", "plan/collision_avg", "det/NDS", "det/mAP", "lane/DET_l")
FIXED_LOSSES = "stage_losses.json"  # in each stage's output_dir


def run(step: str, *args: str, timings: dict) -> None:
    """Run ``python tools/<args>`` and stop the demo with its output when it fails."""
    command = [sys.executable, *args]
    print(f"\n=== {step}: {' '.join(command)}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    timings[step] = time.perf_counter() - start


def seed_override(seed: int | None) -> tuple[str, ...]:
    """train.py arguments for ``--seed`` (none without it: the configs' own seed)."""
    return () if seed is None else ("--set", f"train.seed={seed}")


def read_metrics(folder: Path) -> dict:
    return json.loads((REPO / folder / "metrics.json").read_text())


def synthetic_world(timings: dict) -> None:
    # 30 training scenes, 12 held out (120 key frames, 48 with a full 6-step future for planning).
    run(
        "synthetic world",
        "tools/make_synthetic.py",
        "--out",
        str(SYNTHETIC),
        "--scenes",
        "42",
        "--val-scenes",
        "12",
        "--samples-per-scene",
        "10",
        "--overwrite",
        timings=timings,
    )
    run(
        "info files",
        "tools/create_data.py",
        "nuscenes",
        "--data-root",
        str(SYNTHETIC),
        "--version",
        "v1.0-synthetic",
        "--out",
        str(SYNTHETIC / "infos"),
        "--can-bus",
        str(SYNTHETIC),
        "--workers",
        "2",
        timings=timings,
    )


def train(stage: str, config: str, output_dir: Path, seed: int | None, timings: dict, losses: dict) -> None:
    """tools/train.py on ``config``, then tools/stage_losses.py; records how each of its losses moved:
    ``losses[stage] = {"logged": loss_trend, "fixed": stage_losses}``."""
    run(f"train {stage}", "tools/train.py", config, *seed_override(seed), timings=timings)
    fixed = output_dir / FIXED_LOSSES
    run(
        f"losses on fixed samples, {stage}",
        "tools/stage_losses.py",
        config,
        *seed_override(seed),
        "--out",
        str(fixed),
        timings=timings,
    )
    losses[stage] = {"logged": read_loss_trend(REPO / output_dir), "fixed": json.loads((REPO / fixed).read_text())}


def nuscenes_part(timings: dict, losses: dict, seed: int | None) -> dict:
    synthetic_world(timings)
    for stage in ("stage1_perception", "stage2_planning", "stage3_joint"):
        train(stage, f"configs/demo/demo_{stage}.py", RUNS / stage, seed, timings, losses)
    config = "configs/demo/demo_stage3_joint.py"
    run(
        "evaluate",
        "tools/eval.py",
        config,
        "--checkpoint",
        str(RUNS / "stage3_joint/final"),
        "--out",
        str(RUNS / "eval"),
        "--baselines",
        timings=timings,
    )
    run(
        "export",
        "tools/export.py",
        str(RUNS / "stage3_joint/final"),
        "--out",
        str(RUNS / "export"),
        "--dtype",
        "fp32",
        "--metrics",
        str(RUNS / "eval/metrics.json"),
        timings=timings,
    )
    run(
        "reload export + evaluate",
        "tools/eval.py",
        config,
        "--checkpoint",
        str(RUNS / "export"),
        "--out",
        str(RUNS / "eval_export"),
        "--no-text",
        timings=timings,
    )
    trained, reloaded = read_metrics(RUNS / "eval"), read_metrics(RUNS / "eval_export")
    differ = {key: (trained[key], reloaded[key]) for key in RELOAD_KEYS if abs(trained[key] - reloaded[key]) > 1e-6}
    if differ:
        raise SystemExit(f"the reloaded export scores differently from the trained model: {differ}")
    return trained


def detection_part(timings: dict, losses: dict, seed: int | None) -> dict:
    """Stage 1 alone for 4,000 steps (configs/demo/demo_detection.py), scored on detection and lanes."""
    synthetic_world(timings)
    config = "configs/demo/demo_detection.py"
    train("stage1_perception (4,000 steps)", config, DETECTION_RUNS / "stage1_perception", seed, timings, losses)
    run(
        "evaluate",
        "tools/eval.py",
        config,
        "--checkpoint",
        str(DETECTION_RUNS / "stage1_perception/final"),
        "--out",
        str(DETECTION_RUNS / "eval"),
        "--no-text",
        "--baselines",
        timings=timings,
    )
    metrics = read_metrics(DETECTION_RUNS / "eval")
    return {key: value for key, value in metrics.items() if key.startswith(("det/", "lane/", "baseline/box_prior/"))}


def navsim_part(timings: dict, losses: dict, seed: int | None) -> dict:
    run(
        "synthetic NAVSIM logs",
        "tools/make_synthetic.py",
        "--format",
        "navsim",
        "--out",
        str(SYNTHETIC_NAVSIM),
        "--scenes",
        "36",
        "--val-scenes",
        "6",
        "--samples-per-scene",
        "10",
        "--overwrite",
        timings=timings,
    )
    for split, logs in (("navtrain", "trainval"), ("navtest", "test")):
        run(
            f"NAVSIM info files ({split})",
            "tools/create_data.py",
            "navsim",
            "--data-root",
            str(SYNTHETIC_NAVSIM),
            "--logs",
            logs,
            "--scene-filter",
            str(SYNTHETIC_NAVSIM / "scene_filters" / f"{split}.yaml"),
            "--out",
            str(SYNTHETIC_NAVSIM / "infos"),
            timings=timings,
        )
    train("NAVSIM", "configs/demo/demo_navsim.py", RUNS / "navsim", seed, timings, losses)
    run(
        "evaluate NAVSIM",
        "tools/eval.py",
        "configs/demo/demo_navsim.py",
        "--checkpoint",
        str(RUNS / "navsim/final"),
        "--out",
        str(RUNS / "eval_navsim"),
        "--baselines",
        "--no-text",
        timings=timings,
    )
    return read_metrics(RUNS / "eval_navsim")


def summary(metrics: dict, timings: dict, losses: dict, headline: tuple[str, ...] = HEADLINE) -> str:
    """Markdown: metrics beside the baselines that have them, each stage's losses (on fixed training samples at the
    stage's start and end; first vs last tenth of the logs), timings.

    A row per number of ``headline`` found in ``metrics``; a baseline's own key (``baseline/<name>/...``) is
    not a row, its value goes beside the model's.
    """
    keys = [key for key in headline if isinstance(metrics.get(key), (int, float)) and not key.startswith("baseline/")]
    keys += [key for key in metrics if key.startswith("navsim/") and "num_" not in key]
    baselines = [
        name
        for name in ("human", "constant_velocity", "mean_trajectory", "box_prior")
        if any(f"baseline/{name}/{key}" in metrics for key in keys)
    ]
    rows = [
        "| metric | OneDrive demo |" + "".join(f" {name.replace('_', ' ')} |" for name in baselines),
        "|---|---|" + "---|" * len(baselines),
    ]
    for key in keys:
        values = (metrics[key], *(metrics.get(f"baseline/{name}/{key}") for name in baselines))
        rows.append(f"| {key} | " + " | ".join(cell(value) for value in values) + " |")
    rows += [
        "",
        "| stage | loss | fixed samples: start | end | fell | logged: first 10 % | last 10 % | fell |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for stage, moved in losses.items():
        fixed, logged = moved["fixed"], moved["logged"]
        fixed_names = {name: "total" if name == "loss" else name.removeprefix("loss_") for name in logged}
        for name, (first, last) in logged.items():
            start, end = fixed["start"].get(fixed_names[name]), fixed["end"].get(fixed_names[name])
            rows.append(
                f"| {stage} | {name} | {cell(start)} | {cell(end)} | {verdict(start, end)} | {first:.4f} | "
                f"{last:.4f} | {verdict(first, last)} |"
            )
        for name, start in fixed["start"].items():  # measured on fixed samples only (the parts of the soft plan_cls)
            if name not in fixed_names.values():
                end = fixed["end"][name]
                rows.append(f"| {stage} | {name} | {cell(start)} | {cell(end)} | {verdict(start, end)} | | | |")
    rows += ["", "| step | seconds |", "|---|---|"] + [
        f"| {step} | {seconds:.0f} |" for step, seconds in timings.items()
    ]
    return "\n".join(rows) + "\n"


def verdict(start: float | None, end: float | None) -> str:
    return "" if start is None or end is None else ("yes" if fell(start, end) else "**no**")


def cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None or isinstance(value, (list, dict)) else str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--navsim", action="store_true", help="also run the NAVSIM part")
    parser.add_argument(
        "--detection",
        action="store_true",
        help="instead: only the demo's stage 1, trained to 4,000 steps (3,000 in the demo), scored on detection",
    )
    parser.add_argument("--seed", type=int, help="train.seed of every training stage (default: the configs', 0)")
    args = parser.parse_args(argv)
    if args.detection and args.navsim:
        parser.error("--detection runs stage 1 alone; run --navsim separately")
    runs = DETECTION_RUNS if args.detection else RUNS
    shutil.rmtree(REPO / runs, ignore_errors=True)  # the demo's own folder: every run starts fresh
    timings: dict[str, float] = {}
    losses: dict[str, dict] = {}
    if args.detection:
        metrics = detection_part(timings, losses, args.seed)
    else:
        metrics = nuscenes_part(timings, losses, args.seed)
    if args.navsim:
        metrics.update(navsim_part(timings, losses, args.seed))
    table = summary(metrics, timings, losses, tuple(metrics) if args.detection else HEADLINE)
    (REPO / runs / "summary.md").write_text(table)
    print("\n" + table)


if __name__ == "__main__":
    main()
