"""Catalogue of the object classes that populate the synthetic world.

One entry per nuScenes detection class: the nuScenes *category* the annotation is
written under (so that nuscenes-devkit's ``category_to_detection_name`` maps it back,
``nuscenes/eval/detection/utils.py``), a mean size ``(length, width, height)`` in
metres close to the nuScenes class means, the render colour (RGB) and the attributes
valid for the class (nuScenes ``attribute.json``: ``vehicle.*`` for vehicles,
``cycle.*`` for two-wheelers, ``pedestrian.*`` for people, none for cones/barriers).

Colour code of the rendered images (boxes are shaded per face, see ``FACE_SHADES``):
car blue, truck orange, bus yellow, trailer brown, construction vehicle magenta,
pedestrian red, motorcycle cyan, bicycle green, traffic cone pink, barrier purple.
Ground: road dark grey, lane markings white, sidewalk light grey, off-road green,
sky light blue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectClass:
    """A detection class: category, mean size (l, w, h) in metres, colour, attributes."""

    name: str
    category: str
    size_lwh: tuple[float, float, float]
    colour: tuple[int, int, int]
    attributes: tuple[str, ...]


_VEHICLE = ("vehicle.moving", "vehicle.stopped", "vehicle.parked")
_CYCLE = ("cycle.with_rider", "cycle.without_rider")
_PEDESTRIAN = ("pedestrian.moving", "pedestrian.standing")

OBJECT_CLASSES: dict[str, ObjectClass] = {
    c.name: c
    for c in (
        ObjectClass("car", "vehicle.car", (4.6, 1.95, 1.73), (40, 90, 220), _VEHICLE),
        ObjectClass("truck", "vehicle.truck", (6.9, 2.5, 2.8), (220, 120, 30), _VEHICLE),
        ObjectClass("bus", "vehicle.bus.rigid", (11.0, 2.95, 3.5), (240, 210, 30), _VEHICLE),
        ObjectClass("trailer", "vehicle.trailer", (10.0, 2.9, 3.6), (140, 80, 40), _VEHICLE),
        ObjectClass("construction_vehicle", "vehicle.construction", (6.4, 2.85, 3.2), (200, 60, 200), _VEHICLE),
        ObjectClass("pedestrian", "human.pedestrian.adult", (0.73, 0.67, 1.77), (220, 30, 30), _PEDESTRIAN),
        ObjectClass("motorcycle", "vehicle.motorcycle", (2.1, 0.77, 1.47), (30, 190, 190), _CYCLE),
        ObjectClass("bicycle", "vehicle.bicycle", (1.7, 0.6, 1.3), (110, 220, 60), _CYCLE),
        ObjectClass("traffic_cone", "movable_object.trafficcone", (0.42, 0.41, 1.07), (255, 120, 170), ()),
        ObjectClass("barrier", "movable_object.barrier", (0.5, 2.5, 0.98), (120, 60, 170), ()),
    )
}

DETECTION_CLASSES: tuple[str, ...] = tuple(OBJECT_CLASSES)

# Brightness of each visible cuboid face relative to the class colour: the top is
# brightest and the front (+x of the box) differs from the back, so heading is visible.
FACE_SHADES: dict[str, float] = {"top": 1.0, "front": 0.85, "left": 0.7, "right": 0.7, "back": 0.5}

GROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "offroad": (80, 110, 60),
    "sidewalk": (165, 160, 150),
    "road": (70, 70, 75),
    "marking": (235, 235, 235),
}
SKY_COLOUR: tuple[int, int, int] = (150, 190, 235)


def shaded_colour(name: str, face: str) -> tuple[int, int, int]:
    """RGB of face ``face`` (a ``FACE_SHADES`` key) of a box of detection class ``name``."""
    if name not in OBJECT_CLASSES:
        raise KeyError(f"unknown object class {name!r}; expected one of {DETECTION_CLASSES}")
    shade = FACE_SHADES[face]
    return tuple(int(round(channel * shade)) for channel in OBJECT_CLASSES[name].colour)
