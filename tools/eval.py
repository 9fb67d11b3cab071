"""Evaluate a model or existing prediction files: metrics.json, a markdown table and plots.

With an experiment config, the split is the config's ``data.eval_split`` (info file
``data.infos_dir/<dataset>_infos_<split>.json``, data under ``data.root``):

    python tools/eval.py configs/demo/demo_stage3_joint.py --checkpoint runs/demo/stage3_joint/final
    python tools/eval.py configs/demo/demo_stage3_joint.py --predictions runs/demo/eval/predictions
    python tools/eval.py CONFIG --checkpoint CKPT --set data.root=/mnt/nuscenes --out OUT

``OUT`` holds one run: what an earlier evaluation wrote there (metrics.json, metrics.md, plots,
predictions/, baselines/) is removed before this one starts, and metrics.json is written last,
so a failed run leaves none. ``--checkpoint`` runs inference first (one prefill per question:
boxes, lanes, trajectory and the answer) and writes the prediction files to ``OUT/predictions``; ``--predictions`` scores
files from any model or baseline (formats: docs/design.md §4). Without a config, name the
info file (and, for detection, the nuScenes-format data):

    python tools/eval.py --predictions P --infos data/synthetic/infos/nuscenes_infos_synthetic_val.json --out OUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onedrive.errors import InputError, run_tool
from onedrive.evaluation import evaluate_predictions
from onedrive.evaluation.outputs import start_run
from onedrive.evaluation.predictions import prediction_files
from onedrive.evaluation.report import markdown_table
from onedrive.infos import InfoFile, load_infos
from onedrive.io import write_json_atomic


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default=None, help="experiment config file (python)")
    parser.add_argument("--checkpoint", default=None, help="model folder (stage output final/ or an export)")
    parser.add_argument("--predictions", default=None, help="directory with existing prediction files")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. data.root=/data/nuscenes (repeatable)",
    )
    parser.add_argument("--infos", default=None, help="info file of the split (without a config)")
    parser.add_argument("--data-root", default=None, help="nuScenes-format data root (detection; without a config)")
    parser.add_argument("--version", default=None, help="nuScenes version (detection; without a config)")
    parser.add_argument("--eval-split", default=None, help="devkit split name (detection; without a config)")
    parser.add_argument("--out", default=None, help="output directory for metrics.json, metrics.md and plots")
    parser.add_argument("--num-plots", type=int, default=4, help="BEV figures for the first N samples")
    parser.add_argument("--batch-size", type=int, default=4, help="inference batch size (--checkpoint)")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=128,
        help="answer length limit (--checkpoint); OmniDrive's planning answer '[PT, (x, y) x 6]' takes about 90 tokens",
    )
    parser.add_argument("--no-text", action="store_true", help="skip answering questions (--checkpoint)")
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also score the baselines that need no model: constant velocity and mean trajectory "
        "(planning), the logged human (NAVSIM), the box prior (detection, nuScenes); needs a CONFIG",
    )
    args = parser.parse_args(argv)
    if (args.checkpoint is None) == (args.predictions is None):
        parser.error("give exactly one of --checkpoint (run the model) or --predictions (score existing files)")
    if args.checkpoint and not args.config:
        parser.error("--checkpoint needs a CONFIG to know the evaluation split")
    if not args.config and not args.infos:
        parser.error("give a CONFIG or --infos")
    if args.baselines and not args.config:
        parser.error("--baselines needs a CONFIG (the mean trajectory comes from its training split)")
    return args


def _split(args: argparse.Namespace) -> dict:
    """Info file, data root, version, devkit split and a default output folder."""
    if not args.config:
        return dict(
            infos=args.infos, data_root=args.data_root, version=args.version, eval_split=args.eval_split, out=args.out
        )
    from onedrive.training.config import apply_overrides, load_config

    config = apply_overrides(load_config(args.config), args.overrides)
    data = config.data
    infos = data.infos_path(data.eval_split)
    if not infos.is_file():
        raise InputError(
            f"info file {infos} of split {data.eval_split!r} not found; run tools/create_data.py for "
            f"{data.root} or point the config at it with --set data.infos_dir=... / data.eval_split=..."
        )
    out = args.out or str(Path(config.train.output_dir) / "eval")
    return dict(
        infos=str(infos),
        data_root=data.root,
        version=data.version,
        eval_split=data.eval_split,
        out=out,
        train_infos=str(data.infos_path(data.train_split)),
        use_ego_status=config.model.task.get("use_ego_status"),
    )


def ego_status_report(infos: InfoFile, use_ego_status: bool | None) -> tuple[dict, str]:
    """(``{"model/uses_ego_status": bool}`` when known, the ``ego_status`` convention text).

    Known: from the evaluated checkpoint's task config, or from an experiment config that sets
    ``model.task.use_ego_status``; for other prediction files nothing says what produced them.
    """
    sources = infos.metadata.get("ego_status_sources")
    text = (
        "the model's planning input and the constant-velocity baseline read the same info-file ego_status "
        "(present and past only; docs/design.md §4)"
    )
    if sources:
        text += f"; key frames by source in this split: {sources}"
    return ({} if use_ego_status is None else {"model/uses_ego_status": bool(use_ego_status)}), text


def score_baselines(split: dict, infos: InfoFile) -> dict:
    """``baseline/<name>/plan/...`` (or ``navsim/...``) metrics of the planning baselines (on NAVSIM also the
    logged ``human``) and, on nuScenes, ``baseline/box_prior/det/...`` of the image-blind detection prior, on the
    same split (``infos``, read once by the caller)."""
    from onedrive.evaluation import baselines

    records = infos.records
    _, train_records = load_infos(split["train_infos"])
    navsim = infos.metadata.get("dataset") == "navsim"
    steps = 8 if navsim else 6
    files = {
        "constant_velocity": baselines.prediction_file(
            baselines.constant_velocity(records, steps, with_heading=navsim, source=f"info file {split['infos']}"),
            navsim,
        ),
        "mean_trajectory": baselines.prediction_file(
            baselines.mean_trajectory(train_records, records, steps, source=f"info file {split['train_infos']}"), navsim
        ),
    }
    if navsim:
        files["human"] = baselines.prediction_file(
            baselines.logged_future(records, source=f"info file {split['infos']}"), navsim
        )
    else:
        files["box_prior"] = baselines.box_prior_file(train_records, records)
    results = {}
    for name, (file_name, payload) in files.items():
        folder = Path(split["out"]) / "baselines" / name
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / file_name, payload)  # refuses NaN: a baseline file holds numbers only
        metrics = evaluate_predictions(
            folder,
            infos,
            data_root=split["data_root"],
            version=split["version"],
            eval_split=split["eval_split"],
            num_plots=0,
        )
        results.update(
            {
                f"baseline/{name}/{key}": value
                for key, value in metrics.items()
                if key.startswith(("plan/", "navsim/", "det/"))
            }
        )
    return results


def main(argv: list[str] | None = None) -> dict:
    """Evaluate; with an output folder, an earlier run's outputs there are removed first (``outputs.start_run``)."""
    args = parse_args(argv)
    split = _split(args)
    predictions = args.predictions
    use_ego_status = split.get("use_ego_status")
    if split["out"] is not None:
        start_run(split["out"], scored=predictions)
    infos = InfoFile.read(split["infos"])  # read and checked once for the whole run
    if args.checkpoint:
        from onedrive.export.loading import load_model
        from onedrive.inference import predict_split
        from onedrive.model import OneDriveProcessor

        model = load_model(args.checkpoint)
        use_ego_status = model.config.task_config.use_ego_status
        processor = OneDriveProcessor.from_pretrained(args.checkpoint)
        predictions = Path(split["out"]) / "predictions"
        predict_split(
            model,
            processor,
            split["infos"],
            split["data_root"],
            predictions,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            text=not args.no_text,
        )
    extra = score_baselines(split, infos) if args.baselines else {}
    conventions = {}
    if {"planning.json", "navsim.json"} & {
        path.name for path in prediction_files(predictions).values()
    }:  # planning scored
        keys, conventions["ego_status"] = ego_status_report(infos, use_ego_status)
        extra.update(keys)
    metrics = evaluate_predictions(
        predictions,
        infos,
        data_root=split["data_root"],
        version=split["version"],
        eval_split=split["eval_split"],
        out_dir=split["out"],
        num_plots=args.num_plots,
        extra_metrics=extra,
        extra_conventions=conventions,
    )
    print(markdown_table(metrics))
    return metrics


if __name__ == "__main__":
    sys.exit(run_tool(main))
