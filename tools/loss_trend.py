"""How each logged loss moved over a run: the mean of its first tenth of logged values against its last tenth.

Reads the Trainer's ``log_history`` (``<train.output_dir>/trainer_state.json``): the total
``loss`` and every ``loss_<name>`` (``OneDriveTrainer.log``). A loss the stage does not
supervise is logged as 0 throughout and left out. Means over a tenth of the logs, not
single values, so one noisy batch does not decide whether a loss fell.
"""

from __future__ import annotations

import json
from pathlib import Path

TRAINER_STATE = "trainer_state.json"
SHARE = 0.1  # of a loss's logged values, averaged at the start and at the end


def loss_trend(log_history: list[dict]) -> dict[str, tuple[float, float]]:
    """{loss name: (mean of its first tenth of logged values, mean of its last tenth)}."""
    series: dict[str, list[float]] = {}
    for entry in log_history:
        for key, value in entry.items():
            if key == "loss" or key.startswith("loss_"):
                series.setdefault(key, []).append(float(value))
    trend = {}
    for name, values in series.items():
        if not any(values):
            continue
        count = max(1, round(len(values) * SHARE))
        trend[name] = (sum(values[:count]) / count, sum(values[-count:]) / count)
    return trend


def read_loss_trend(output_dir: str | Path) -> dict[str, tuple[float, float]]:
    """``loss_trend`` of the ``trainer_state.json`` a finished run left in ``output_dir``."""
    path = Path(output_dir) / TRAINER_STATE
    if not path.is_file():
        raise FileNotFoundError(
            f"no {TRAINER_STATE} in {output_dir}: expected a training run finished by tools/train.py"
        )
    history = json.loads(path.read_text())["log_history"]
    trend = loss_trend(history)
    if not trend:
        raise ValueError(
            f"{path} logs no non-zero loss ({len(history)} log entries): was train.logging_steps above max_steps?"
        )
    return trend


def fell(start: float, end: float) -> bool:
    """Whether a loss fell over the run: its last-tenth mean is below its first-tenth mean."""
    return end < start


def format_loss_trend(
    trend: dict[str, tuple[float, float]], columns: tuple[str, str] = ("first 10 %", "last 10 %")
) -> str:
    """A plain-text table: loss, start, end (headed ``columns``), and whether it fell."""
    width = max([18, *(len(name) + 2 for name in trend)])
    lines = [f"{'loss':<{width}}{columns[0]:>12}{columns[1]:>12}  fell"]
    lines += [
        f"{name:<{width}}{start:>12.4f}{end:>12.4f}  {'yes' if fell(start, end) else 'NO'}"
        for name, (start, end) in trend.items()
    ]
    return "\n".join(lines)
