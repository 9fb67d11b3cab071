"""Stage 1 — perception-language pretraining on nuScenes (paper settings, InternVL3-1B).

Frozen ViT; LoRA (rank 16) on the LLM plus full fine-tuning of the task layers' attention
(the official release's ``full_ft_attn``); new perception queries, query self-attention,
det / lane FFNs and heads. Losses: detection + lanes + text. 20 epochs, AdamW lr 1e-4,
weight decay 1e-4, cosine with 500 warm-up steps, gradient clipping 35, global batch 64.

    torchrun --nproc_per_node 8 tools/train.py configs/nuscenes/onedrive_1b_stage1_perception.py
"""

from onedrive.training.config import (
    DataConfig,
    ExperimentConfig,
    ModelConfig,
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
        ),
        train=TrainConfig(
            output_dir="runs/onedrive_1b_stage1_perception",
            epochs=20,
            learning_rate=1e-4,
            weight_decay=1e-4,
            warmup_steps=500,
            min_lr_rate=1e-3,
            max_grad_norm=35.0,
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
        ),
    )
