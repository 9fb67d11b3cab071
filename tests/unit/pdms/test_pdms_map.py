"""Map format: loader validation, atomic save round trip, geometry queries."""

import json

import numpy as np
import pytest

from onedrive.evaluation.pdms.map import load_map, save_map
from onedrive.evaluation.pdms.observation import box_corners


def _write(tmp_path, data, name="map.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_save_load_round_trip(road, tmp_path):
    out = tmp_path / "sub" / "copy.json"
    save_map(road, out)
    again = load_map(out)
    assert again.route == road.route
    assert [a.id for a in again.drivable_areas] == [a.id for a in road.drivable_areas]
    for lane_id, lane in road.lanes.items():
        np.testing.assert_array_equal(again.lanes[lane_id].centerline, lane.centerline)
        assert again.lanes[lane_id].successors == lane.successors
    assert [p.name for p in out.parent.iterdir()] == ["copy.json"]  # no temporary file left


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(route=["r0b", "r0a"]), "not a successor"),
        (lambda d: d.update(route=["nope"]), "'nope' is not a lane id"),
        (lambda d: d["drivable_areas"][0].update(type="sidewalk"), "type 'sidewalk'"),
        (lambda d: d["drivable_areas"][0].update(exterior=[[0, 0], [1, 1], [1, 0], [0, 1]]), "not a valid polygon"),
        (lambda d: d["lanes"][0].update(centerline=[[0, 0]]), "centerline"),
        (lambda d: d["lanes"][0]["centerline"][3].__setitem__(0, float("nan")), "NaN"),
        (lambda d: d["lanes"][0].update(successors=["ghost"]), "unknown successors"),
        (lambda d: d.pop("lanes"), "missing keys"),
        (lambda d: d.update(version=7), "version"),
    ],
)
def test_loader_names_file_and_problem(tmp_path, edit, message, pdms):
    data = pdms.road_dict()
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as error:
        load_map(path)
    assert str(path) in str(error.value)


def test_loader_missing_and_corrupt_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_map(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        load_map(broken)


def test_ego_area_flags(road):
    # pacifica-sized boxes: inside lane r0a, straddling r0a/r1, half off the road
    poses = np.array([[30.0, 0.0, 0.0], [30.0, 1.75, 0.0], [30.0, -2.0, 0.0], [270.0, 0.0, 0.0]])
    corners = box_corners(poses, 5.176, 2.297)  # (4, 4, 2)
    multiple_lanes, non_drivable = road.ego_area_flags(corners)
    np.testing.assert_array_equal(multiple_lanes, [False, True, False, False])
    np.testing.assert_array_equal(non_drivable, [False, False, True, False])
    np.testing.assert_array_equal(road.in_intersection(poses[:, :2]), [False, False, False, True])


def test_route_path_and_with_route(road):
    path = road.route_path()
    assert path.shape[1] == 3 and path[0, 0] == 0.0 and path[-1, 0] == 300.0
    assert (np.diff(path[:, 0]) > 0).all()  # the shared point between r0a and r0b appears once
    assert road.with_route(["r1"]).route == ("r1",)
    with pytest.raises(ValueError, match="not a successor"):
        road.with_route(["r0a", "r1"])
