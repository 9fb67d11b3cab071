"""Model benchmarks: OneDrive's prefill and generation against transformers' InternVL, same run, same weights.

Every number is reported beside a reference measured in the same process run:
* ``predict`` latency and peak memory vs ``InternVLForConditionalGeneration``'s forward over
  the same number of tokens (the query slots, propagated memory queries included, become text
  tokens for InternVL). ``predict`` runs the decoder to the last task layer only (the paper's
  shallow-layer inference), so at the paper's layout (task layers 0-5 of 24) its ratio is well
  under 1; the ViT, which both run in full, sets the floor. Forward hooks split both times into
  the vision part (ViT + projector) and the rest, and time InternVL's own decoder layers up to the
  last task layer: ``latency_floor_ratio`` is (InternVL's vision part + those layers) over its
  forward, what any design that stops there would pay at least;
* with the paper configuration's temporal memory, ``predict`` is timed on a second frame of a
  stream (the first call fills the memory, the timed call carries it); ``without_memory`` repeats
  the comparison with the memory switched off (same weights, ``memory_size`` 0);
* ``generate``'s prefill (``generate(max_new_tokens=1)``: every layer, the KV cache, the
  structured outputs and the first token; second frame) vs transformers' ``generate(max_new_tokens=1)``;
* greedy text tokens/s of ``OneDriveForDriving.generate`` vs transformers' ``generate`` (tiny);
* achieved FLOP/s of ``predict`` (counted by ``torch.utils.flop_counter``) over the
  ``torch.matmul`` peak measured on this machine, fp32 and bf16 (tiny);
* parameter counts of the paper configuration (``configs/nuscenes`` stage 1's task settings
  on InternVL3-1B's shapes) and of InternVL3-1B, built on the meta device (no weights).
The InternVL3-1B shapes run the paper configuration's task settings (``paper_task_settings``:
stage 1's queries, task layers, planning queries, memory and camera tiles) on fewer cameras.
Checkpoints are written once per shape; each measurement then runs in a fresh spawned
process that loads only the model it measures, so its peak RSS (weights + activations +
runtime) is its own and comparable between the two models. A latency is the fastest of its
repeats after a warm-up: other processes on a shared machine only ever add time.
"""

from __future__ import annotations

import math
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
STAGE1_CONFIG = Path(__file__).resolve().parents[1] / "configs/nuscenes/onedrive_1b_stage1_perception.py"
NO_MEMORY = dict(memory_size=0, memory_topk=0, memory_propagated=0)
TINY_TASK = dict(
    num_det_queries=32,
    num_lane_queries=16,
    depth_bins=8,
    memory_size=16,
    memory_topk=8,
    memory_propagated=8,
)
PAPER = "paper"  # a shape's task settings: those of ``paper_task_settings``
SHAPES = {
    "tiny": dict(text={}, vision={}, task=TINY_TASK, cameras=6),
    # The paper's configuration scaled to this machine: 2 of the 6 cameras.
    "internvl3_1b_shapes": dict(text=INTERNVL3_1B_TEXT, vision=INTERNVL3_1B_VISION, task=PAPER, cameras=2),
    # The same with one camera, for machines where two take too long.
    "internvl3_1b_shapes_one_camera": dict(text=INTERNVL3_1B_TEXT, vision=INTERNVL3_1B_VISION, task=PAPER, cameras=1),
}


def with_plan_anchors(task: dict) -> dict:
    """``task`` with zero ``plan_mode_anchors`` of the right shape when it gives none: the anchors are values read
    from the infos at training, any values cost alike."""
    from onedrive.model.configuration_onedrive import OneDriveTaskConfig

    if task.get("plan_mode_anchors") is not None:
        return dict(task)
    defaults = OneDriveTaskConfig()
    shape = [task.get(key, getattr(defaults, key)) for key in ("num_commands", "num_plan_modes", "plan_steps")]
    return dict(task, plan_mode_anchors=torch.zeros(*shape, task.get("plan_dims", defaults.plan_dims)).tolist())


def paper_task_settings() -> dict:
    """The paper configuration's task settings: stage 1's (queries, task layers, official planning queries,
    temporal memory) with its camera tiles and thumbnail (``STAGE1_CONFIG``)."""
    from onedrive.training.config import load_config

    stage1 = load_config(STAGE1_CONFIG)
    task = dict(stage1.model.task, camera_tiles=list(stage1.data.camera_tiles), use_thumbnail=stage1.data.use_thumbnail)
    return with_plan_anchors(task)


