"""Atomic output, refusal to overwrite, the CLI, the benchmark function."""

from __future__ import annotations

import pytest

from benchmarks.synthetic import benchmark_synthetic
from onedrive.synthetic import SyntheticConfig, make_synthetic
from onedrive.synthetic.roads import RoadConfig
from tools.make_synthetic import main

TINY = SyntheticConfig(scenes=2, samples_per_scene=2, image_size=(32, 16), roads=RoadConfig(grid_nodes=3))


def test_refuses_non_empty_out_unless_overwrite(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not empty"):
        make_synthetic(out, TINY, progress=False)
    assert (out / "keep.txt").exists()
    make_synthetic(out, TINY, overwrite=True, progress=False)
    assert not (out / "keep.txt").exists() and (out / "v1.0-synthetic" / "sample.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_failed_run_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="mini"):
        make_synthetic(tmp_path / "data", TINY, version="v1.0-mini", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_navsim_format_writes_logs_blobs_and_map(tmp_path):
    root = make_synthetic(tmp_path / "data", TINY, fmt="navsim", progress=False)
    logs = sorted(p.relative_to(root).as_posix() for p in (root / "navsim_logs").rglob("*.pkl"))
    assert [p.split("/")[1] for p in logs] == ["test", "trainval"]
    assert sorted(p.name for p in (root / "scene_filters").iterdir()) == ["navtest.yaml", "navtrain.yaml"]
    assert (root / "maps" / "synthetic-town.json").is_file()
    assert len(list((root / "sensor_blobs").rglob("*.jpg"))) == 2 * (2 + 13) * 8  # 2 logs of 15 frames, 8 cameras


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="format"):
        make_synthetic(tmp_path / "data", TINY, fmt="kitti", progress=False)


def test_cli_writes_a_dataset(tmp_path):
    main(["--out", str(tmp_path / "cli"), "--scenes", "2", "--samples-per-scene", "2", "--image-size", "32", "16"])
    assert (tmp_path / "cli" / "maps" / "expansion" / "boston-seaport.json").exists()


def test_benchmark_reports_samples_per_second():
    result = benchmark_synthetic(scenes=2, samples_per_scene=2, image_size=(32, 16))
    assert result["samples"] == 4 and result["samples_per_s"] > 0


def test_the_world_gets_the_modes_of_the_umask(tmp_path):
    """The world is staged in a private mkdtemp folder; once in place it reads like any folder mkdir would make."""
    import os
    import stat

    old_mask = os.umask(0o022)
    try:
        root = make_synthetic(tmp_path / "data", TINY, progress=False)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "v1.0-synthetic" / "sample.json").stat().st_mode) == 0o644
