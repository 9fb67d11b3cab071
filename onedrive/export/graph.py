"""Tensor-in / tensor-out wrappers around ``OneDriveForDriving``'s prefill and heads, for export.

``OneDriveForDriving.predict`` takes a ``DriveBatch`` and returns per-sample lists; an
exported graph needs plain tensors in and out and no Python decision on tensor values.
The model's own prefill validates its inputs with Python ``if``\\ s on tensor values
(``inputs.check_driving_inputs``, ``TokenLayout.build``) and finds image tokens with
``torch.nonzero`` (a data-dependent shape); neither can be captured by
``torch.export``. ``StructuredGraph`` therefore

* validates on the Python side, before tracing or running (``check_graph_inputs``),
* rebuilds the token layout with static shapes (every sample has exactly
  ``num_cameras × image_tokens_per_camera`` image tokens, found with ``topk``),
* routes tokens to their FFN through static per-type positions: while the graph runs,
  each task layer's ``routed_ffn`` (which skips empty groups with a Python ``if`` on a
  ``torch.nonzero`` count) is shadowed by a gather → FFN → scatter over the layout's
  known positions (``_static_routed_ffn``; the class method is restored afterwards),
* passes an explicit additive float mask ``(B, 1, L', L')`` to the language model
  (transformers returns a 4D mask as given), and
* reuses every module of the model (vision tower, projector, queries, 3D position
  encoders, mixed decoder layers, heads), so the weights and the arithmetic are the
  model's. Its outputs equal ``predict``'s (tested in tests/unit/export).

Decoding is batched: the top ``max_boxes`` (query, class) pairs and top ``max_lanes``
lanes by sigmoid score, as ``DetectionHead.decode`` / ``LaneHead.decode`` do per sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from onedrive.modeling.decoder import QueryRouting
from onedrive.modeling.heads.detection import decode_boxes
from onedrive.modeling.modeling_onedrive import OneDriveForDriving
from onedrive.modeling.position_3d import image_token_pixel_centres, normalise_points
from onedrive.modeling.tokens import TokenLayout, TokenType

GRAPH_INPUTS = ("pixel_values", "intrinsics", "cam2ego", "ego_status", "command", "input_ids", "attention_mask")
STRUCTURED_OUTPUTS = (
    "det_boxes",  # (B, K_box, 9) [x, y, z, l, w, h, yaw, vx, vy], ego frame
    "det_scores",  # (B, K_box) sigmoid scores, descending
    "det_labels",  # (B, K_box) int64 class index into task_config.det_classes
    "lane_points",  # (B, K_lane, P, 3)
    "lane_scores",  # (B, K_lane)
    "trajectory",  # (B, T, D) best mode of the given command
    "trajectory_modes",  # (B, M, T, D) every mode of the given command
    "mode_logits",  # (B, M)
)
PLANNING_OUTPUTS = ("trajectory", "trajectory_modes", "mode_logits")


def check_graph_inputs(config, inputs: dict[str, torch.Tensor]) -> None:
    """The checks the exported graph cannot make: shapes, dtypes, finite values, commands, image-token counts.

    ``inputs`` holds every name of ``GRAPH_INPUTS`` (torch tensors or numpy arrays).
    """
    missing = [name for name in GRAPH_INPUTS if name not in inputs]
    if missing:
        raise ValueError(f"graph inputs missing: {missing} (expected {list(GRAPH_INPUTS)})")
    values = {name: torch.as_tensor(inputs[name]) for name in GRAPH_INPUTS}
    task = config.task_config
    batch, length = values["input_ids"].shape
    tile = config.vision_config.image_size[0]
    tiles = batch * task.num_cameras * task.tiles_per_camera
    expected = {
        "pixel_values": (tiles, 3, tile, tile),
        "intrinsics": (batch, task.num_cameras, 3, 3),
        "cam2ego": (batch, task.num_cameras, 4, 4),
        "ego_status": (batch, task.ego_status_dim),
        "command": (batch,),
        "attention_mask": (batch, length),
    }
    for name, shape in expected.items():
        if tuple(values[name].shape) != shape:
            raise ValueError(f"{name} must have shape {shape} for batch {batch}, got {tuple(values[name].shape)}")
    for name in ("input_ids", "command", "attention_mask"):
        if values[name].dtype != torch.int64:
            raise ValueError(f"{name} must be int64, got {values[name].dtype}")
    for name in ("pixel_values", "intrinsics", "cam2ego", "ego_status"):
        if not values[name].is_floating_point() or not torch.isfinite(values[name]).all():
            raise ValueError(f"{name} must be finite floats, got dtype {values[name].dtype} with NaN/inf or not float")
    command = values["command"]
    if command.min() < 0 or command.max() >= task.num_commands:
        raise ValueError(f"command must be in [0, {task.num_commands - 1}], got {command.tolist()}")
    per_sample = (values["input_ids"] == config.image_token_id).sum(dim=1)  # (B,)
    wanted = task.num_cameras * config.image_tokens_per_camera
    if not bool((per_sample == wanted).all()):
        raise ValueError(
            f"each sample needs {wanted} image tokens (id {config.image_token_id}), got {per_sample.tolist()}"
        )


def invert_3x3(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) → inverse via the adjugate (ONNX has no matrix inverse op)."""
    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    d, e, f = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    g, h, i = matrix[..., 2, 0], matrix[..., 2, 1], matrix[..., 2, 2]
    cofactor_rows = [
        torch.stack([e * i - f * h, c * h - b * i, b * f - c * e], dim=-1),
        torch.stack([f * g - d * i, a * i - c * g, c * d - a * f], dim=-1),
        torch.stack([d * h - e * g, b * g - a * h, a * e - b * d], dim=-1),
    ]
    adjugate = torch.stack(cofactor_rows, dim=-2)  # (..., 3, 3)
    determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return adjugate / determinant[..., None, None]