def parameter_counts() -> dict:
    """Parameters of the paper configuration (``paper_task_settings``, InternVL3-1B shapes) and of InternVL3-1B."""
    from transformers import InternVLForConditionalGeneration

    from onedrive import OneDriveConfig, OneDriveForDriving
    from onedrive.tiny import tiny_internvl_config

    text = dict(INTERNVL3_1B_TEXT)
    internvl_config = tiny_internvl_config(
        vocab_size=text.pop("vocab_size"), vision_overrides=INTERNVL3_1B_VISION, **text
    )
    internvl_config.tie_word_embeddings = False  # the published 0.9 B (938 M) counts InternVL3-1B's own LM head
    settings = internvl_config.to_dict()
    for key in ("model_type", "architectures", "transformers_version"):
        settings.pop(key, None)
    config = OneDriveConfig(**settings, task_config=paper_task_settings())
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
    """The measured model; ``batch`` the frame timed, ``first_frame`` the one before it in the same stream (None
    without a temporal memory); ``vlm_ids`` InternVL's tokens, as many as OneDrive's expanded sequence."""

    model: torch.nn.Module
    batch: object
    first_frame: object | None
    vlm_ids: torch.Tensor
    vlm_pixels: torch.Tensor


def shape_task_settings(shape_name: str) -> dict:
    shape = SHAPES[shape_name]
    task = paper_task_settings() if shape["task"] == PAPER else with_plan_anchors(shape["task"])
    return dict(task, num_cameras=shape["cameras"])


def write_checkpoints(shape_name: str, folder: str) -> None:
    """Random InternVL weights of ``shape_name`` in ``folder/internvl`` and OneDrive built on them in ``folder/onedrive``."""
    from onedrive import OneDriveForDriving
    from onedrive.tiny import save_tiny_internvl, tiny_internvl_config

    shape = SHAPES[shape_name]
    text = dict(shape["text"])
    config = tiny_internvl_config(vocab_size=text.pop("vocab_size", 512), vision_overrides=shape["vision"], **text)
    save_tiny_internvl(f"{folder}/internvl", config)
    task = shape_task_settings(shape_name)
    OneDriveForDriving.from_internvl(f"{folder}/internvl", task_config=task).save_pretrained(f"{folder}/onedrive")


def onedrive_config(folder: str, memory: bool):
    """The OneDrive checkpoint's config; ``memory`` False switches its temporal memory off (same weights)."""
    from onedrive import OneDriveConfig

    config = OneDriveConfig.from_pretrained(f"{folder}/onedrive")
    if not memory:
        for key, value in NO_MEMORY.items():
            setattr(config.task_config, key, value)
    return config


def _build(folder: str, which: str, dtype: torch.dtype, memory: bool = True) -> _Setup:
    """Load only the model measured (``onedrive`` or ``internvl``) and the inputs both see."""
    from transformers import InternVLForConditionalGeneration

    from onedrive import CameraGeometry, DriveBatch, OneDriveForDriving
    from onedrive.model.query_groups import query_groups
    from onedrive.schema import EGO_HISTORY_FIELDS, EGO_HISTORY_FRAMES

    od_config = onedrive_config(folder, memory)
    if which == "onedrive":
        model = OneDriveForDriving.from_pretrained(f"{folder}/onedrive", config=od_config, dtype=dtype).eval()
    else:
        model = InternVLForConditionalGeneration.from_pretrained(f"{folder}/internvl", dtype=dtype).eval()
    task = od_config.task_config
    tile = od_config.vision_config.image_size[0]
    rows, cols = task.camera_tiles
    cams = task.num_cameras
    tiles = cams * task.tiles_per_camera
    image_tokens = cams * od_config.image_tokens_per_camera
    ids = torch.randint(10, 400, (1, 3 + image_tokens + BENCHMARK_TEXT_TOKENS))
    ids[0, 3 : 3 + image_tokens] = od_config.image_token_id
    pixels = torch.randn(tiles, 3, tile, tile, dtype=dtype)
    intrinsics = torch.tensor([[tile * 0.8, 0, cols * tile / 2], [0, tile * 0.8, rows * tile / 2], [0, 0, 1.0]])
    camera = CameraGeometry(
        intrinsics.expand(1, cams, 3, 3).clone(), torch.eye(4).expand(1, cams, 4, 4).clone(), (rows * tile, cols * tile)
    )

    def frame(seconds: float) -> DriveBatch:
        """The frame at ``seconds`` of one stream, the ego driving 10 m/s along x."""
        pose = torch.eye(4, dtype=torch.float64)
        pose[0, 3] = 10.0 * seconds
        return DriveBatch(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            pixel_values=pixels,
            camera=camera,
            ego_status=torch.zeros(1, 6),
            command=torch.tensor([2]),
            ego_history=torch.zeros(1, EGO_HISTORY_FRAMES, len(EGO_HISTORY_FIELDS)),
            scene_tokens=["benchmark"],
            timestamps=torch.tensor([seconds], dtype=torch.float64),
            ego_to_global=pose[None],
        )

    # The plain VLM sees the same number of tokens: the query slots become extra text tokens.
    queries = sum(group.count for group in query_groups(task))
    vlm_ids = torch.cat([ids, torch.randint(10, 400, (1, queries))], dim=1)
    first_frame = frame(0.0) if task.memory_size > 0 else None
    return _Setup(model, frame(0.5), first_frame, vlm_ids, pixels)


