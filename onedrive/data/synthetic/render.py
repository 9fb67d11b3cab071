"""Camera images of the synthetic world, rendered with numpy and PIL (no OpenGL).

Two passes per camera:
1. **Ground and sky by ray casting.** Every pixel centre's viewing ray (through the
   camera's intrinsics and extrinsics) is intersected with the ground plane z = 0; the
   hit point looks up a bird's-eye raster of the ground (``GroundTexture``: off-road,
   sidewalk, road, lane markings at 0.1 m) and fades into the sky colour with distance.
   Rays that do not reach the ground within ``FAR`` metres are sky.
2. **Boxes as shaded cuboids.** Each object's side and top faces that face the camera
   are clipped against the near plane and the image borders (Sutherland–Hodgman, in
   camera coordinates), projected and filled with ``ImageDraw.polygon`` in the class
   colour times the face shade (``classes.FACE_SHADES``); objects are painted from the
   farthest to the nearest (painter's algorithm; boxes never intersect).
Pixel (i, j) covers the continuous image coordinates [i, i + 1) × [j, j + 1), the
convention of the intrinsics (principal point at width / 2, height / 2).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from onedrive.data.synthetic.cameras import Camera, rotation_z
from onedrive.data.synthetic.classes import FACE_SHADES, GROUND_COLOURS, OBJECT_CLASSES, SKY_COLOUR
from onedrive.data.synthetic.roads import RoadNetwork

FAR = 250.0  # metres beyond which the ground is not drawn
NEAR = 0.05  # near clipping plane, metres in front of the camera
HAZE_DISTANCE = 400.0

GROUND_LABELS = ("offroad", "sidewalk", "road", "marking")

# Unit-cube corners (x, y, z) in {-1, 1}² × {0, 1}: scaled by (l/2, w/2, h) they give a box.
_FACES: dict[str, list[tuple[float, float, float]]] = {
    "front": [(1, 1, 0), (1, -1, 0), (1, -1, 1), (1, 1, 1)],
    "back": [(-1, -1, 0), (-1, 1, 0), (-1, 1, 1), (-1, -1, 1)],
    "left": [(-1, 1, 0), (1, 1, 0), (1, 1, 1), (-1, 1, 1)],
    "right": [(1, -1, 0), (-1, -1, 0), (-1, -1, 1), (1, -1, 1)],
    "top": [(1, 1, 1), (1, -1, 1), (-1, -1, 1), (-1, 1, 1)],
}
_NORMALS: dict[str, tuple[float, float, float]] = {
    "front": (1, 0, 0), "back": (-1, 0, 0), "left": (0, 1, 0), "right": (0, -1, 0), "top": (0, 0, 1)
}


class GroundTexture:
    """Bird's-eye raster of the ground classes (``GROUND_LABELS``), row 0 at y = 0."""

    def __init__(self, network: RoadNetwork, resolution: float = 0.1) -> None:
        self.resolution = resolution
        size = int(round(network.canvas_size / resolution))
        image = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(image)

        def fill(rings, value: int) -> None:
            for ring in rings:
                draw.polygon([tuple(p) for p in np.asarray(ring.coords)[:-1] / resolution], fill=value)

        sidewalk_outer = network.drivable.buffer(network.config.sidewalk_width, quad_segs=4)
        fill([sidewalk_outer.exterior], 1)
        fill([network.drivable.exterior], 2)
        fill(network.drivable.interiors, 1)
        fill(sidewalk_outer.interiors, 0)
        fill([poly.exterior for poly in network.markings], 3)
        self.labels = np.asarray(image)  # (S, S) uint8
        self.palette = np.array([GROUND_COLOURS[name] for name in GROUND_LABELS], dtype=np.float64)  # (4, 3)

    def label_at(self, xy: np.ndarray) -> np.ndarray:
        """Ground label (N,) at map points ``xy`` (N, 2); off the raster counts as off-road."""
        cols = np.floor(xy[:, 0] / self.resolution).astype(np.int64)
        rows = np.floor(xy[:, 1] / self.resolution).astype(np.int64)
        size = self.labels.shape[0]
        inside = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
        out = np.zeros(len(xy), dtype=np.uint8)
        out[inside] = self.labels[rows[inside], cols[inside]]
        return out


def camera_to_map(camera: Camera, ego_pose: np.ndarray) -> np.ndarray:
    """``(4, 4)`` camera-to-map transform for the ego at ``ego_pose`` (x, y, yaw), ground z = 0."""
    ego2map = np.eye(4)
    ego2map[:3, :3] = rotation_z(float(ego_pose[2]))
    ego2map[:2, 3] = ego_pose[:2]
    return ego2map @ camera.cam2ego


