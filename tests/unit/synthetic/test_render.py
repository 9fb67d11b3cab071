"""Rendered pixels agree with the annotations projected through the recorded calibration."""

from __future__ import annotations

import numpy as np
from nuscenes.eval.detection.utils import category_to_detection_name
from nuscenes.utils.geometry_utils import view_points
from PIL import Image

from onedrive.synthetic.classes import FACE_SHADES, GROUND_COLOURS, OBJECT_CLASSES, SKY_COLOUR, shaded_colour

CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")


def _palette():
    colours = {(name, face): shaded_colour(name, face) for name in OBJECT_CLASSES for face in FACE_SHADES}
    colours.update({(name, "ground"): c for name, c in GROUND_COLOURS.items()})
    colours[("sky", "sky")] = SKY_COLOUR
    keys = list(colours)
    return keys, np.array([colours[k] for k in keys], dtype=np.float64)


def test_projected_centre_of_near_vehicle_shows_its_class_colour(nusc):
    keys, palette = _palette()
    checked = 0
    for sample in nusc.sample:
        if checked >= 12:
            break
        for channel in CAMERAS:
            data_path, boxes, intrinsics = nusc.get_sample_data(sample["data"][channel])  # boxes in the camera frame
            image = np.asarray(Image.open(data_path).convert("RGB"), dtype=np.float64)
            height, width = image.shape[:2]
            boxes = sorted(boxes, key=lambda b: b.center[2])
            for index, box in enumerate(boxes):
                name = category_to_detection_name(box.name)
                if name not in ("car", "truck", "bus", "trailer", "construction_vehicle") or not 4 < box.center[2] < 20:
                    continue
                u, v = view_points(box.center[:, None], intrinsics, normalize=True)[:2, 0]
                if not (3 <= u < width - 3 and 3 <= v < height - 3):
                    continue
                # Skip boxes another (nearer) box may hide: any nearer box whose centre projects close by.
                nearer = [b for b in boxes[:index] if b.center[2] > 0.1]
                if any(
                    np.hypot(*(view_points(b.center[:, None], intrinsics, normalize=True)[:2, 0] - (u, v))) < 40
                    for b in nearer
                ):
                    continue
                pixel = image[int(v), int(u)]
                nearest = keys[int(np.argmin(np.linalg.norm(palette - pixel, axis=1)))]
                assert nearest[0] == name, (channel, name, pixel, nearest)
                checked += 1
    assert checked >= 5
