"""NAVSIM logs are read through a restricted unpickler: numpy arrays and built-in values load, anything else is
refused with the class it names, and a crafted log's payload never runs."""

import io
import os
import pickle
import shutil

import numpy as np
import pytest

from onedrive.data.navsim.logs import LogUnpickler, load_log, log_paths


class RunsCode:
    """What a crafted log holds: unpickling it calls os.system."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_crafted_log_is_refused_and_its_payload_never_runs(navsim_root, tmp_path):
    root = tmp_path / "set"
    shutil.copytree(navsim_root / "navsim_logs", root / "navsim_logs")
    path = log_paths(root, "test")[0]
    frames = load_log(path)
    marker = tmp_path / "payload_ran"
    frames[1]["token"] = RunsCode(f"touch {marker}")
    path.write_bytes(pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(ValueError, match=rf"NAVSIM log {path} cannot be read: refused to load posix\.system"):
        load_log(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_values_of_openscene_logs_load_in_every_protocol(protocol):
    frame = {
        "token": "a" * 16,
        "timestamp": 1_630_000_000_000_000,
        "roadblock_ids": ["1", "2"],
        "traffic_lights": [(123, True)],
        "sample_prev": None,
        "can_bus": np.arange(18, dtype=np.float64),
        "ego2global": np.eye(4),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "gt_names": np.array(["vehicle", "pedestrian"], dtype=object),
        "names": np.array(["vehicle", "bicycle"]),
        "driving_command": np.array([0, 1, 0, 0], dtype=np.int64),
        "speed": np.float64(3.5),
        "count": np.int64(7),
        "flags": {1, 2},
    }
    loaded = LogUnpickler(io.BytesIO(pickle.dumps([frame], protocol=protocol))).load()[0]
    assert loaded.keys() == frame.keys()
    for key, value in frame.items():
        if isinstance(value, np.ndarray):
            assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value), key
        else:
            assert loaded[key] == value and type(loaded[key]) is type(value), key


def test_other_classes_are_refused_by_name():
    from collections import OrderedDict

    with pytest.raises(pickle.UnpicklingError, match=r"refused to load collections\.OrderedDict"):
        LogUnpickler(io.BytesIO(pickle.dumps([OrderedDict(a=1)]))).load()
