"""Training: experiment configs, the three-stage recipe, the Trainer, and one-stage runs.

* ``config``    ExperimentConfig dataclasses, config files, ``--set`` overrides, fail-fast checks.
* ``recipe``    what each stage trains / freezes, LoRA (peft), the trainable-parameter table.
* ``trainer``   ``OneDriveTrainer`` (transformers.Trainer for DriveBatch + per-loss logging).
* ``build``     model / tokenizer / processor / dataset of a config.
* ``run``       ``train_experiment``: check → build → train → ``<output_dir>/final``.
* ``tiny_run``  random info files + tiny config (tests, benchmarks); ``benchmark`` speed / memory.

Only the light config API is imported here (config files import it); import the others directly.
"""

from onedrive.training.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    RecipeConfig,
    TinyInternVLConfig,
    TrainConfig,
    apply_overrides,
    check_config,
    load_config,
)

__all__ = [
    "ConfigError",
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "RecipeConfig",
    "TinyInternVLConfig",
    "TrainConfig",
    "apply_overrides",
    "check_config",
    "load_config",
]