def _clip(polygon: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    """Keep the part of ``polygon`` (K, 3) where ``normal · p >= offset`` (Sutherland–Hodgman)."""
    if len(polygon) == 0:
        return polygon
    side = polygon @ normal - offset  # (K,)
    out = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if side[i] >= 0:
            out.append(polygon[i])
        if (side[i] >= 0) != (side[j] >= 0):
            t = side[i] / (side[i] - side[j])
            out.append(polygon[i] + t * (polygon[j] - polygon[i]))
    return np.array(out).reshape(-1, 3)


class Renderer:
    """Renders the world through a fixed set of cameras."""

    def __init__(self, network: RoadNetwork, cameras: list[Camera], texture: GroundTexture | None = None) -> None:
        self.texture = texture or GroundTexture(network)
        self.cameras = cameras
        self._rays = {}
        for camera in cameras:
            u, v = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
            pixels = np.stack([u, v, np.ones_like(u)], axis=-1).reshape(-1, 3)  # (H*W, 3)
            self._rays[camera.name] = pixels @ np.linalg.inv(camera.intrinsics).T  # (H*W, 3), z = 1
            fx, fy = camera.intrinsics[0, 0], camera.intrinsics[1, 1]
            cx, cy = camera.intrinsics[0, 2], camera.intrinsics[1, 2]
            margin = 2.0  # pixels of guard band around the image
            # Frustum side planes n · p >= 0 in camera coordinates, with the guard band.
            camera_planes = [
                np.array([fx, 0.0, cx + margin]),
                np.array([-fx, 0.0, camera.width - cx + margin]),
                np.array([0.0, fy, cy + margin]),
                np.array([0.0, -fy, camera.height - cy + margin]),
            ]
            self._rays[camera.name + "/planes"] = camera_planes

    def ground(self, camera: Camera, cam2map: np.ndarray) -> np.ndarray:
        """Ground and sky colours (H, W, 3) float."""
        rays = self._rays[camera.name] @ cam2map[:3, :3].T  # (H*W, 3) map-frame directions
        origin = cam2map[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(rays[:, 2] < -1e-9, -origin[2] / rays[:, 2], np.inf)  # (H*W,)
        hits = origin[:2] + np.where(np.isfinite(t), t, 0.0)[:, None] * rays[:, :2]  # (H*W, 2)
        distance = np.linalg.norm(hits - origin[:2], axis=1)
        ground = np.isfinite(t) & (distance < FAR)
        colours = np.tile(np.array(SKY_COLOUR, dtype=np.float64), (len(rays), 1))
        base = self.texture.palette[self.texture.label_at(hits[ground])]
        haze = np.clip(distance[ground] / HAZE_DISTANCE, 0.0, 0.6)[:, None]
        colours[ground] = base * (1 - haze) + np.array(SKY_COLOUR) * haze
        return colours.reshape(camera.height, camera.width, 3)

    def render(self, camera: Camera, ego_pose: np.ndarray, boxes: np.ndarray, categories: list[str]) -> np.ndarray:
        """Image (H, W, 3) uint8 of boxes (N, 7) = x, y, z, l, w, h, yaw (map frame, z = centre)."""
        cam2map = camera_to_map(camera, ego_pose)
        image = Image.fromarray(np.round(self.ground(camera, cam2map)).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        origin = cam2map[:3, 3]
        map2cam_rot = cam2map[:3, :3].T
        order = np.argsort(-np.linalg.norm(boxes[:, :3] - origin, axis=1)) if len(boxes) else []
        planes = self._rays[camera.name + "/planes"]
        unit_planes = [plane / np.linalg.norm(plane) for plane in planes] + [np.array([0.0, 0.0, 1.0])]
        centres = (boxes[:, :3] - origin) @ map2cam_rot.T if len(boxes) else np.zeros((0, 3))  # (N, 3) camera frame
        radii = 0.5 * np.linalg.norm(boxes[:, 3:6], axis=1) if len(boxes) else np.zeros(0)  # (N,)
        for i in order:
            if any(plane @ centres[i] < -radii[i] for plane in unit_planes) or centres[i, 2] > FAR:
                continue  # entirely outside the view
            x, y, z, length, width, height, yaw = boxes[i]
            rot = rotation_z(yaw)
            scale = np.array([length / 2, width / 2, height])
            bottom = np.array([x, y, z - height / 2])
            colour = np.array(OBJECT_CLASSES[categories[i]].colour, dtype=np.float64)
            for face, corners in _FACES.items():
                vertices = (np.array(corners) * scale) @ rot.T + bottom  # (4, 3) map
                normal = rot @ np.array(_NORMALS[face], dtype=np.float64)
                if normal @ (origin - vertices.sum(axis=0) / 4) <= 0:
                    continue  # faces away from the camera
                polygon = (vertices - origin) @ map2cam_rot.T  # (4, 3) camera frame
                polygon = _clip(polygon, np.array([0.0, 0.0, 1.0]), NEAR)
                for plane in planes:
                    polygon = _clip(polygon, plane, 0.0)
                if len(polygon) < 3:
                    continue
                pixels = polygon @ camera.intrinsics.T
                pixels = pixels[:, :2] / pixels[:, 2:3] - 0.5  # PIL addresses pixel centres
                fill = tuple(int(c) for c in np.round(colour * FACE_SHADES[face]))
                draw.polygon([tuple(p) for p in pixels], fill=fill)
        return np.asarray(image)
