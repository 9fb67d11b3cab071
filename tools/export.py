"""Export a training checkpoint as a Hugging Face folder (+ ONNX graphs) that loads with ``import onedrive``.

CHECKPOINT is a model folder (``final/`` of a stage), a Trainer ``checkpoint-N`` folder (LoRA
tensors are merged) or a peft adapter folder (on top of a OneDrive folder: itself, --base, or
the adapter's base_model_name_or_path). A CPU example on a tiny random model (one hand-made straight
planning mode anchor per command; training takes them from the info files):

    python -c "from onedrive.tiny import *; save_tiny_internvl('/tmp/ivl')" && \\
    python -c "from onedrive import OneDriveForDriving as M; M.from_internvl('/tmp/ivl', task_config=dict(\\
num_det_queries=8, num_lane_queries=4, max_boxes=8, max_lanes=4, num_cameras=2, num_plan_modes=1, \\
plan_mode_anchors=[[[[2.0 * t, 0.0] for t in range(1, 7)]]] * 3)).save_pretrained('/tmp/ckpt')" && \\
    python tools/export.py /tmp/ckpt --out /tmp/exported --dtype fp32 --onnx
"""

from __future__ import annotations

import argparse
import sys

from onedrive.errors import run_tool
from onedrive.export import export_checkpoint
from onedrive.export.hf_folder import DTYPES


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="model folder, Trainer checkpoint-N folder or peft adapter folder")
    parser.add_argument("--out", required=True, help="folder to write (must not exist unless --overwrite)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16", help="weight dtype of the export")
    parser.add_argument("--max-shard-size", default="5GB", help="shard the safetensors above this size, e.g. 2GB")
    parser.add_argument(
        "--metrics", help="evaluation metrics.json for the model card (default: found with the checkpoint)"
    )
    parser.add_argument(
        "--onnx",
        action="store_true",
        help="also write onnx/ (structured and planning-only graphs; with a memory, state in and out)",
    )
    parser.add_argument("--base", help="OneDrive folder or hub id under a peft adapter (default: the adapter's own)")
    parser.add_argument(
        "--lora-alpha", type=float, help="LoRA alpha when the checkpoint has no adapter_config/experiment.json"
    )
    parser.add_argument(
        "--allow-pickle", action="store_true", help="read pytorch_model.bin with torch.load(weights_only=True)"
    )
    parser.add_argument("--license", default="apache-2.0", help="license in the model card's front matter")
    parser.add_argument("--repo-id", help="hub repository id shown in the model card's loading example")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    out = export_checkpoint(
        args.checkpoint,
        args.out,
        dtype=args.dtype,
        max_shard_size=args.max_shard_size,
        metrics=args.metrics,
        onnx=args.onnx,
        base=args.base,
        lora_alpha=args.lora_alpha,
        allow_pickle=args.allow_pickle,
        license=args.license,
        repo_id=args.repo_id,
        overwrite=args.overwrite,
    )
    print(f"exported {out}")


if __name__ == "__main__":
    sys.exit(run_tool(main))
