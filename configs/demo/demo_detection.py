"""Demo detection — stage 1 alone for 4,000 steps, to show how far the tiny model's detection goes (18 to 22 min, CPU).

The demo stops stage 1 after 3,000 steps, when detection is still climbing fast. This run
trains the same stage 1 (256 evenly spread detection queries, the azimuth prior) for 4,000
steps, in its own folders, and scores it on detection and lanes.

    python tools/demo.py --detection      # synthetic world, info files, this stage, evaluation
    python tools/train.py configs/demo/demo_detection.py
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage1 = load_config(Path(__file__).with_name("demo_stage1_perception.py"))
    return replace(
        stage1,
        name="demo_detection",
        model=replace(
            stage1.model,
            internvl="runs/demo_detection/tiny_internvl",
        ),
        train=replace(stage1.train, output_dir="runs/demo_detection/stage1_perception", max_steps=4000, save_steps=500),
    )
