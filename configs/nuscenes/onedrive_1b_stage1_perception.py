"""Stage 1 — perception-language pretraining on nuScenes (paper settings, InternVL3-1B).

Frozen ViT; LoRA (rank 16) on the LLM plus full fine-tuning of the task layers' attention
(the official release's ``full_ft_attn``); new perception queries, query self-attention,
det / lane FFNs and heads. Losses: detection + lanes + text. 20 epochs, global batch 64.
Task modules in the first 6 LLM layers; LoRA (r 16, alpha 16) on q / k / v / o of the other
layers. The official optimiser (``onedrive.training.optimizer``): AdamW lr 1e-4, weight decay
1e-4, LLM and heads at 4 x lr, task modules at 2 x, ViT layer-wise decay 0.9, projector at
0.9^25; cosine over the run to 1e-3 x lr with a 500-step linear warm-up from lr / 3; gradient
clipping 35. Temporal memory as the official ``use_stream`` (``model/streaming.py``), trained on
streams (``data.streaming``: every batch row plays sub-sequences of its scenes in time order, as
StreamPETR); stages 2 and 3 inherit these task and data settings.

    torchrun --nproc_per_node 8 tools/train.py configs/nuscenes/onedrive_1b_stage1_perception.py
"""

from onedrive.training.config import (
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
        name="onedrive_1b_stage1_perception",
        model=ModelConfig(
            internvl="OpenGVLab/InternVL3-1B-hf",
            task={
                "num_det_queries": 600,
                "num_lane_queries": 600,
                "lane_points": 11,
                "max_boxes": 300,
                "max_lanes": 100,
                "task_layers": [0, 1, 2, 3, 4, 5],  # the official use_layers
                # StreamPETR-style temporal memory (the official use_stream): per det / lane group a 600-entry
                # memory, each frame's top 300 kept, 300 propagated as queries; reset after a 2 s gap.
                "memory_size": 600,
                "memory_topk": 300,
                "memory_propagated": 300,
                "memory_max_gap_seconds": 2.0,
                # Planning: 1 ego token + 3 commands x 6 modes x 6 steps; anchors from the training split's info
                # file; loss weights 0.5 (mode score) / 1.0 (L1) / 1.0 (ego status).
                "num_plan_modes": 6,
                "plan_cls_weight": 0.5,
                "plan_weight": 1.0,
                "plan_status_weight": 1.0,
            },
            attn_implementation="sdpa",
            dtype="float32",
        ),
        data=DataConfig(
            dataset="nuscenes",
            root="data/nuscenes",
            version="v1.0-trainval",
            train_split="train",
            eval_split="val",
            camera_tiles=(1, 2),  # 896 x 448 per camera: two 448 tiles + thumbnail
            use_thumbnail=True,
            augment=True,
            workers=4,
            streaming=True,  # each batch row plays its scenes in time order, for the temporal memory
            seq_split_num=2,  # the official sub-sequences per scene, after a one-epoch warm-up of 11
            warmup_split_num=11,
            warmup_epochs=1,
        ),
        train=TrainConfig(
            output_dir="runs/onedrive_1b_stage1_perception",
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
            logging_steps=10,
            save_steps=1000,
            seed=0,
        ),
        recipe=RecipeConfig(
            stage="perception",
            lora_rank=16,
            lora_alpha=16,
            lora_dropout=0.05,
            full_ft_attn=True,
            lora_ffn=False,
        ),
    )
