"""Demo stage 2 — planning adaptation of the demo model, from stage 1's output (CPU, minutes).

python tools/train.py configs/demo/demo_stage2_planning.py
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage1 = load_config(Path(__file__).with_name("demo_stage1_perception.py"))
    return replace(
        stage1,
        name="demo_stage2_planning",
        model=replace(stage1.model, init_from=stage1.train.output_dir),
        train=replace(stage1.train, output_dir="runs/demo/stage2_planning", max_steps=600),
        # trainable=None: the planning stage's own groups, whatever stage 1 overrides.
        recipe=replace(stage1.recipe, stage="planning", trainable=None),
    )
