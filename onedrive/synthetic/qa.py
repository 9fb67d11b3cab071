"""Questions and answers generated from the facts of a synthetic key frame.

In the style of OmniDrive-nuScenes (scene description, object questions, planning
with reasons, trajectory), templated from ground truth so every answer is correct.

On disk (written by the dataset writers): ``<root>/qa/<split>.json`` =
``{sample_token: [{"question": str, "answer": str, "type": str}, ...]}`` with types
* ``keywords``: the short driving action over the next (up to) 3 s, asked as OmniDrive's
  keywords turn ("Please shortly describe your driving action."): "Turn left and slow down.";
* ``description``: the ego's speed, where it is (straight road / junction, distance to
  the next junction) and the objects around it by class;
* ``counting``: how many objects of a class are within 30 m (one present class and
  one class chosen by the frame index, possibly absent: "There are no buses ...");
* ``nearest``: class, distance and direction (front, front-left, ...) of the nearest
  object, with its ego-frame position and whether it moves;
* ``planning``: what the ego does over the next (up to) 3 s — turn left / turn right /
  go straight (the VAD/UniAD command rule) and speed up / slow down / keep / stop —
  and why (route turn, lead vehicle, clear lane).
The planning-trajectory turn is not written here: the converter adds it to every record
with a whole 6-step future, for this source as for OmniDrive's (``onedrive.data.planning_text``).
Ego frame: x forward, y left, metres. Objects counted are those annotated in the frame
(within range and seen by the lidar).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from onedrive.data.nuscenes.qa import KEYWORDS_QUESTION
from onedrive.synthetic.classes import DETECTION_CLASSES
from onedrive.synthetic.traffic import SceneTraffic

FUTURE_STEPS = 6
COMMAND_THRESHOLD = 2.0  # metres of lateral offset at the horizon (VAD/UniAD converters)
COUNT_RADIUS = 30.0
_READABLE = {"construction_vehicle": "construction vehicle", "traffic_cone": "traffic cone"}
_PLURAL = {"bus": "buses", "pedestrian": "pedestrians"}


def readable(name: str, count: int = 1) -> str:
    base = _READABLE.get(name, name)
    return base if count == 1 else _PLURAL.get(name, base + "s")


def to_ego(points: np.ndarray, ego_state: np.ndarray) -> np.ndarray:
    """Map points (N, 2) into the ego frame of ``ego_state`` (x, y, yaw, ...)."""
    c, s = math.cos(ego_state[2]), math.sin(ego_state[2])
    offset = points - ego_state[:2]
    return np.stack([c * offset[:, 0] + s * offset[:, 1], -s * offset[:, 0] + c * offset[:, 1]], axis=-1)


def command_from_endpoint(endpoint_y: float) -> str:
    """VAD/UniAD rule: lateral offset of the future end point > 2 m left, < -2 m right."""
    if endpoint_y > COMMAND_THRESHOLD:
        return "left"
    if endpoint_y < -COMMAND_THRESHOLD:
        return "right"
    return "straight"


def direction_word(x: float, y: float) -> str:
    """One of eight 45° sectors around the ego for an ego-frame offset (x, y)."""
    sectors = ("front", "front-left", "left", "back-left", "back", "back-right", "right", "front-right")
    angle = math.degrees(math.atan2(y, x))
    return sectors[int(((angle + 22.5) % 360) // 45)]


@dataclass
class _Object:
    name: str
    xy: np.ndarray  # (2,) ego frame
    speed: float


def _objects(traffic: SceneTraffic, t: int, annotated: np.ndarray) -> list[_Object]:
    ego = traffic.ego.states[t]
    out = []
    for track, keep in zip(traffic.tracks, annotated):
        if keep:
            xy = to_ego(track.states[t : t + 1, :2], ego)[0]
            out.append(_Object(track.category, xy, float(track.states[t, 3])))
    return out


def _where(traffic: SceneTraffic, t: int) -> str:
    route, s = traffic.ego.route, float(traffic.ego.route_s[t])
    index = int(route.lane_index(np.array([s]))[0])
    lane = route.lanes[index]
    if lane.is_connector:
        verb = {"straight": "crossing", "left": "turning left in", "right": "turning right in"}[lane.turn]
        return f"{verb} a junction"
    ahead = route.starts[index + 1] - s if index + 1 < len(route.lanes) else math.inf
    return f"on a straight two-lane road, {ahead:.0f} m before a junction"


def _describe(traffic: SceneTraffic, t: int, objects: list[_Object]) -> str:
    speed = traffic.ego.states[t, 3]
    motion = f"driving at {speed:.1f} m/s" if speed > 0.3 else "standing still"
    counts = Counter(obj.name for obj in objects)
    if counts:
        listed = ", ".join(
            f"{n} {readable(name, n)}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        around = f"Around it are {listed}."
    else:
        around = "No objects are around it."
    return f"The ego vehicle is {motion} {_where(traffic, t)}. {around}"


def _planning(traffic: SceneTraffic, t: int, objects: list[_Object]) -> tuple[str, str] | None:
    """(the reasoned planning answer, the short driving action); None at a scene's last key frame."""
    states = traffic.ego.states
    steps = min(FUTURE_STEPS, len(states) - 1 - t)
    if steps <= 0:
        return None
    future = to_ego(states[t + 1 : t + 1 + steps, :2], states[t])  # (steps, 2)
    command = command_from_endpoint(float(future[-1, 1]))
    v_now, v_end = float(states[t, 3]), float(states[t + steps, 3])
    if v_end < 0.3 < v_now:
        speed, short_speed = "come to a stop", "stop"
    elif v_end - v_now > 1.0:
        speed, short_speed = f"speed up from {v_now:.1f} m/s to {v_end:.1f} m/s", "speed up"
    elif v_now - v_end > 1.0:
        speed, short_speed = f"slow down from {v_now:.1f} m/s to {v_end:.1f} m/s", "slow down"
    else:
        speed, short_speed = f"keep its speed of about {v_now:.1f} m/s", "keep the speed"
    action = {"left": "turn left", "right": "turn right", "straight": "go straight"}[command]
    ahead = [o for o in objects if 0 < o.xy[0] < 30 and abs(o.xy[1]) < 1.75 and o.name in ("car", "truck", "bus")]
    if command != "straight":
        reason = f"the route turns {command} at the junction"
        if "slow" in speed:
            reason += " and the turn must be taken slowly"
    elif ahead:
        lead = min(ahead, key=lambda o: o.xy[0])
        reason = f"a {readable(lead.name)} is {lead.xy[0]:.0f} m ahead in the same lane"
    elif "slow" in speed:
        reason = "a turn follows at the next junction"
    else:
        reason = "the lane ahead is clear"
    answer = f"The ego vehicle will {action} and {speed}, because {reason}."
    return answer, f"{action.capitalize()} and {short_speed}."


