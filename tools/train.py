"""Train one stage of the OneDrive recipe (transformers.Trainer underneath).

    python tools/train.py CONFIG [--set key=value ...] [--resume [CHECKPOINT]]

CPU example (the demo's tiny model on the synthetic world; create the data first with
tools/make_synthetic.py and tools/create_data.py, see configs/demo/):

    python tools/train.py configs/demo/demo_stage1_perception.py --set train.max_steps=10

Several processes (DDP) or DeepSpeed ZeRO:

    torchrun --nproc_per_node 8 tools/train.py configs/nuscenes/onedrive_1b_stage1_perception.py
    deepspeed tools/train.py configs/nuscenes/onedrive_1b_stage1_perception.py \\
        --set train.deepspeed=configs/deepspeed/zero2.json

Each stage writes checkpoints to train.output_dir and, at the end, a loadable model
folder <train.output_dir>/final that the next stage's model.init_from reads.
"""

from __future__ import annotations

import argparse
import os
import sys

from loss_trend import format_loss_trend, read_loss_trend

import onedrive  # noqa: F401  (registers the Auto classes)
from onedrive.errors import run_tool
from onedrive.training.config import add_override_argument, apply_overrides, load_config
from onedrive.training.run import train_experiment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="experiment config file (a Python file defining build())")
    add_override_argument(parser, help="override a config value, e.g. --set train.learning_rate=2e-4 (repeatable)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CHECKPOINT",
        help="continue from the latest checkpoint in train.output_dir, or from CHECKPOINT",
    )
    parser.add_argument(
        "--local_rank", "--local-rank", type=int, default=-1, help=argparse.SUPPRESS
    )  # deepspeed launcher
    return parser.parse_args(argv)


def print_loss_trend(output_dir: str) -> None:
    """Each logged loss, the mean of the run's first tenth of steps against its last tenth."""
    print("losses over the run:\n" + format_loss_trend(read_loss_trend(output_dir)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = apply_overrides(load_config(args.config), args.overrides)
    final = train_experiment(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:  # the main process wrote trainer_state.json
        print_loss_trend(config.train.output_dir)
    print(f"model folder for the next stage / evaluation: {final}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
