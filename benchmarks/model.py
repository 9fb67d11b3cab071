"""Model benchmarks: OneDrive's prefill and generation against transformers' InternVL, same run, same weights.

Every number is reported beside a reference measured in the same process run:
* ``predict`` latency and peak memory vs ``InternVLForConditionalGeneration``'s forward over
  the same number of tokens (the query slots become text tokens for InternVL). ``predict``
  runs the decoder to the last task layer only (the paper's shallow-layer inference), so at
  the paper's layout (task layers 0-5 of 24) its ratio is well under 1; the ViT, which both
  run in full, sets the floor;
* ``generate``'s prefill (``generate(max_new_tokens=1)``: every layer, the KV cache, the
  structured outputs and the first token) vs transformers' ``generate(max_new_tokens=1)``;
* greedy text tokens/s of ``OneDriveForDriving.generate`` vs transformers' ``generate`` (tiny);
* achieved FLOP/s of ``predict`` (counted by ``torch.utils.flop_counter``) over the
  ``torch.matmul`` peak measured on this machine, fp32 and bf16 (tiny);
* parameter counts of the paper configuration (``configs/nuscenes`` stage 1's task settings
  on InternVL3-1B's shapes) and of InternVL3-1B, built on the meta device (no weights).
Checkpoints are written once per shape; each measurement then runs in a fresh spawned
process that loads only the model it measures, so its peak RSS (weights + activations +
runtime) is its own and comparable between the two models.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

BENCHMARK_TEXT_TOKENS = 32  # prompt tokens after the image block

# InternVL3-1B: Qwen2.5-0.5B-shaped LLM + InternViT-300M (random weights in the benchmark).
INTERNVL3_1B_TEXT = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151674,
)
INTERNVL3_1B_VISION = dict(
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=24,
    num_attention_heads=16,
    image_size=448,
    patch_size=14,
)
# The paper's queries (600 detection, 600 lane, 109 planning tokens: 1 ego + 3 commands x 36) on the task
# layers 0-5 with 64 depth bins; cameras of 2 tiles + a thumbnail (768 image tokens each).
PAPER_TOKEN_MIX = dict(
    num_det_queries=600,
    num_lane_queries=600,
    num_plan_modes=36,
    max_boxes=300,
    max_lanes=100,
    lane_points=11,
    task_layers=[0, 1, 2, 3, 4, 5],
    camera_tiles=[1, 2],
    use_thumbnail=True,
    depth_bins=64,
)
SHAPES = {
    "tiny": dict(text={}, vision={}, task=dict(num_det_queries=32, num_lane_queries=16, depth_bins=8), cameras=6),
    # The paper's token mix scaled to this machine: 2 of the 6 cameras.
    "internvl3_1b_shapes": dict(text=INTERNVL3_1B_TEXT, vision=INTERNVL3_1B_VISION, task=PAPER_TOKEN_MIX, cameras=2),
    # The same with one camera, for machines where two take too long.
    "internvl3_1b_shapes_one_camera": dict(
        text=INTERNVL3_1B_TEXT, vision=INTERNVL3_1B_VISION, task=PAPER_TOKEN_MIX, cameras=1
    ),
}


def parameter_counts() -> dict:
    """Parameters of the paper configuration (stage 1's task settings, InternVL3-1B shapes) and of InternVL3-1B."""
    from transformers import InternVLForConditionalGeneration

    from onedrive import OneDriveConfig, OneDriveForDriving
    from onedrive.model.configuration_onedrive import OneDriveTaskConfig
    from onedrive.tiny import tiny_internvl_config
    from onedrive.training.config import load_config

    stage1 = load_config(Path(__file__).resolve().parents[1] / "configs/nuscenes/onedrive_1b_stage1_perception.py")
    text = dict(INTERNVL3_1B_TEXT)
    internvl_config = tiny_internvl_config(
        vocab_size=text.pop("vocab_size"), vision_overrides=INTERNVL3_1B_VISION, **text
    )
    internvl_config.tie_word_embeddings = False  # the published 0.9 B (938 M) counts InternVL3-1B's own LM head
    settings = internvl_config.to_dict()
    for key in ("model_type", "architectures", "transformers_version"):
        settings.pop(key, None)
    task = dict(stage1.model.task)
    if task.get("plan_queries") == "official":  # anchors are values read from the infos at training: any count alike
        defaults = OneDriveTaskConfig()
        shape = [task.get(key, getattr(defaults, key)) for key in ("num_commands", "num_plan_modes", "plan_steps")]
        task["plan_mode_anchors"] = torch.zeros(*shape, task.get("plan_dims", defaults.plan_dims)).tolist()
    config = OneDriveConfig(**settings, task_config=task)
    with torch.device("meta"):
        onedrive = sum(parameter.numel() for parameter in OneDriveForDriving(config).parameters())
        internvl = sum(
            parameter.numel() for parameter in InternVLForConditionalGeneration(internvl_config).parameters()
        )
    return {
        "onedrive_paper_parameters": onedrive,
        "internvl3_1b_parameters": internvl,
        "parameter_ratio": onedrive / internvl,
    }


@dataclass
class _Setup:
    model: torch.nn.Module
    batch: object
    vlm_ids: torch.Tensor
    vlm_pixels: torch.Tensor


def write_checkpoints(shape_name: str, folder: str) -> None:
    """Random InternVL weights of ``shape_name`` in ``folder/internvl`` and OneDrive built on them in ``folder/onedrive``."""
    from onedrive import OneDriveForDriving
    from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

    shape = SHAPES[shape_name]
    text = dict(shape["text"])
    config = tiny_internvl_config(vocab_size=text.pop("vocab_size", 512), vision_overrides=shape["vision"], **text)
    save_tiny_internvl(f"{folder}/internvl", config)
    task = dict(shape["task"], num_cameras=shape["cameras"])
    OneDriveForDriving.from_internvl(f"{folder}/internvl", task_config=task).save_pretrained(f"{folder}/onedrive")


def _build(folder: str, which: str, dtype: torch.dtype) -> _Setup:
    """Load only the model measured (``onedrive`` or ``internvl``) and the inputs both see."""
    from transformers import InternVLForConditionalGeneration

    from onedrive import CameraGeometry, DriveBatch, OneDriveConfig, OneDriveForDriving

    od_config = OneDriveConfig.from_pretrained(f"{folder}/onedrive")
    if which == "onedrive":
        model = OneDriveForDriving.from_pretrained(f"{folder}/onedrive", dtype=dtype).eval()
    else:
        model = InternVLForConditionalGeneration.from_pretrained(f"{folder}/internvl", dtype=dtype).eval()
    tile = od_config.vision_config.image_size[0]
    rows, cols = od_config.task_config.camera_tiles
    cams = od_config.task_config.num_cameras
    tiles = cams * od_config.task_config.tiles_per_camera
    text = BENCHMARK_TEXT_TOKENS
    image_tokens = cams * od_config.image_tokens_per_camera
    ids = torch.randint(10, 400, (1, 3 + image_tokens + text))
    ids[0, 3 : 3 + image_tokens] = od_config.image_token_id
    pixels = torch.randn(tiles, 3, tile, tile, dtype=dtype)
    intrinsics = torch.tensor([[tile * 0.8, 0, cols * tile / 2], [0, tile * 0.8, rows * tile / 2], [0, 0, 1.0]])
    camera = CameraGeometry(
        intrinsics.expand(1, cams, 3, 3).clone(), torch.eye(4).expand(1, cams, 4, 4).clone(), (rows * tile, cols * tile)
    )
    batch = DriveBatch(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        pixel_values=pixels,
        camera=camera,
        ego_status=torch.zeros(1, 6),
        command=torch.tensor([2]),
    )
    # The plain VLM sees the same number of tokens: the query slots become extra text tokens.
    queries = (
        od_config.task_config.num_det_queries
        + od_config.task_config.num_lane_queries
        + od_config.task_config.num_plan_tokens
    )
    vlm_ids = torch.cat([ids, torch.randint(10, 400, (1, queries))], dim=1)
    return _Setup(model, batch, vlm_ids, pixels)


def _timed(function, repeats: int) -> float:
    function()  # warm-up: the first pass also pays for reading the weights into memory
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def matmul_peak_flops(dtype: torch.dtype, size: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    return 2 * size**3 / _timed(lambda: a @ b, repeats)


def _measure(folder: str, dtype_name: str, what: str, repeats: int) -> dict:
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    setup = _build(folder, "internvl" if what.startswith("internvl") else "onedrive", dtype)
    with torch.no_grad():
        if what == "onedrive_predict":
            seconds = _timed(lambda: setup.model.predict(setup.batch), repeats)
        elif what == "internvl_forward":
            seconds = _timed(lambda: setup.model(input_ids=setup.vlm_ids, pixel_values=setup.vlm_pixels), repeats)
        elif what == "onedrive_prefill":
            seconds = _timed(lambda: setup.model.generate(setup.batch, max_new_tokens=1, eos_token_id=-1), repeats)
        elif what == "internvl_prefill":
            seconds = _timed(
                lambda: setup.model.generate(
                    input_ids=setup.vlm_ids,
                    pixel_values=setup.vlm_pixels,
                    max_new_tokens=1,
                    min_new_tokens=1,
                    do_sample=False,
                    pad_token_id=0,
                ),
                repeats,
            )
        elif what == "flops":
            from torch.utils.flop_counter import FlopCounterMode

            counter = FlopCounterMode(display=False)
            with counter:
                setup.model.predict(setup.batch)
            seconds = _timed(lambda: setup.model.predict(setup.batch), repeats)
            return {"flops": counter.get_total_flops(), "seconds": seconds, "peak": matmul_peak_flops(dtype)}
        elif what in ("onedrive_generate", "internvl_generate"):
            new_tokens = 16
            if what == "onedrive_generate":
                run = lambda: setup.model.generate(setup.batch, max_new_tokens=new_tokens, eos_token_id=-1)  # noqa: E731
            else:
                run = lambda: setup.model.generate(  # noqa: E731
                    input_ids=setup.batch.input_ids,
                    pixel_values=setup.vlm_pixels,
                    max_new_tokens=new_tokens,
                    min_new_tokens=new_tokens,
                    do_sample=False,
                    pad_token_id=0,
                )
            seconds = _timed(run, repeats)
            return {"tokens_per_s": new_tokens / seconds}
    # Peak RSS of a process that loaded this one model and ran it (Linux reports KiB).
    return {"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _in_fresh_process(*args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measure, *args).result()


def benchmark_model(shapes=("tiny", "internvl3_1b_shapes"), repeats: int = 3) -> dict:
    """→ {shape: {...}} with latencies, ratios, generation speed and FLOP utilisation, and the parameter counts."""
    results = {"parameters": parameter_counts()}
    for shape in shapes:
        with tempfile.TemporaryDirectory() as folder:
            results[shape] = _benchmark_shape(shape, folder, repeats)
    return results


def _benchmark_shape(shape: str, folder: str, repeats: int) -> dict:
    """One shape: checkpoints written once, then every measurement in its own spawned process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(write_checkpoints, shape, folder).result()
    tiny = shape == "tiny"
    shape_repeats = repeats if tiny else 1
    onedrive, internvl, prefill, internvl_prefill = (
        _in_fresh_process(folder, "float32", what, shape_repeats)
        for what in ("onedrive_predict", "internvl_forward", "onedrive_prefill", "internvl_prefill")
    )
    entry = {
        "tokens": _token_counts(folder),
        "predict_ms": 1000 * onedrive["seconds"],
        "internvl_forward_ms": 1000 * internvl["seconds"],
        "latency_ratio": onedrive["seconds"] / internvl["seconds"],
        "predict_peak_rss_mib": onedrive["peak_rss_mib"],
        "internvl_peak_rss_mib": internvl["peak_rss_mib"],
        "peak_rss_ratio": onedrive["peak_rss_mib"] / internvl["peak_rss_mib"],
        "generate_prefill_ms": 1000 * prefill["seconds"],
        "internvl_prefill_ms": 1000 * internvl_prefill["seconds"],
        "prefill_ratio": prefill["seconds"] / internvl_prefill["seconds"],
    }
    if tiny:  # minutes each at the 1B shapes on a CPU
        ours = _in_fresh_process(folder, "float32", "onedrive_generate", repeats)["tokens_per_s"]
        theirs = _in_fresh_process(folder, "float32", "internvl_generate", repeats)["tokens_per_s"]
        entry.update(generate_tokens_per_s=ours, internvl_generate_tokens_per_s=theirs, generate_ratio=ours / theirs)
        for dtype in ("float32", "bfloat16"):
            flops = _in_fresh_process(folder, dtype, "flops", shape_repeats)
            entry[f"{dtype}_achieved_gflops"] = flops["flops"] / flops["seconds"] / 1e9
            entry[f"{dtype}_matmul_peak_gflops"] = flops["peak"] / 1e9
            entry[f"{dtype}_utilisation"] = flops["flops"] / flops["seconds"] / flops["peak"]
    return entry


def _token_counts(folder: str) -> dict:
    """Image, query and text tokens of the benchmark's sequence."""
    from onedrive import OneDriveConfig

    config = OneDriveConfig.from_pretrained(f"{folder}/onedrive")
    task = config.task_config
    return {
        "image": task.num_cameras * config.image_tokens_per_camera,
        "det": task.num_det_queries,
        "lane": task.num_lane_queries,
        "plan": task.num_plan_tokens,
        "text": 3 + BENCHMARK_TEXT_TOKENS,
        "task_layers": config.task_layer_indices,
        "llm_layers": config.text_config.num_hidden_layers,
    }
