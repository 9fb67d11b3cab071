"""Config files, `--set` overrides and the checks that stop a bad run before anything heavy is built."""

import dataclasses
from pathlib import Path

import pytest
from checkpoint_files import write_checkpoint
from tiny_run import tiny_experiment

from onedrive.errors import run_tool
from onedrive.training.build import task_overrides
from onedrive.training.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    check_config,
    check_numbers,
    load_config,
    resolve_batch,
)

REPO = Path(__file__).resolve().parents[3]
TRAIN_TOOL = REPO / "tools" / "train.py"


def paper(stage):
    names = {
        1: "onedrive_1b_stage1_perception",
        2: "onedrive_1b_stage2_planning",
        3: "onedrive_1b_stage3_joint",
    }
    return load_config(REPO / "configs" / "nuscenes" / f"{names[stage]}.py")


def test_paper_configs_carry_the_paper_settings():
    configs = {stage: paper(stage) for stage in (1, 2, 3)}
    for config in configs.values():
        assert config.model.internvl == "OpenGVLab/InternVL3-1B-hf"
        assert (
            config.train.epochs,
            config.train.learning_rate,
            config.train.weight_decay,
        ) == (20, 1e-4, 1e-4)
        assert (
            config.train.global_batch_size,
            config.train.max_grad_norm,
            config.train.warmup_steps,
        ) == (64, 35.0, 500)
        assert config.recipe.lora_rank == 16 and config.recipe.full_ft_attn
        assert config.model.task["num_det_queries"] == config.model.task["num_lane_queries"] == 600
        assert len(config.data.cameras) == 6 and config.data.camera_tiles == (1, 2)
    assert [configs[s].recipe.stage for s in (1, 2, 3)] == [
        "perception",
        "planning",
        "joint",
    ]
    assert configs[1].model.init_from is None
    assert configs[2].model.init_from == configs[1].train.output_dir
    assert configs[3].model.init_from == configs[2].train.output_dir


def test_setting_data_root_moves_the_info_files_of_every_shipped_config(tmp_path):
    for path in sorted((REPO / "configs").glob("*/*.py")):
        config = apply_overrides(load_config(path), [f"data.root={tmp_path}"])
        data = config.data
        for split in (data.train_split, data.eval_split):
            assert data.infos_path(split) == tmp_path / "infos" / f"{data.dataset}_infos_{split}.json", path
    explicit = apply_overrides(load_config(path), [f"data.root={tmp_path}", "data.infos_dir=/elsewhere"])
    assert explicit.data.infos_path("val").parent == Path("/elsewhere")


def test_every_shipped_config_loads():
    files = sorted((REPO / "configs").glob("*/*.py"))
    assert len(files) >= 7
    for path in files:
        config = load_config(path)
        for field in ("root", "version", "eval_split", "train_split"):
            assert getattr(config.data, field)
    navsim = load_config(REPO / "configs" / "navsim" / "onedrive_2b_navsim.py")
    assert len(navsim.data.cameras) == 8 and navsim.model.task["plan_dims"] == 3 and navsim.recipe.stage == "planning"
    # As the paper: from ReCogDrive's InternVL3-2B (InternVL's own layout, a folder under checkpoints/), 128 per step.
    assert navsim.model.init_from is None and navsim.model.internvl == "checkpoints/ReCogDrive-InternVL3-2B"
    assert navsim.train.global_batch_size == 128 and resolve_batch(navsim.train, world_size=8) == 16
    demo = [load_config(path) for path in sorted((REPO / "configs" / "demo").glob("demo_stage*.py"))]
    assert [config.recipe.stage for config in demo] == [
        "perception",
        "planning",
        "joint",
    ]
    # The demo's detection queries are spread evenly and see the azimuth prior in every stage (one task dict).
    assert all(config.model.task["num_det_queries"] == 256 for config in demo)
    assert all(config.model.task["azimuth_prior_logit"] == 5.0 for config in demo)
    # The detection demo is demo stage 1 trained longer, in its own folders.
    detection = load_config(REPO / "configs" / "demo" / "demo_detection.py")
    assert (detection.model.task, detection.data, detection.recipe) == (
        demo[0].model.task,
        demo[0].data,
        demo[0].recipe,
    )
    assert detection.train.max_steps > demo[0].train.max_steps
    assert detection.train.output_dir.startswith("runs/demo_detection/")
    # The NAVSIM demo trains planning only, from the stage-3 model: the planning stage's loss weights,
    # without the text loss (NAVSIM infos hold no QA; the text target would be the driving command).
    navsim_demo = load_config(REPO / "configs" / "demo" / "demo_navsim.py")
    weights = {key: value for key, value in task_overrides(navsim_demo).items() if key.endswith("_weight")}
    assert weights == {"perception_weight": 0.0, "planning_weight": 1.0, "text_weight": 0.0}
    assert navsim_demo.model.init_from == demo[2].train.output_dir


