"""Demo stage 3 — joint fine-tuning of the demo model, from stage 2's output; also the demo's evaluation config.

python tools/train.py configs/demo/demo_stage3_joint.py
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage2 = load_config(Path(__file__).with_name("demo_stage2_planning.py"))
    return replace(
        stage2,
        name="demo_stage3_joint",
        model=replace(
            stage2.model,
            init_from=stage2.train.output_dir,
            task={
                **stage2.model.task,
                "perception_weight": 1.0,
                "planning_weight": 1.0,
                "text_weight": 1.0,
            },
        ),
        train=replace(
            stage2.train,
            output_dir="runs/demo/stage3_joint",
            max_steps=400,
            learning_rate=2e-4,
        ),
        recipe=replace(stage2.recipe, stage="joint"),
    )
