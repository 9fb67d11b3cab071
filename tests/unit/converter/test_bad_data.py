"""Each kind of bad data stops the conversion with an error naming the file or token,
and leaves no output file."""

import json

import pytest

from onedrive.data.nuscenes.converter import ConverterSettings
from onedrive.data.nuscenes.pipeline import create_infos


def _convert(world, out, workers=1, **options):
    settings = ConverterSettings(str(world.root), world.version, **options)
    return create_infos(settings, out, workers=workers, progress=False)


def _edit_table(world, name, edit):
    path = world.root / world.version / f"{name}.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


def _assert_nothing_written(out):
    assert not out.exists() or not any(out.iterdir())


def test_missing_image(tiny_world, tmp_path):
    image = tiny_world.root / "samples" / "CAM_BACK" / "sd-s2-sample-3-CAM_BACK.png"
    image.unlink()
    with pytest.raises(FileNotFoundError, match=r"sd-s2-sample-3-CAM_BACK\.png.*s2-sample-3"):
        _convert(tiny_world, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_corrupt_image(tiny_world, tmp_path):
    image = tiny_world.root / "samples" / "CAM_FRONT" / "sd-s1-sample-5-CAM_FRONT.png"
    image.write_bytes(image.read_bytes()[:40] + b"\x00garbage" * 10)
    with pytest.raises(ValueError, match=r"sd-s1-sample-5-CAM_FRONT\.png of sample s1-sample-5 is corrupt"):
        _convert(tiny_world, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")
    # Without the check only the file's presence is tested.
    assert len(_convert(tiny_world, tmp_path / "unchecked", check_images=False)) == 2


def test_missing_camera(tiny_world, tmp_path):
    _edit_table(
        tiny_world, "sample_data", lambda rows: [r for r in rows if r["token"] != "sd-s1-sample-4-CAM_BACK_LEFT"]
    )
    with pytest.raises(ValueError, match="sample s1-sample-4 has no CAM_BACK_LEFT camera"):
        _convert(tiny_world, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_missing_map_file(tiny_world, tmp_path):
    (tiny_world.root / "maps" / "expansion" / "boston-seaport.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"expansion/boston-seaport\.json.*log log-0"):
        _convert(tiny_world, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_missing_map_file_with_workers(tiny_world, tmp_path):
    (tiny_world.root / "maps" / "expansion" / "boston-seaport.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"boston-seaport\.json"):
        _convert(tiny_world, tmp_path / "out", workers=2)
    _assert_nothing_written(tmp_path / "out")


def test_annotation_without_instance(tiny_world, tmp_path):
    def break_link(rows):
        rows[3]["instance_token"] = "no-such-instance"
        return rows

    _edit_table(tiny_world, "sample_annotation", break_link)
    with pytest.raises(ValueError, match="annotation ann-inst-1-0-3 points at instance no-such-instance"):
        _convert(tiny_world, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")
    with pytest.raises(ValueError, match="no-such-instance"):  # the workers report it too
        _convert(tiny_world, tmp_path / "out", workers=2)
    _assert_nothing_written(tmp_path / "out")


def test_missing_qa_folder(tiny_world, tmp_path):
    with pytest.raises(FileNotFoundError, match="QA folder does not exist"):
        _convert(tiny_world, tmp_path / "out", qa_root=str(tmp_path / "nowhere"))