def frame_qa(traffic: SceneTraffic, t: int, annotated: np.ndarray) -> list[dict[str, str]]:
    """QA pairs of key frame ``t``; ``annotated`` (N,) marks the tracks annotated in it."""
    objects = _objects(traffic, t, annotated)
    plan = _planning(traffic, t, objects)
    qa = [] if plan is None else [{"question": KEYWORDS_QUESTION, "answer": plan[1], "type": "keywords"}]
    qa += [
        {
            "question": "Describe the current driving scene.",
            "answer": _describe(traffic, t, objects),
            "type": "description",
        }
    ]
    near = Counter(o.name for o in objects if np.linalg.norm(o.xy) <= COUNT_RADIUS)
    asked = [near.most_common(1)[0][0]] if near else []
    other = DETECTION_CLASSES[t % len(DETECTION_CLASSES)]
    if other not in asked:
        asked.append(other)
    for name in asked:
        n = near.get(name, 0)
        answer = f"There is 1 {readable(name)}" if n == 1 else f"There are {n or 'no'} {readable(name, 2)}"
        qa.append(
            {
                "question": f"How many {readable(name, 2)} are within {COUNT_RADIUS:.0f} meters of the ego vehicle?",
                "answer": f"{answer} within {COUNT_RADIUS:.0f} meters.",
                "type": "counting",
            }
        )
    if objects:
        obj = min(objects, key=lambda o: float(np.linalg.norm(o.xy)))
        moving = "moving" if obj.speed > 0.2 else "not moving"
        qa.append(
            {
                "question": "Which object is closest to the ego vehicle, and where is it?",
                "answer": (
                    f"The closest object is a {readable(obj.name)}, {np.linalg.norm(obj.xy):.1f} m away to the "
                    f"{direction_word(*obj.xy)} (x = {obj.xy[0]:.1f} m, y = {obj.xy[1]:.1f} m), {moving}."
                ),
                "type": "nearest",
            }
        )
    if plan is not None:
        qa.append({"question": "What will the ego vehicle do next, and why?", "answer": plan[0], "type": "planning"})
    return qa
