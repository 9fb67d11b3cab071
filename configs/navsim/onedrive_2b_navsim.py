"""NAVSIM — planning-only training of InternVL3-2B, initialised from a driving checkpoint.

8 cameras, trajectories of 8 poses (x, y, heading) over 4 s at 2 Hz; only the planning
parts (+ LoRA on the LLM) train, with the planning loss alone (NAVSIM has no QA, so no text
loss: its text target would be the driving command), under the official optimiser and schedule
of the nuScenes configs (``configs/nuscenes/onedrive_1b_stage1_perception.py``). ``model.init_from``
is a OneDrive model folder of a driving-pretrained model (e.g. stage 1 of this recipe on
InternVL3-2B); tensors whose shape the NAVSIM task changes (the 8 x 3 waypoint output)
are re-initialised and listed at start. Data: OpenScene / NAVSIM logs under ``data/navsim``
converted once per split with ``python tools/create_data.py navsim --data-root data/navsim --logs
trainval --scene-filter <devkit>/navsim/planning/script/config/common/train_test_split/scene_filter/navtrain.yaml
--out data/navsim/infos`` and the same with ``--logs test`` and ``navtest.yaml`` (PDMS needs the maps in this
repository's PDM map format, see ``onedrive/data/navsim/README.md``).

    torchrun --nproc_per_node 8 tools/train.py configs/navsim/onedrive_2b_navsim.py \\
        --set model.init_from=runs/onedrive_2b_stage1_perception
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
            internvl="OpenGVLab/InternVL3-2B-hf",
            init_from="runs/onedrive_2b_stage1_perception",
            task={
                "plan_steps": 8,
                "plan_dims": 3,
                "text_weight": 0.0,  # NAVSIM infos hold no QA: the text target would be the driving command
                "num_det_queries": 600,
                "num_lane_queries": 600,
                "task_layers": [0, 1, 2, 3, 4, 5],  # the official use_layers
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
            global_batch_size=64,
            precision="bf16",
            gradient_checkpointing=True,
        ),
        recipe=RecipeConfig(stage="planning", lora_rank=16, lora_alpha=16, full_ft_attn=True, lora_ffn=False),
    )
