"""Stage 3 — joint fine-tuning on nuScenes (paper settings), from stage 2's output.

Everything trains, the ViT included (the LLM through LoRA + full attention of the task
layers); loss = perception_weight x (det + lanes) + planning_weight x planning (deep
supervision) + text, with the weights in ``model.task``.

    torchrun --nproc_per_node 8 tools/train.py configs/nuscenes/onedrive_1b_stage3_joint.py
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage2 = load_config(Path(__file__).with_name("onedrive_1b_stage2_planning.py"))
    return replace(
        stage2,
        name="onedrive_1b_stage3_joint",
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
        train=replace(stage2.train, output_dir="runs/onedrive_1b_stage3_joint"),
        recipe=replace(stage2.recipe, stage="joint"),
    )
