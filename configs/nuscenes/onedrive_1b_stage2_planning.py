"""Stage 2 — planning adaptation on nuScenes (paper settings), from stage 1's output.

Trains the planning queries (ego token + 3 commands x 6 modes x 6 steps), the planning FFNs
and head and LoRA on the LLM's other layers (a fresh adapter on the merged stage-1 weights);
ViT, every perception module and the task layers' attention stay frozen, so the perception
predictions (read at the last task layer) are those of stage 1. Losses: planning (summed over
the task layers) + text.

    torchrun --nproc_per_node 8 tools/train.py configs/nuscenes/onedrive_1b_stage2_planning.py
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage1 = load_config(Path(__file__).with_name("onedrive_1b_stage1_perception.py"))
    return replace(
        stage1,
        name="onedrive_1b_stage2_planning",
        model=replace(stage1.model, init_from=stage1.train.output_dir),
        train=replace(stage1.train, output_dir="runs/onedrive_1b_stage2_planning"),
        recipe=replace(stage1.recipe, stage="planning"),
    )
