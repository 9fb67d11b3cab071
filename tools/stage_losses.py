"""Each loss of a training stage on fixed training samples, with the stage's starting model and with its result.

``loss_trend`` compares the first and the last tenth of a run's logged batches: different
samples under different augmentations. For a loss near its plateau that noise can decide
whether it "fell" (the demo's seed 1: stage 3's logged text loss went 4.035 → 4.042 while on
fixed samples it fell). Here the same training samples, spread evenly over the split and
without augmentation, go through the stage's starting model (what ``build_model`` makes of
the config, seeded as ``tools/train.py`` seeds it: ``init_from``, or the fresh model of stage
1) and through its result (``<train.output_dir>/final`` under the same task config).

    python tools/stage_losses.py CONFIG [--set key=value ...] [--samples 96] [--out losses.json]

Run after ``tools/train.py CONFIG`` (same ``--set`` values); prints, per loss, the two means
and whether it fell. A diagnostic of the demo (``tools/demo.py`` runs it after each stage).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from loss_trend import format_loss_trend
from transformers import set_seed

import onedrive  # noqa: F401  (registers the Auto classes)
from onedrive.data import collate_drive_batch
from onedrive.errors import run_tool
from onedrive.training.build import (
    build_model,
    build_processor,
    build_tokenizer_for,
    build_train_dataset,
    ensure_tiny_internvl,
)
from onedrive.training.config import ExperimentConfig, add_override_argument, apply_overrides, load_config

SAMPLES = 96
BATCH_SIZE = 4


def sample_indices(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)``; all of them when ``total <= count``."""
    if total <= count:
        return list(range(total))
    return [index * total // count for index in range(count)]


def fixed_sample_losses(
    config: ExperimentConfig, model_dir: str | Path | None = None, samples: int = SAMPLES
) -> tuple[dict[str, float], int]:
    """Mean of each loss over ``sample_indices(len(train split), samples)`` for the stage's starting
    model, or for the model folder ``model_dir`` under the stage's task config → ({loss: mean}, samples used);
    ``total`` is the weighted sum the stage trains on."""
    if model_dir is not None:
        config = replace(config, model=replace(config.model, init_from=str(model_dir)))
    ensure_tiny_internvl(config)
    set_seed(config.train.seed)
    model, _ = build_model(config)
    model.eval()
    tokenizer = build_tokenizer_for(config)
    dataset = build_train_dataset(
        replace(config, data=replace(config.data, augment=False)), build_processor(model, tokenizer)
    )
    indices = sample_indices(len(dataset), samples)
    if not indices:
        raise ValueError(f"the training split {config.data.train_split!r} holds no samples")
    sums: dict[str, float] = {}
    with torch.no_grad():
        for start in range(0, len(indices), BATCH_SIZE):
            chunk = indices[start : start + BATCH_SIZE]
            batch = collate_drive_batch([dataset[i] for i in chunk], pad_token_id=tokenizer.pad_token_id)
            output = model(**batch)
            values = {"total": output.loss, **output.losses}
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(chunk)
    means = {name: total / len(indices) for name, total in sums.items()}
    return means, len(indices)


def stage_losses(config: ExperimentConfig, samples: int = SAMPLES) -> dict:
    """{"samples": n, "start": {loss: mean}, "end": {loss: mean}} for the losses the stage supervises
    (those not zero at both ends), after ``tools/train.py`` has written ``<train.output_dir>/final``."""
    final = Path(config.train.output_dir) / "final"
    if not (final / "config.json").is_file():
        raise FileNotFoundError(f"no trained model at {final}: run tools/train.py on this config first")
    start, count = fixed_sample_losses(config, samples=samples)
    end, _ = fixed_sample_losses(config, final, samples)
    names = [name for name in start if start[name] or end[name]]
    return {
        "samples": count,
        "start": {name: start[name] for name in names},
        "end": {name: end[name] for name in names},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the experiment config the stage was trained with")
    add_override_argument(parser, help="the same overrides as the training run (repeatable)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="training samples, spread over the split")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    config = apply_overrides(load_config(args.config), args.overrides)
    result = stage_losses(config, args.samples)
    print(f"{config.name}: each loss on {result['samples']} training samples (no augmentation)")
    moved = {name: (start, result["end"][name]) for name, start in result["start"].items()}
    print(format_loss_trend(moved, columns=("start", "end")))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
