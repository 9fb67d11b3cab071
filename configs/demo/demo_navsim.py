"""Demo NAVSIM — planning-only training on synthetic NAVSIM logs, from the nuScenes demo's driving model.

Data: ``python tools/make_synthetic.py --format navsim --out data/synthetic_navsim`` then
``python tools/create_data.py navsim --data-root data/synthetic_navsim --logs trainval --scene-filter
data/synthetic_navsim/scene_filters/navtrain.yaml --out data/synthetic_navsim/infos`` and the same with
``--logs test`` and ``navtest.yaml``. The model starts from the demo's stage-3 output (a driving
VLM checkpoint, as the paper's NAVSIM model does); the planning head's output changes shape
(8 poses x (x, y, heading)) and is re-initialised.

    python tools/train.py configs/demo/demo_navsim.py
    python tools/eval.py configs/demo/demo_navsim.py --checkpoint runs/demo/navsim/final --baselines
"""

from dataclasses import replace
from pathlib import Path

from onedrive.training.config import NAVSIM_CAMERAS, DataConfig, ExperimentConfig, load_config


def build() -> ExperimentConfig:
    stage3 = load_config(Path(__file__).with_name("demo_stage3_joint.py"))
    # Stage 2's task: stage 3's without its joint loss weights, so the planning recipe's weights apply (no perception loss).
    planning_task = load_config(Path(__file__).with_name("demo_stage2_planning.py")).model.task
    return replace(
        stage3,
        name="demo_navsim",
        model=replace(
            stage3.model,
            init_from=stage3.train.output_dir,
            # NAVSIM infos hold no QA: a text loss would only teach the model to echo its driving command.
            task={**planning_task, "plan_steps": 8, "plan_dims": 3, "text_weight": 0.0},
        ),
        data=DataConfig(
            dataset="navsim",
            root="data/synthetic_navsim",
            version="navsim-v1",
            train_split="navtrain",
            eval_split="navtest",
            cameras=NAVSIM_CAMERAS,
            camera_tiles=(1, 2),
            augment=True,
            workers=1,
        ),
        train=replace(stage3.train, output_dir="runs/demo/navsim", max_steps=300, learning_rate=1e-3),
        recipe=replace(stage3.recipe, stage="planning"),
    )