def test_overrides_parse_by_field_type():
    config = paper(1)
    apply_overrides(
        config,
        [
            "train.learning_rate=2e-4",
            "train.max_steps=7",
            "train.gradient_checkpointing=false",
            "data.camera_tiles=2,2",
            "data.cameras=[CAM_FRONT, CAM_BACK]",
            "train.deepspeed=none",
            "train.gradient_accumulation_steps=4",
            "recipe.trainable=perception,planning",
            "model.task.num_det_queries=300",
            "model.task.perception_weight=2",
            "model.tiny.hidden_size=32",
        ],
    )
    assert (
        config.train.learning_rate == 2e-4
        and config.train.max_steps == 7
        and config.train.gradient_checkpointing is False
    )
    assert config.data.camera_tiles == (2, 2) and config.data.cameras == (
        "CAM_FRONT",
        "CAM_BACK",
    )
    assert config.train.deepspeed is None and config.train.gradient_accumulation_steps == 4
    assert config.recipe.trainable == ("perception", "planning")
    assert config.model.task["num_det_queries"] == 300 and config.model.task["perception_weight"] == 2.0
    assert config.model.tiny.hidden_size == 32


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.learning_rat=1", "did you mean 'train.learning_rate'"),
        ("trian.epochs=1", "did you mean 'train'"),
        ("model.task.num_det_querie=5", "did you mean 'model.task.num_det_queries'"),
        ("train.max_steps=ten", "expects an int"),
        ("train.bf16=true", "unknown config key"),
        ("data.camera_tiles=1,2,3", "expects 2 comma-separated values"),
        ("recipe.full_ft_attn=maybe", "expects a bool"),
        ("train.epochs", "expects key=value"),
    ],
)
def test_bad_overrides_say_what_to_fix(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        apply_overrides(paper(1), [override])


def test_batch_split():
    train = TrainConfig(per_device_batch_size=1, global_batch_size=64)
    assert resolve_batch(train, world_size=8) == 8
    with pytest.raises(ConfigError, match="not divisible"):
        resolve_batch(dataclasses.replace(train, per_device_batch_size=3), world_size=1)
    with pytest.raises(ConfigError, match="x gradient_accumulation_steps"):
        resolve_batch(dataclasses.replace(train, gradient_accumulation_steps=2), world_size=8)


def test_check_config_lists_every_problem(tmp_path):
    config = tiny_experiment(tmp_path / "nowhere", tmp_path / "out", stage="planning")
    config.model.init_from = str(tmp_path / "stage1")
    (
        config.train.global_batch_size,
        config.train.per_device_batch_size,
        config.train.gradient_accumulation_steps,
    ) = 64, 3, None
    config.train.deepspeed = str(tmp_path / "zero9.json")
    config.recipe.stage = "pretraining"
    with pytest.raises(ConfigError) as error:
        check_config(config)
    message = str(error.value)
    assert "run that stage first" in message  # init_from
    assert "data.root=" in message and "tools/create_data.py" in message  # data root and info file
    assert "not divisible" in message
    assert "zero9.json" in message
    assert "recipe.stage must be one of" in message


def test_a_checkpoint_not_yet_put_under_checkpoints_is_named(tmp_path, monkeypatch):
    """'checkpoints/X' is hub-id shaped; with a local checkpoints/ folder it is a folder someone has to put there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    config = load_config(REPO / "configs" / "navsim" / "onedrive_2b_navsim.py")
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert "model.internvl='checkpoints/ReCogDrive-InternVL3-2B' is not a folder, though checkpoints/ is" in str(
        error.value
    )
    (tmp_path / "checkpoints" / "ReCogDrive-InternVL3-2B").mkdir()
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert "model.internvl" not in str(error.value)  # the folder is there now (the missing data is still named)


def test_tool_fails_fast_without_loading_anything(tmp_path, capsys):
    """tools/train.py on a config with missing data: exit code 2, a fix-it message, no model written or loaded."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_tool", TRAIN_TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config_file = tmp_path / "config.py"
    config_file.write_text(
        "from tiny_run import tiny_experiment\n"
        f"def build():\n    return tiny_experiment({str(tmp_path / 'missing')!r}, {str(tmp_path / 'out')!r})\n"
    )
    assert run_tool(tool.main, [str(config_file), "--set", "train.max_steps=1"]) == 2
    err = capsys.readouterr().err
    assert "data.root" in err and "does not exist" in err
    assert not (tmp_path / "missing" / "tiny_internvl").exists() and not (tmp_path / "out").exists()


def test_existing_checkpoints_need_resume(drive_data, tmp_path):
    from onedrive.training.run import resolve_resume

    config = tiny_experiment(drive_data, tmp_path / "out")
    write_checkpoint(tmp_path / "out" / "checkpoint-2")
    with pytest.raises(ConfigError, match="pass --resume"):
        resolve_resume(config, None)
    assert resolve_resume(config, True).endswith("checkpoint-2")
    with pytest.raises(ConfigError, match="no checkpoint"):
        resolve_resume(tiny_experiment(drive_data, tmp_path / "fresh"), True)


@pytest.mark.parametrize(
    "value, message",
    [
        ("nan", "train.learning_rate must be a finite number, got nan"),
        ("-1", "train.learning_rate must be > 0, got -1.0"),
        ("inf", "train.learning_rate must be a finite number, got inf"),
    ],
)
def test_bad_learning_rate_is_refused_before_the_run_folder_exists(drive_data, tmp_path, value, message):
    from onedrive.training.run import prepare_experiment

    config = apply_overrides(tiny_experiment(drive_data, tmp_path / "out"), [f"train.learning_rate={value}"])
    with pytest.raises(ConfigError, match=message):
        prepare_experiment(config)
    assert not (tmp_path / "out").exists()


def test_optimizer_ranges(tmp_path):
    config = tiny_experiment(tmp_path, tmp_path / "out")
    config.train.adam_beta2, config.train.min_lr_rate, config.train.save_steps = 1.0, 1.0, 0
    problems = check_numbers(config)
    assert problems == ["train.adam_beta2 must be in [0, 1), got 1.0", "train.save_steps must be >= 1, got 0"]
