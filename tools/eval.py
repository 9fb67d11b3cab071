"""Score existing prediction files against a split: metrics.json, a markdown table and plots.

Reads any of detection.json, planning.json, lanes.json, text.jsonl from --predictions and scores
exactly the samples of the info file (see onedrive/evaluation/predictions.py for the rules).

Example (CPU, seconds):
    python tools/eval.py --predictions runs/demo/predictions \
        --infos data/synthetic/synthetic_infos_val.json --out runs/demo/eval
Detection also needs the nuScenes-format data (defaults: the info file's metadata):
    python tools/eval.py --predictions P --infos I --data-root data/synthetic --version v1.0-mini \
        --eval-split mini_val --out OUT
"""

from __future__ import annotations

import argparse

from onedrive.evaluation import evaluate_predictions
from onedrive.evaluation.report import markdown_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", required=True, help="directory with the prediction files")
    parser.add_argument("--infos", required=True, help="<name>_infos_<split>.json of the split to score")
    parser.add_argument("--data-root", default=None, help="nuScenes-format data root (detection only)")
    parser.add_argument("--version", default=None, help="nuScenes version, e.g. v1.0-mini (detection only)")
    parser.add_argument("--eval-split", default=None, help="devkit split name (detection only)")
    parser.add_argument("--out", default=None, help="output directory for metrics.json, metrics.md and plots")
    parser.add_argument("--num-plots", type=int, default=4, help="BEV figures for the first N samples")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    metrics = evaluate_predictions(
        args.predictions,
        args.infos,
        data_root=args.data_root,
        version=args.version,
        eval_split=args.eval_split,
        out_dir=args.out,
        num_plots=args.num_plots,
    )
    print(markdown_table(metrics))
    return metrics


if __name__ == "__main__":
    main()
