"""Each loss of a trained stage on fixed training samples, at the stage's start and at its end.

    python tools/stage_losses.py CONFIG [--set key=value ...] [--samples 96] [--out losses.json]

Run after ``tools/train.py CONFIG`` (same ``--set`` values): it reads the stage's starting point
(``model.init_from``, or the fresh model of stage 1) and ``<train.output_dir>/final``, passes the
same training samples without augmentation through both and prints, per loss, the two means
and whether it fell (``onedrive/training/stage_losses.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import onedrive  # noqa: F401  (registers the Auto classes)
from onedrive.errors import run_tool
from onedrive.training.config import apply_overrides, load_config
from onedrive.training.loss_trend import format_loss_trend
from onedrive.training.stage_losses import SAMPLES, stage_losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="the experiment config the stage was trained with")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="the same overrides as the training run (repeatable)")
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
