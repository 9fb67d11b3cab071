"""Which nuScenes annotations are obstacles for the planning collision metric.

The reference metric (OneDrive's and OmniDrive's ``evaluation/planning_utils.py``, from ST-P3)
draws the agents whose category index in nuScenes v1.0's ``category.json`` is 8 … 17: every
``vehicle.*`` category, the two emergency vehicles included, whatever their lidar / radar
point count or distance. Those indices are named here, so the rule does not depend on the
order of a category table. The detection classes cannot express it: the devkit's
``category_to_detection_name`` has no class for ``vehicle.emergency.*``.
"""

from __future__ import annotations

OBSTACLE_CATEGORIES = (
    "vehicle.car",
    "vehicle.motorcycle",
    "vehicle.bicycle",
    "vehicle.bus.bendy",
    "vehicle.bus.rigid",
    "vehicle.truck",
    "vehicle.construction",
    "vehicle.emergency.ambulance",
    "vehicle.emergency.police",
    "vehicle.trailer",
)


def is_obstacle(category: str) -> bool:
    """Whether an annotation of nuScenes category ``category`` is a collision obstacle."""
    return category in OBSTACLE_CATEGORIES