class _ModuleTimes:
    """Wall time spent inside each of ``modules`` ({name: [module, ...]}), summed per name, via forward hooks."""

    def __init__(self, modules: dict[str, list[torch.nn.Module]]):
        self.seconds = dict.fromkeys(modules, 0.0)
        self.handles = []
        for name, parts in modules.items():
            for part in parts:
                self.handles.append(part.register_forward_pre_hook(self._start))
                self.handles.append(part.register_forward_hook(self._stopper(name)))

    @staticmethod
    def _start(module, args) -> None:
        module._benchmark_start = time.perf_counter()

    def _stopper(self, name: str):
        def stop(module, args, output) -> None:
            self.seconds[name] += time.perf_counter() - module._benchmark_start

        return stop

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.seconds, 0.0)


def _part_timers(model: torch.nn.Module, last_task_layer: int) -> _ModuleTimes:
    """Timers of the vision part (ViT + projector) and of the decoder layers up to ``last_task_layer``
    (``model.model`` is an ``InternVLModel`` or ``OneDriveModel``)."""
    inner = model.model
    return _ModuleTimes(
        {
            "vision": [inner.vision_tower, inner.multi_modal_projector],
            "first_layers": list(inner.language_model.layers[: last_task_layer + 1]),
        }
    )


def _timed(function, repeats: int, parts: _ModuleTimes | None = None) -> tuple[float, dict[str, float]]:
    """Seconds of the fastest of ``repeats`` calls after a warm-up (other processes on the machine only ever add
    time), and the ``parts``' seconds in that call."""
    function()  # warm-up: the first pass also pays for reading the weights into memory
    best, best_parts = math.inf, {}
    for _ in range(repeats):
        if parts is not None:
            parts.reset()
        start = time.perf_counter()
        function()
        seconds = time.perf_counter() - start
        if seconds < best:
            best, best_parts = seconds, dict(parts.seconds) if parts is not None else {}
    return best, best_parts


