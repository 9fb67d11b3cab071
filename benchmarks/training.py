"""Training speed and memory: samples/s and peak RSS of a few ``OneDriveTrainer`` steps, plain or DeepSpeed ZeRO-2.

Shapes (``shapes``):
* ``"tiny"``: the test model (``tiny_run``), 2 cameras of 56 × 112 px.
* ``"demo"``: the demo config's model (``configs/demo``), 6 cameras of 56 × 112 px.
* ``"internvl3_1b_shapes"`` (the name ``benchmarks.model`` uses): InternVL3-1B
  shapes with random weights — LLM hidden 896, 24 layers, 14 heads, 2 KV heads, FFN 4864,
  vocab 151674; ViT InternViT-300M (hidden 1024, 24 layers, 16 heads,
  448-px tiles, patch 14). To fit a 2-core CPU machine: 1 camera of 1 × 1 tile without
  thumbnail (256 image tokens), 100 det / 50 lane queries, task modules on 6 of the 24
  layers (``task_layers``), batch 1; all reported in the result.

The stage-1 recipe (LoRA rank 16 + perception modules) runs for ``warmup_steps`` untimed
steps, then ``steps`` timed ones, on random info files with JPEG images written to a
temporary folder, in this process (DeepSpeed: one process, gloo). Peak memory is the
process's maximum RSS (``resource.getrusage``), which includes model, optimizer state
and activations — a lifetime maximum, so call each configuration in a fresh process.

    python -c "from benchmarks.training import benchmark_training as b; print(b('tiny', deepspeed=False))"
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import torch
from tiny_run import tiny_experiment, write_random_drive_data
from transformers import InternVLConfig, TrainerCallback

from benchmarks.model import with_plan_anchors
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.modeling_onedrive import OneDriveForDriving
from onedrive.training.build import IMAGE_TOKEN_ID_TINY, new_model_task
from onedrive.training.config import NUSCENES_CAMERAS, TinyInternVLConfig, load_config
from onedrive.training.run import prepare_experiment

REPO = Path(__file__).resolve().parents[1]
ZERO2 = REPO / "configs" / "deepspeed" / "zero2.json"

TRAINING_SHAPES = ("tiny", "internvl3_1b_shapes")  # what ``tools/benchmark.py --sections training`` runs

ONE_B_TEXT = {
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151674,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
}
ONE_B_VISION = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "image_size": 448,
    "patch_size": 14,
    "layer_scale_init_value": 0.1,
    "use_qk_norm": False,
    "use_mean_pooling": True,
}
ONE_B_TASK = with_plan_anchors(
    {
        "num_det_queries": 100,
        "num_lane_queries": 50,
        "max_boxes": 100,
        "max_lanes": 50,
        "task_layers": [0, 4, 8, 12, 16, 23],
    }
)


class _StepTimer(TrainerCallback):
    """Wall time of the optimizer steps after the first ``skip``."""

    def __init__(self, skip: int):
        self.skip, self.start, self.end = skip, None, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.skip:
            self.start = time.perf_counter()
        self.end = time.perf_counter()


def _experiment(shapes: str, folder: Path):
    data = folder / "data"
    if shapes == "tiny":
        write_random_drive_data(data, num_samples=8)
        return tiny_experiment(data, folder / "out"), None
    if shapes == "demo":
        demo = load_config(REPO / "configs" / "demo" / "demo_stage1_perception.py")
        lane_points = demo.model.task.get("lane_points", 11)
        write_random_drive_data(data, num_samples=16, cameras=NUSCENES_CAMERAS, lane_points=lane_points)
        config = tiny_experiment(data, folder / "out")
        config.model.tiny = demo.model.tiny
        # The random data's few futures do not make the demo's 6 k-means modes: placeholder anchors stand in.
        config.model.task = with_plan_anchors(demo.model.task)
        config.data.cameras = NUSCENES_CAMERAS
        config.train.per_device_batch_size = demo.train.per_device_batch_size
        config.recipe = demo.recipe
        return config, None
    if shapes == "internvl3_1b_shapes":
        write_random_drive_data(
            data,
            num_samples=4,
            cameras=("CAM_FRONT",),
            image_hw=(448, 448),
            lane_points=11,
        )
        config = tiny_experiment(data, folder / "out")
        config.model.tiny = TinyInternVLConfig(vocab_size=512)  # only sizes the built-in tokenizer
        config.model.task = dict(ONE_B_TASK)
        config.data.cameras, config.data.camera_tiles, config.data.use_thumbnail = (
            ("CAM_FRONT",),
            (1, 1),
            False,
        )
        config.train.per_device_batch_size = 1
        config.recipe.lora_rank, config.recipe.lora_alpha = 16, 16
        internvl = InternVLConfig(
            vision_config=ONE_B_VISION,
            text_config=ONE_B_TEXT,
            image_token_id=IMAGE_TOKEN_ID_TINY,
        )
        settings = internvl.to_dict()
        for key in ("model_type", "architectures", "transformers_version"):
            settings.pop(key, None)
        return config, settings
    raise ValueError(f"shapes must be 'tiny', 'demo' or 'internvl3_1b_shapes', got {shapes!r}")


def benchmark_training(shapes: str = "tiny", deepspeed: bool = False, steps: int = 3, warmup_steps: int = 1) -> dict:
    """Samples/s and peak RSS of ``steps`` timed training steps (stage-1 recipe) with ``shapes`` weights."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, random_settings = _experiment(shapes, folder)
        config.train.max_steps = warmup_steps + steps
        config.train.save_steps = 10**9
        config.train.logging_steps = 10**9
        config.train.deepspeed = str(ZERO2) if deepspeed else None
        if deepspeed:
            for key, value in {
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": "29533",
                "RANK": "0",
                "LOCAL_RANK": "0",
                "WORLD_SIZE": "1",
            }.items():
                os.environ.setdefault(key, value)
        factory = None
        if random_settings is not None:
            config.model.internvl = str(folder / "unused")  # not read: the model is built from random_settings

            def factory(experiment):
                torch.manual_seed(0)
                return OneDriveForDriving(OneDriveConfig(**random_settings, task_config=new_model_task(experiment))), []

        prepared = prepare_experiment(config, model_factory=factory)
        timer = _StepTimer(warmup_steps)
        prepared.trainer.add_callback(timer)
        prepared.trainer.train()
        seconds = timer.end - timer.start
        samples = steps * config.train.per_device_batch_size
        model = prepared.applied.model
        return {
            "shapes": shapes,
            "deepspeed_zero2": deepspeed,
            "recipe": f"stage {config.recipe.stage}, LoRA rank {config.recipe.lora_rank}",
            "parameters": sum(p.numel() for p in model.parameters()),
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "cameras": len(config.data.cameras),
            "camera_tiles": list(config.data.camera_tiles),
            "use_thumbnail": config.data.use_thumbnail,
            "task_layers": config.model.task.get("task_layers", "all"),
            "num_det_queries": config.model.task.get("num_det_queries"),
            "num_lane_queries": config.model.task.get("num_lane_queries"),
            "batch_size": config.train.per_device_batch_size,
            "timed_steps": steps,
            "seconds_per_step": seconds / steps,
            "samples_per_s": samples / seconds,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "torch_threads": torch.get_num_threads(),
        }
