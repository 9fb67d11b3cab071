"""Demo detection — stage 1 alone, trained long enough for the tiny model's detection to start (~22 min, CPU).

The 15-minute demo stops stage 1 after 600 steps, before detection starts to learn (its
det_cls loss only reaches the level where it does after about 2,000 steps). This run trains
demo stage 1 with 256 evenly spread detection queries and the azimuth prior for 4,000 steps
and scores it on detection and lanes. The main demo keeps 64 random queries and no prior;
its planning numbers depend strongly on the initialisation (README) and were measured so.

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
            # Detection does not start within 4,000 steps without these (README, "Detection").
            task={**stage1.model.task, "num_det_queries": 256, "det_reference_init": "sunflower", "azimuth_prior_logit": 5.0},
        ),
        train=replace(stage1.train, output_dir="runs/demo_detection/stage1_perception", max_steps=4000, save_steps=500),
    )
