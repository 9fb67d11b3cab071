"""Camera images of the synthetic world, rendered with numpy (no OpenGL).

Pixel convention (the one of nuScenes' intrinsics and ``OneDriveProcessor``): integer
image coordinates are pixel centres, so a 3D point projected with the recorded
intrinsics to ``(u, v)`` appears in pixel ``(round(u), round(v))``. Both passes below
sample the scene exactly at the pixel centres:

1. **Ground and sky by ray casting.** The ego stands on the flat ground z = 0 and the
   cameras are rigid on it, so the ray through each pixel centre hits the ground at a
   fixed point of the ego frame. Those points (and their haze) are computed once per
   camera (``GroundRays``); per frame they are moved by the ego pose and look up a
   bird's-eye raster of the ground (``GroundTexture``: off-road, sidewalk, road, lane
   markings at 0.1 m). Rays that do not reach the ground within ``FAR`` metres are sky.
2. **Boxes as shaded cuboids.** The side and top faces of every object that face the
   camera are computed for all boxes at once; boxes outside the view frustum are culled;
   faces crossing the near plane are clipped (Sutherland–Hodgman). Each face is filled
   in the class colour times the face shade (``classes.FACE_SHADES``) on exactly the
   pixels whose centres it covers (half-plane tests, ``fill_convex``), from the farthest
   object to the nearest (painter's algorithm; boxes never intersect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from onedrive.synthetic.cameras import Camera, rotation_z
from onedrive.synthetic.classes import FACE_SHADES, GROUND_COLOURS, OBJECT_CLASSES, SKY_COLOUR
from onedrive.synthetic.roads import RoadNetwork

FAR = 250.0  # metres beyond which the ground is not drawn
NEAR = 0.05  # near clipping plane, metres in front of the camera
HAZE_DISTANCE = 400.0
MAX_HAZE = 0.6
HAZE_LEVELS = 256

GROUND_LABELS = ("offroad", "sidewalk", "road", "marking")
FACE_NAMES = ("front", "back", "left", "right", "top")

# Unit-cube corners (x, y, z) in {-1, 1}² × {0, 1}: scaled by (l/2, w/2, h) they give a box.
_FACE_CORNERS = np.array(
    [
        [(1, 1, 0), (1, -1, 0), (1, -1, 1), (1, 1, 1)],  # front
        [(-1, -1, 0), (-1, 1, 0), (-1, 1, 1), (-1, -1, 1)],  # back
        [(-1, 1, 0), (1, 1, 0), (1, 1, 1), (-1, 1, 1)],  # left
        [(1, -1, 0), (-1, -1, 0), (-1, -1, 1), (1, -1, 1)],  # right
        [(1, 1, 1), (1, -1, 1), (-1, -1, 1), (-1, 1, 1)],  # top
    ],
    dtype=np.float64,
)  # (5, 4, 3)
_FACE_NORMALS = np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1)], dtype=np.float64)  # (5, 3)
_SHADES = np.array([FACE_SHADES[name] for name in FACE_NAMES])  # (5,)


class GroundTexture:
    """Bird's-eye raster of the ground classes (``GROUND_LABELS``), row 0 at y = 0.

    Cell (r, c) covers map x in [c, c + 1) · resolution and y in [r, r + 1) · resolution.
    """

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
        # The same raster with a border of off-road cells, so lookups can clip instead of mask.
        self._padded = np.pad(self.labels, 1)  # (S + 2, S + 2)
        self.palette = np.array([GROUND_COLOURS[name] for name in GROUND_LABELS], dtype=np.float32)  # (4, 3)

    def label_at(self, xy: np.ndarray) -> np.ndarray:
        """Ground label (N,) at map points ``xy`` (N, 2); off the raster counts as off-road."""
        cells = np.floor(xy / self.resolution)  # (N, 2) col, row
        np.clip(cells, -1, self.labels.shape[0], out=cells)
        cells = cells.astype(np.int32) + 1
        return self._padded[cells[:, 1], cells[:, 0]]


@dataclass(frozen=True)
class GroundRays:
    """Where the ray through each pixel centre of one camera meets the ground.

    pixels:  (G, 2) int (u, v) of the pixels that see the ground within ``FAR``.
    flat:    (G,) their row-major indices in the (H * W) image.
    points:  (G, 2) ego-frame x, y of the ground points they see.
    haze:    (G,) uint8 haze level, ``HAZE_LEVELS`` steps from 0 to ``MAX_HAZE``.
    """

    pixels: np.ndarray
    flat: np.ndarray
    points: np.ndarray
    haze: np.ndarray

    @classmethod
    def of(cls, camera: Camera) -> GroundRays:
        u, v = np.meshgrid(np.arange(camera.width), np.arange(camera.height))  # (H, W) each, pixel centres
        pixels = np.stack([u, v], axis=-1).reshape(-1, 2)  # (H*W, 2), row-major
        homogeneous = np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1).astype(np.float64)
        rays = homogeneous @ np.linalg.inv(camera.intrinsics).T @ camera.rotation.T  # (H*W, 3) ego directions
        origin = camera.translation  # (3,)
        down = rays[:, 2] < -1e-9
        t = np.where(down, -origin[2] / np.where(down, rays[:, 2], -1.0), np.inf)  # (H*W,)
        hits = origin[:2] + np.where(down, t, 0.0)[:, None] * rays[:, :2]  # (H*W, 2)
        distance = np.linalg.norm(hits - origin[:2], axis=1)
        ground = down & (distance < FAR)
        haze = np.clip(distance[ground] / HAZE_DISTANCE, 0.0, MAX_HAZE)
        level = np.round(haze / MAX_HAZE * (HAZE_LEVELS - 1)).astype(np.uint8)  # (G,)
        return cls(pixels[ground], np.flatnonzero(ground), hits[ground], level)


def ground_colour_table(palette: np.ndarray) -> np.ndarray:
    """(HAZE_LEVELS * 4, 3) uint8: ground class colours faded towards the sky, row = level * 4 + label."""
    haze = np.linspace(0.0, MAX_HAZE, HAZE_LEVELS)[:, None, None]  # (L, 1, 1)
    table = palette[None] * (1.0 - haze) + np.array(SKY_COLOUR, dtype=np.float64) * haze  # (L, 4, 3)
    return np.round(table).astype(np.uint8).reshape(-1, 3)


def fill_convex(image: np.ndarray, polygon: np.ndarray, colour: np.ndarray) -> None:
    """Set the pixels of ``image`` (H, W, 3) whose centres lie in the convex ``polygon`` (K, 2) (u, v).

    Pixel centres are the integer coordinates; a centre on an edge counts as inside.
    """
    height, width = image.shape[:2]
    u0, v0 = np.ceil(polygon.min(axis=0)).astype(np.int64)
    u1, v1 = np.floor(polygon.max(axis=0)).astype(np.int64)
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, width - 1), min(v1, height - 1)
    if u0 > u1 or v0 > v1:
        return
    following = np.concatenate([polygon[1:], polygon[:1]])  # (K, 2) next vertex of each edge
    area = float(np.sum(polygon[:, 0] * following[:, 1] - following[:, 0] * polygon[:, 1]))
    if abs(area) < 1e-12:
        return
    # Edge function of edge k at p: cross(edge_k, p - start_k) = a_k v + b_k u + c_k, signed so inside >= 0.
    edge = (following - polygon) * (1.0 if area > 0 else -1.0)  # (K, 2)
    a, b = edge[:, 0], -edge[:, 1]
    c = -(a * polygon[:, 1] + b * polygon[:, 0])
    vs = np.arange(v0, v1 + 1, dtype=np.float64)  # (h,)
    us = np.arange(u0, u1 + 1, dtype=np.float64)  # (w,)
    values = (a[:, None] * vs + c[:, None])[:, :, None] + (b[:, None] * us)[:, None, :]  # (K, h, w)
    inside = values.min(axis=0) >= -1e-9  # (h, w)
    image[v0 : v1 + 1, u0 : u1 + 1][inside] = colour


def _clip_near(polygon: np.ndarray) -> np.ndarray:
    """The part of ``polygon`` (K, 3) (camera frame) with z >= ``NEAR`` (Sutherland–Hodgman)."""
    side = polygon[:, 2] - NEAR  # (K,)
    out = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if side[i] >= 0:
            out.append(polygon[i])
        if (side[i] >= 0) != (side[j] >= 0):
            t = side[i] / (side[i] - side[j])
            out.append(polygon[i] + t * (polygon[j] - polygon[i]))
    return np.array(out).reshape(-1, 3)


def box_faces(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face vertices (N, 5, 4, 3) and outward normals (N, 5, 3) of boxes (N, 7) = x, y, z, l, w, h, yaw (z = centre)."""
    scale = np.stack([boxes[:, 3] / 2, boxes[:, 4] / 2, boxes[:, 5]], axis=-1)  # (N, 3)
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    rot = np.zeros((len(boxes), 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1], rot[:, 2, 2] = c, -s, s, c, 1.0
    bottom = boxes[:, :3] - np.stack([np.zeros(len(boxes)), np.zeros(len(boxes)), boxes[:, 5] / 2], axis=-1)
    local = _FACE_CORNERS[None] * scale[:, None, None, :]  # (N, 5, 4, 3)
    vertices = np.einsum("nij,nfkj->nfki", rot, local) + bottom[:, None, None, :]
    normals = np.einsum("nij,fj->nfi", rot, _FACE_NORMALS)  # (N, 5, 3)
    return vertices, normals


def camera_to_map(camera: Camera, ego_pose: np.ndarray) -> np.ndarray:
    """``(4, 4)`` camera-to-map transform for the ego at ``ego_pose`` (x, y, yaw), ground z = 0."""
    ego2map = np.eye(4)
    ego2map[:3, :3] = rotation_z(float(ego_pose[2]))
    ego2map[:2, 3] = ego_pose[:2]
    return ego2map @ camera.cam2ego


class Renderer:
    """Renders the world through a fixed set of cameras."""

    def __init__(self, network: RoadNetwork, cameras: list[Camera], texture: GroundTexture | None = None) -> None:
        self.texture = texture or GroundTexture(network)
        self.cameras = cameras
        self.rays = {camera.name: GroundRays.of(camera) for camera in cameras}
        self.colour_table = ground_colour_table(self.texture.palette)  # (HAZE_LEVELS * 4, 3)

    def ground(self, camera: Camera, ego_pose: np.ndarray) -> np.ndarray:
        """Ground and sky colours (H, W, 3) uint8 for the ego at ``ego_pose`` (x, y, yaw)."""
        rays = self.rays[camera.name]
        c, s = np.cos(ego_pose[2]), np.sin(ego_pose[2])
        points = rays.points @ np.array([[c, s], [-s, c]]) + ego_pose[:2]  # (G, 2) map frame
        rows = rays.haze.astype(np.int32) * len(GROUND_LABELS) + self.texture.label_at(points)  # (G,)
        image = np.empty((camera.height * camera.width, 3), dtype=np.uint8)
        image[:] = SKY_COLOUR
        image[rays.flat] = self.colour_table[rows]
        return image.reshape(camera.height, camera.width, 3)

    def render(
        self,
        camera: Camera,
        ego_pose: np.ndarray,
        boxes: np.ndarray,
        categories: list[str],
        faces: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Image (H, W, 3) uint8 of boxes (N, 7) = x, y, z, l, w, h, yaw (map frame, z = centre).

        ``faces``: ``box_faces(boxes)``, when the caller renders several cameras of one frame.
        """
        image = self.ground(camera, ego_pose)
        if len(boxes) == 0:
            return image
        vertices, normals = faces if faces is not None else box_faces(boxes)
        cam2map = camera_to_map(camera, ego_pose)
        origin, map2cam = cam2map[:3, 3], cam2map[:3, :3].T
        facing = np.einsum("nfi,nfi->nf", normals, origin - vertices.mean(axis=2)) > 0  # (N, 5)
        in_camera = (vertices - origin) @ map2cam.T  # (N, 5, 4, 3)
        corners = in_camera.reshape(len(boxes), -1, 3)  # (N, 20, 3)
        fx, fy = camera.intrinsics[0, 0], camera.intrinsics[1, 1]
        cx, cy = camera.intrinsics[0, 2], camera.intrinsics[1, 2]
        x, y, z = corners[..., 0], corners[..., 1], corners[..., 2]
        margin = 1.0  # pixels
        outside = (
            np.all(z < NEAR, axis=1)
            | np.all(fx * x + (cx + margin) * z < 0, axis=1)  # left of u = -margin
            | np.all(-fx * x + (camera.width - 1 - cx + margin) * z < 0, axis=1)  # right of u = W - 1 + margin
            | np.all(fy * y + (cy + margin) * z < 0, axis=1)
            | np.all(-fy * y + (camera.height - 1 - cy + margin) * z < 0, axis=1)
            | (((boxes[:, :3] - origin) @ map2cam.T)[:, 2] > FAR)
        )  # (N,)
        colours = np.array([OBJECT_CLASSES[name].colour for name in categories], dtype=np.float64)  # (N, 3)
        order = np.argsort(-np.linalg.norm(boxes[:, :3] - origin, axis=1), kind="stable")
        for i in order:
            if outside[i]:
                continue
            for f in np.flatnonzero(facing[i]):
                polygon = in_camera[i, f]  # (4, 3)
                if polygon[:, 2].min() < NEAR:
                    polygon = _clip_near(polygon)
                    if len(polygon) < 3:
                        continue
                pixels = polygon @ camera.intrinsics.T  # (K, 3)
                fill_convex(image, pixels[:, :2] / pixels[:, 2:3], np.round(colours[i] * _SHADES[f]).astype(np.uint8))
        return image