def matmul_peak_flops(dtype: torch.dtype, size: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    return 2 * size**3 / _timed(lambda: a @ b, repeats)[0]


def _onedrive_call(setup: _Setup, method: str, **kwargs):
    """``predict`` or ``generate`` on the timed frame, carrying the memory the first frame left (if any)."""
    memory = None
    if setup.first_frame is not None:
        memory = getattr(setup.model, method)(setup.first_frame, **kwargs)
        memory = memory.memory if method == "predict" else memory.prediction.memory
    return lambda: getattr(setup.model, method)(setup.batch, memory=memory, **kwargs)


def _measure(folder: str, dtype_name: str, what: str, repeats: int, memory: bool = True) -> dict:
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    setup = _build(folder, "internvl" if what.startswith("internvl") else "onedrive", dtype, memory)
    last_task_layer = onedrive_config(folder, memory).task_layer_indices[-1]
    parts = None
    with torch.no_grad():
        if what == "onedrive_predict":
            parts = _part_timers(setup.model, last_task_layer)
            seconds, part_seconds = _timed(_onedrive_call(setup, "predict"), repeats, parts)
        elif what == "internvl_forward":
            parts = _part_timers(setup.model, last_task_layer)
            run = lambda: setup.model(input_ids=setup.vlm_ids, pixel_values=setup.vlm_pixels)  # noqa: E731
            seconds, part_seconds = _timed(run, repeats, parts)
        elif what == "onedrive_prefill":
            seconds, _ = _timed(_onedrive_call(setup, "generate", max_new_tokens=1, eos_token_id=-1), repeats)
        elif what == "internvl_prefill":
            seconds, _ = _timed(
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

            run = _onedrive_call(setup, "predict")
            counter = FlopCounterMode(display=False)
            with counter:
                run()
            seconds, _ = _timed(run, repeats)
            return {"flops": counter.get_total_flops(), "seconds": seconds, "peak": matmul_peak_flops(dtype)}
        elif what in ("onedrive_generate", "internvl_generate"):
            new_tokens = 16
            if what == "onedrive_generate":
                run = _onedrive_call(setup, "generate", max_new_tokens=new_tokens, eos_token_id=-1)
            else:
                run = lambda: setup.model.generate(  # noqa: E731
                    input_ids=setup.batch.input_ids,
                    pixel_values=setup.vlm_pixels,
                    max_new_tokens=new_tokens,
                    min_new_tokens=new_tokens,
                    do_sample=False,
                    pad_token_id=0,
                )
            seconds, _ = _timed(run, repeats)
            return {"tokens_per_s": new_tokens / seconds}
    # Peak RSS of a process that loaded this one model and ran it (Linux reports KiB).
    result = {"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if parts is not None:
        result.update({f"{name}_seconds": seconds for name, seconds in part_seconds.items()})
    return result


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


def _predict_comparison(folder: str, repeats: int, memory: bool) -> dict:
    """``predict`` vs InternVL's forward over the same tokens: latency, peak memory and the parts' split."""
    onedrive = _in_fresh_process(folder, "float32", "onedrive_predict", repeats, memory)
    internvl = _in_fresh_process(folder, "float32", "internvl_forward", repeats, memory)
    predict_rest = onedrive["seconds"] - onedrive["vision_seconds"]
    internvl_rest = internvl["seconds"] - internvl["vision_seconds"]
    return {
        "tokens": _token_counts(folder, memory),
        "predict_ms": 1000 * onedrive["seconds"],
        "internvl_forward_ms": 1000 * internvl["seconds"],
        "latency_ratio": onedrive["seconds"] / internvl["seconds"],
        "predict_peak_rss_mib": onedrive["peak_rss_mib"],
        "internvl_peak_rss_mib": internvl["peak_rss_mib"],
        "peak_rss_ratio": onedrive["peak_rss_mib"] / internvl["peak_rss_mib"],
        # Where the time goes: the vision part (ViT + projector) both run in full, and the rest.
        "predict_vision_ms": 1000 * onedrive["vision_seconds"],
        "internvl_vision_ms": 1000 * internvl["vision_seconds"],
        "predict_vision_share": onedrive["vision_seconds"] / onedrive["seconds"],
        "predict_decoder_layers_ms": 1000 * onedrive["first_layers_seconds"],
        "predict_after_vision_ms": 1000 * predict_rest,
        "internvl_after_vision_ms": 1000 * internvl_rest,
        "after_vision_ratio": predict_rest / internvl_rest,
        # InternVL's own decoder layers up to the last task layer over the same tokens.
        "internvl_first_layers_ms": 1000 * internvl["first_layers_seconds"],
        "latency_floor_ratio": (internvl["vision_seconds"] + internvl["first_layers_seconds"]) / internvl["seconds"],
    }


def _benchmark_shape(shape: str, folder: str, repeats: int) -> dict:
    """One shape: checkpoints written once, then every measurement in its own spawned process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(write_checkpoints, shape, folder).result()
    tiny = shape == "tiny"
    shape_repeats = repeats if tiny else 2  # the fastest of 2: tens of seconds a pass at the 1B shapes
    entry = _predict_comparison(folder, shape_repeats, memory=True)
    prefill, internvl_prefill = (
        _in_fresh_process(folder, "float32", what, shape_repeats) for what in ("onedrive_prefill", "internvl_prefill")
    )
    entry.update(
        generate_prefill_ms=1000 * prefill["seconds"],
        internvl_prefill_ms=1000 * internvl_prefill["seconds"],
        prefill_ratio=prefill["seconds"] / internvl_prefill["seconds"],
    )
    if onedrive_config(folder, memory=True).task_config.memory_size > 0:
        entry["without_memory"] = _predict_comparison(folder, shape_repeats, memory=False)
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


def _token_counts(folder: str, memory: bool = True) -> dict:
    """Image, query and text tokens of the benchmark's sequence (``memory``: propagated queries and memory keys)."""
    config = onedrive_config(folder, memory)
    task = config.task_config
    return {
        "image": task.num_cameras * config.image_tokens_per_camera,
        "det": task.num_det_queries,
        "lane": task.num_lane_queries,
        "plan": task.num_plan_tokens,
        "propagated": 2 * task.memory_propagated,  # det and lane
        "memory_keys": 2 * (task.memory_size - task.memory_propagated),  # query self-attention only
        "text": 3 + BENCHMARK_TEXT_TOKENS,
        "task_layers": config.task_layer_indices,
        "llm_layers": config.text_config.num_hidden_layers,
    }
