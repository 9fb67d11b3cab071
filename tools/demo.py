"""The whole recipe on the embedded default: synthetic world → info files → 3 stages → eval → export → reload.

Runs the repository's own tools one after another (each as a separate process, exactly
as a user would call them), times them, checks that the exported folder, reloaded
through ``AutoModel`` / ``AutoProcessor``, scores what the trained model scored, and
prints the metric table beside the planning baselines. ``--navsim`` adds the NAVSIM
part (synthetic NAVSIM logs, planning-only training from the driving model, PDMS).

    python tools/demo.py                 # about 15 minutes on a 2-core CPU
    python tools/demo.py --navsim        # + NAVSIM, a few minutes more
    python tools/demo.py --seed 1        # another initialisation and data order (train.seed)

Writes ``data/synthetic*`` and ``runs/demo/`` (both replaced on every run) and
``runs/demo/summary.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = Path("runs/demo")
SYNTHETIC = Path("data/synthetic")
SYNTHETIC_NAVSIM = Path("data/synthetic_navsim")
HEADLINE = (
    "plan/l2_1s", "plan/l2_2s", "plan/l2_3s", "plan/l2_avg", "plan/collision_avg", "plan/boundary_avg",
    "det/mAP", "det/NDS", "det/mAP_present", "lane/DET_l", "lane/chamfer_AP", "text/BLEU-4", "text/CIDEr",
)
RELOAD_KEYS = ("plan/l2_avg", "plan/collision_avg", "det/NDS", "det/mAP", "lane/DET_l")


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


def nuscenes_part(timings: dict, seed: int | None) -> dict:
    run("synthetic world", "tools/make_synthetic.py", "--out", str(SYNTHETIC), "--scenes", "36", "--val-scenes", "6",
        "--samples-per-scene", "10", "--overwrite", timings=timings)
    run("info files", "tools/create_data.py", "nuscenes", "--data-root", str(SYNTHETIC), "--version",
        "v1.0-synthetic", "--out", str(SYNTHETIC / "infos"), "--workers", "2", timings=timings)
    for stage in ("stage1_perception", "stage2_planning", "stage3_joint"):
        run(f"train {stage}", "tools/train.py", f"configs/demo/demo_{stage}.py", *seed_override(seed), timings=timings)
    config = "configs/demo/demo_stage3_joint.py"
    run("evaluate", "tools/eval.py", config, "--checkpoint", str(RUNS / "stage3_joint/final"),
        "--out", str(RUNS / "eval"), "--baselines", timings=timings)
    run("export", "tools/export.py", str(RUNS / "stage3_joint/final"), "--out", str(RUNS / "export"),
        "--dtype", "fp32", "--metrics", str(RUNS / "eval/metrics.json"), timings=timings)
    run("reload export + evaluate", "tools/eval.py", config, "--checkpoint", str(RUNS / "export"),
        "--out", str(RUNS / "eval_export"), "--no-text", timings=timings)
    trained, reloaded = read_metrics(RUNS / "eval"), read_metrics(RUNS / "eval_export")
    differ = {key: (trained[key], reloaded[key]) for key in RELOAD_KEYS if abs(trained[key] - reloaded[key]) > 1e-6}
    if differ:
        raise SystemExit(f"the reloaded export scores differently from the trained model: {differ}")
    return trained


def navsim_part(timings: dict, seed: int | None) -> dict:
    run("synthetic NAVSIM logs", "tools/make_synthetic.py", "--format", "navsim", "--out", str(SYNTHETIC_NAVSIM),
        "--scenes", "36", "--val-scenes", "6", "--samples-per-scene", "10", "--overwrite", timings=timings)
    run("NAVSIM info files", "tools/create_data.py", "navsim", "--data-root", str(SYNTHETIC_NAVSIM), "--split",
        "navtrain", "--split", "navtest", "--out", str(SYNTHETIC_NAVSIM / "infos"), timings=timings)
    run("train NAVSIM", "tools/train.py", "configs/demo/demo_navsim.py", *seed_override(seed), timings=timings)
    run("evaluate NAVSIM", "tools/eval.py", "configs/demo/demo_navsim.py", "--checkpoint", str(RUNS / "navsim/final"),
        "--out", str(RUNS / "eval_navsim"), "--baselines", "--no-text", timings=timings)
    return read_metrics(RUNS / "eval_navsim")


def summary(metrics: dict, timings: dict) -> str:
    rows = ["| metric | OneDrive demo | constant velocity | mean trajectory |", "|---|---|---|---|"]
    for key in HEADLINE + tuple(k for k in metrics if k.startswith("navsim/") and k != "navsim/num_tokens"):
        if key not in metrics:
            continue
        baselines = [metrics.get(f"baseline/{name}/{key}") for name in ("constant_velocity", "mean_trajectory")]
        cells = [f"{value:.4f}" if isinstance(value, float) else "" for value in (metrics[key], *baselines)]
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    rows += ["", "| step | seconds |", "|---|---|"] + [f"| {step} | {seconds:.0f} |" for step, seconds in timings.items()]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--navsim", action="store_true", help="also run the NAVSIM part")
    parser.add_argument("--seed", type=int, help="train.seed of every training stage (default: the configs', 0)")
    args = parser.parse_args(argv)
    shutil.rmtree(REPO / RUNS, ignore_errors=True)  # the demo's own folder: every run starts fresh
    timings: dict[str, float] = {}
    metrics = nuscenes_part(timings, args.seed)
    if args.navsim:
        metrics.update(navsim_part(timings, args.seed))
    table = summary(metrics, timings)
    (REPO / RUNS / "summary.md").write_text(table)
    print("\n" + table)


if __name__ == "__main__":
    main()
