"""NAVSIM — planning-only training of InternVL3-2B, initialised from ReCogDrive's driving InternVL3-2B.

8 cameras, trajectories of 8 poses (x, y, heading) over 4 s at 2 Hz; only the planning
parts (+ LoRA on the LLM) train, with the planning loss alone (NAVSIM has no QA, so no text
loss: its text target would be the driving command), under the official optimiser and schedule
of the nuScenes configs (``configs/nuscenes/onedrive_1b_stage1_perception.py``). As in the paper,
the model starts from ReCogDrive's InternVL3-2B, a checkpoint in InternVL's own layout
(``vision_model.*`` / ``mlp1.*`` / ``language_model.*``) put at ``checkpoints/ReCogDrive-InternVL3-2B``
(``checkpoints/README.md``); ``OneDriveForDriving.from_internvl`` reads that layout, and the
OneDrive task modules start at their initial values. Batch: 128 samples per optimiser step, the
paper's, as 1 per GPU × 8 GPUs (the command below) × 16 accumulation steps (derived from the
process count: 4 GPUs give 32). To start from a 2B driving-pretrained OneDrive run instead, train
stage 1 on InternVL3-2B (``--set model.internvl=checkpoints/InternVL3-2B-hf
train.output_dir=runs/onedrive_2b_stage1_perception`` on the nuScenes stage-1 config) and add
``--set model.init_from=runs/onedrive_2b_stage1_perception``; tensors whose shape the NAVSIM task
changes (the 8 x 3 waypoint output) are then re-initialised and listed at start. Data: OpenScene /
NAVSIM logs under ``data/navsim`` converted once per split with ``python tools/create_data.py navsim
--data-root data/navsim --logs trainval --scene-filter
<devkit>/navsim/planning/script/config/common/train_test_split/scene_filter/navtrain.yaml --out
data/navsim/infos`` and the same with ``--logs test`` and ``navtest.yaml`` (PDMS needs the maps in this
repository's PDM map format, see ``onedrive/data/navsim/README.md``).

    torchrun --nproc_per_node 8 tools/train.py configs/navsim/onedrive_2b_navsim.py
"""

from onedrive.training.config import (
    NAVSIM_CAMERAS,
    WHOLE_RUN_COSINE,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    ParamGroupsConfig,
    RecipeConfig,
    TrainConfig,
)


def build() -> ExperimentConfig:
    return ExperimentConfig(
        name="onedrive_2b_navsim",
        model=ModelConfig(
            internvl="checkpoints/ReCogDrive-InternVL3-2B",  # InternVL's own layout (checkpoints/README.md)
            task={
                "plan_steps": 8,
                "plan_dims": 3,
                "text_weight": 0.0,  # NAVSIM infos hold no QA: the text target would be the driving command
                "num_det_queries": 600,
                "num_lane_queries": 600,
                "task_layers": [0, 1, 2, 3, 4, 5],  # the official use_layers
                # Planning: 1 ego token + 3 commands x 6 modes x 8 steps (x, y, heading); anchors from the
                # navtrain info file.
                "num_plan_modes": 6,
                "plan_cls_weight": 0.5,
                "plan_weight": 1.0,
                "plan_status_weight": 1.0,
            },
        ),
        data=DataConfig(
            dataset="navsim",
            root="data/navsim",
            version="navsim-v1",
            train_split="navtrain",
            eval_split="navtest",
            cameras=NAVSIM_CAMERAS,
            camera_tiles=(1, 2),
            workers=4,
        ),
        train=TrainConfig(
            output_dir="runs/onedrive_2b_navsim",
            epochs=20,
            learning_rate=1e-4,
            weight_decay=1e-4,
            lr_scheduler=WHOLE_RUN_COSINE,
            warmup_steps=500,
            warmup_start_rate=1 / 3,
            min_lr_rate=1e-3,
            max_grad_norm=35.0,
            param_groups=ParamGroupsConfig(llm=4.0, heads=4.0, task_modules=2.0, vit_layer_decay=0.9),
            per_device_batch_size=1,
            global_batch_size=128,  # the paper's; 1 per GPU x 8 GPUs x 16 accumulation steps
            precision="bf16",
            gradient_checkpointing=True,
        ),
        recipe=RecipeConfig(stage="planning", lora_rank=16, lora_alpha=16, full_ft_attn=True, lora_ffn=False),
    )