def _static_routed_ffn(layer, groups: list[tuple[nn.Module, torch.Tensor]]):
    """``OneDriveDecoderLayer.routed_ffn`` over fixed positions: groups of (FFN, (B, n) positions) that cover L'."""

    def routed_ffn(hidden_states: torch.Tensor, token_types: torch.Tensor) -> torch.Tensor:
        out = hidden_states  # (B, L', H); every position is overwritten once (the groups partition L')
        for ffn, positions in groups:
            index = positions[..., None].expand(-1, -1, hidden_states.shape[-1])  # (B, n, H)
            out = out.scatter(1, index, ffn(hidden_states.gather(1, index)))
        return out

    return routed_ffn


class StructuredGraph(nn.Module):
    """``(pixel_values, intrinsics, cam2ego, ego_status, command, input_ids, attention_mask)`` → tensors.

    planning_only=False: ``STRUCTURED_OUTPUTS`` from the full prefill.
    planning_only=True: ``PLANNING_OUTPUTS``, stopping after the last task layer (``predict(tasks=("plan",))``).
    Inputs (``B`` samples, ``L`` prompt tokens, right padding):
      pixel_values (B·N_cam·T, 3, S, S); intrinsics (B, N_cam, 3, 3); cam2ego (B, N_cam, 4, 4);
      ego_status (B, E); command (B,) int64; input_ids (B, L) int64; attention_mask (B, L) int64.
    """

    def __init__(self, model: OneDriveForDriving, planning_only: bool = False):
        super().__init__()
        self.model = model
        self.planning_only = planning_only
        config = model.config
        task = config.task_config
        self.num_image_tokens = task.num_cameras * config.image_tokens_per_camera
        tile = config.vision_config.image_size[0]
        self.image_hw = (task.camera_tiles[0] * tile, task.camera_tiles[1] * tile)
        self.register_buffer("pixel_centres", image_token_pixel_centres(config, self.image_hw), persistent=False)

    @property
    def output_names(self) -> tuple[str, ...]:
        return PLANNING_OUTPUTS if self.planning_only else STRUCTURED_OUTPUTS

    def _layout(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[TokenLayout, torch.Tensor]:
        """``TokenLayout.build`` with static shapes → layout, image positions (B, N_img)."""
        task, config = self.model.config.task_config, self.model.config
        batch, length = input_ids.shape
        counts = (task.num_det_queries, task.num_lane_queries, task.num_plan_tokens)
        num_queries = sum(counts)
        positions = torch.arange(length, device=input_ids.device).expand(batch, length)  # (B, L)
        is_image = input_ids == config.image_token_id  # (B, L)
        # Distinct keys for image tokens, larger for earlier ones: top-k gives their positions in order.
        image_index = torch.topk(is_image.long() * (length - positions), self.num_image_tokens, dim=1).indices  # (B, N_img)
        insert_at = image_index[:, -1:] + 1  # (B, 1)
        source_index = positions + (positions >= insert_at).long() * num_queries  # (B, L)
        query_index = insert_at + torch.arange(num_queries, device=input_ids.device)  # (B, Q)
        total = length + num_queries
        token_types = torch.full((batch, total), int(TokenType.TEXT), dtype=torch.long, device=input_ids.device)
        token_types = token_types.scatter(1, source_index, is_image.long() * int(TokenType.IMAGE))
        query_types = torch.tensor(
            [int(TokenType.DET)] * counts[0] + [int(TokenType.LANE)] * counts[1] + [int(TokenType.PLAN)] * counts[2],
            device=input_ids.device,
        )
        token_types = token_types.scatter(1, query_index, query_types.expand(batch, num_queries))
        mask = torch.ones((batch, total), dtype=attention_mask.dtype, device=input_ids.device)
        mask = mask.scatter(1, source_index, attention_mask)  # (B, L')
        position_ids = (mask.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, L')
        layout = TokenLayout(token_types, mask, position_ids, source_index, query_index, *counts)
        return layout, image_index  # image tokens precede the queries: same positions in L'

    def _image_position(self, intrinsics: torch.Tensor, cam2ego: torch.Tensor):
        """``FrustumPositionEncoder.forward`` with an explicit 3×3 inverse → (B, N_img, H_q), (B, N_img, H_k)."""
        encoder = self.model.image_position
        intrinsics, cam2ego = intrinsics.float(), cam2ego.float()  # geometry in float32 whatever the model dtype
        centres = self.pixel_centres.to(intrinsics)  # (T_cam, 2)
        pixels = torch.cat([centres, torch.ones_like(centres[:, :1])], dim=-1)  # (T_cam, 3)
        rays = torch.einsum("bnij,tj->bnti", invert_3x3(intrinsics), pixels)  # (B, N_cam, T_cam, 3)
        points = rays[..., None, :] * encoder.depths().to(rays)[:, None]  # (B, N_cam, T_cam, D, 3)
        rotation, translation = cam2ego[..., :3, :3], cam2ego[..., :3, 3]
        points = torch.einsum("bnij,bntdj->bntdi", rotation, points) + translation[:, :, None, None, :]
        points = normalise_points(points, self.model.config.task_config.position_range)
        batch, cams, tokens = points.shape[:3]
        features = points.reshape(batch, cams * tokens, -1)  # (B, N_cam·T_cam, D·3)
        return encoder.head(features.to(encoder.head.to_query.weight.dtype))

    def _routing(self, layout: TokenLayout, image_index, intrinsics, cam2ego, embeds) -> QueryRouting:
        model = self.model
        batch, total = layout.token_types.shape
        image_q, image_k = self._image_position(intrinsics, cam2ego)
        det_q, det_k = model.det_position(model.queries.det_reference_points()[:, None, :])  # (N_det, ·)
        lane_q, lane_k = model.lane_position(model.queries.lane_reference_points())  # (N_lane, ·)
        placed = []
        for image_part, det_part, lane_part in ((image_q, det_q, lane_q), (image_k, det_k, lane_k)):
            width = image_part.shape[-1]
            values = embeds.new_zeros(batch, total, width)  # (B, L', ·)
            for index, part in ((image_index, image_part), (layout.det_index, det_part), (layout.lane_index, lane_part)):
                part = part.to(values.dtype).expand(batch, -1, -1)  # (B, n, ·)
                values = values.scatter(1, index[..., None].expand(-1, -1, width), part)
            placed.append(values)
        perception_position = torch.cat([det_q, lane_q], dim=0).expand(batch, -1, -1).to(embeds.dtype)
        return QueryRouting(layout.token_types, placed[0], placed[1], layout.perception_index, perception_position)

    @contextmanager
    def _static_routing(self, layout: TokenLayout) -> Iterator[None]:
        """Shadow every task layer's ``routed_ffn`` with the static-position version while the graph runs."""
        layers = [layer for layer in self.model.model.language_model.layers if layer.has_task_modules]
        for layer in layers:
            ffns = layer.query_ffns
            groups = [
                (layer.mlp, layout.source_index),  # prompt tokens (text, image, padding): the pretrained FFN
                (ffns["det"], layout.det_index),
                (ffns["lane"], layout.lane_index),
                (ffns["plan"], layout.plan_index),
            ]
            layer.routed_ffn = _static_routed_ffn(layer, groups)
        try:
            yield
        finally:
            for layer in layers:
                del layer.routed_ffn

    @staticmethod
    def _additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B, L') 1/0 → (B, 1, L', L') 0 where causal and not padding, the dtype's minimum elsewhere."""
        length = mask.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=mask.device).tril()  # (L', L')
        allowed = causal[None, None] & mask.bool()[:, None, None, :]  # (B, 1, L', L')
        return torch.zeros(allowed.shape, dtype=dtype, device=mask.device).masked_fill(~allowed, torch.finfo(dtype).min)

    def forward(self, pixel_values, intrinsics, cam2ego, ego_status, command, input_ids, attention_mask):
        model, config = self.model, self.model.config
        batch = input_ids.shape[0]
        torch._check(attention_mask.shape[1] == input_ids.shape[1])  # one sequence axis for the exporter
        layout, image_index = self._layout(input_ids, attention_mask)
        embeds = model.get_input_embeddings()(input_ids)  # (B, L, H)
        features = model.model.get_image_features(pixel_values=pixel_values).pooler_output  # (B·N_cam·T, t, H)
        features = features.reshape(batch, self.num_image_tokens, -1).to(embeds.dtype)  # (B, N_img, H)
        embeds = embeds.scatter(1, image_index[..., None].expand(-1, -1, embeds.shape[-1]), features)
        embeds = layout.scatter_inputs(embeds, model.queries(ego_status, command))  # (B, L', H)
        last_task_layer = config.task_layer_indices[-1]
        with self._static_routing(layout):
            output = model.model.language_model(
                inputs_embeds=embeds,
                attention_mask=self._additive_mask(layout.attention_mask, embeds.dtype),
                position_ids=layout.position_ids,
                routing=self._routing(layout, image_index, intrinsics, cam2ego, embeds),
                keep_layers=(last_task_layer,),
                stop_after_layer=last_task_layer if self.planning_only else None,
            )
        modes = model.plan_head(layout.gather(output.layer_states[last_task_layer], layout.plan_index), ego_status, command)
        best = modes.mode_logits.argmax(dim=1)[:, None, None, None]  # (B, 1, 1, 1); PlanningOutput.best without len()
        trajectory = modes.trajectories.gather(1, best.expand(-1, -1, *modes.trajectories.shape[2:])).squeeze(1)
        planning = (trajectory, modes.trajectories, modes.mode_logits)  # (B, T, D), (B, M, T, D), (B, M)
        if self.planning_only:
            return planning
        return self._decode_perception(layout, output.last_hidden_state) + planning

    def _decode_perception(self, layout: TokenLayout, hidden: torch.Tensor):
        model, task = self.model, self.model.config.task_config
        detection = model.det_head(layout.gather(hidden, layout.det_index), model.queries.det_reference_points())
        num_classes = detection.logits.shape[-1]
        scores = detection.logits.sigmoid().flatten(1)  # (B, N_det·C)
        det_scores, flat_index = scores.topk(min(task.max_boxes, scores.shape[1]), dim=1)  # (B, K)
        query = flat_index // num_classes
        codes = detection.codes.gather(1, query[..., None].expand(-1, -1, detection.codes.shape[-1]))  # (B, K, 10)
        lanes = model.lane_head(layout.gather(hidden, layout.lane_index), model.queries.lane_reference_points())
        lane_scores, lane_index = lanes.logits[..., 0].sigmoid().topk(min(task.max_lanes, lanes.logits.shape[1]), dim=1)
        points = lanes.points.gather(1, lane_index[..., None, None].expand(-1, -1, *lanes.points.shape[2:]))
        return decode_boxes(codes), det_scores, flat_index % num_classes, points, lane_scores
