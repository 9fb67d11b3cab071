"""The converter on the repository's synthetic world (tools/make_synthetic.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from shapely.geometry import Point, Polygon

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_synthetic_world_converts_serial_equals_parallel(tmp_path):
    data = tmp_path / "synthetic"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "make_synthetic.py"),
            "--out",
            str(data),
            "--scenes",
            "3",
            "--samples-per-scene",
            "8",
            "--val-scenes",
            "1",
        ],
        check=True,
    )
    settings = ConverterSettings(str(data), "v1.0-synthetic")
    serial = create_infos(settings, tmp_path / "serial", progress=False)
    parallel = create_infos(settings, tmp_path / "parallel", workers=2, progress=False)
    assert [p.read_bytes() for p in serial] == [p.read_bytes() for p in parallel]
    records = [r for path in serial for r in json.loads(path.read_text())["infos"]]
    assert len(records) == 24
    assert all(r["qa"] for r in records)  # qa/<split>.json picked up automatically
    assert all(
        any(Polygon(p["exterior"], p["holes"]).contains(Point(0, 0)) for p in r["drivable_area"]) for r in records
    )
    assert all(len(r["lanes"]) and len(r["gt_boxes"]) for r in records)
