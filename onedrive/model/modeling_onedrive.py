"""``OneDriveForDriving``: InternVL3 whose decoder also reads perception and planning queries.

    Z = [prefix | X_img | Q_det | Q_lane | Q_plan | text]

* ``forward(**batch)`` → losses (text; det, lane and plan supervised on every task layer, summed);
* ``predict(batch)`` → boxes, lanes, trajectory from one prefill that stops after the last
  task layer (in a causal decoder the queries cannot depend on later layers);
* ``generate(batch)`` → text from a prefill through every layer, continuing its KV cache,
  plus the structured outputs of the same prefill (read at the last task layer).
With no driving inputs (no camera, ego status, command) no query is inserted and the
model computes what ``InternVLForConditionalGeneration`` computes.

Each entry point first runs ``inputs.validate_inputs`` (every Python check on tensor
values), then the traceable core ``token_layout`` → ``prefill`` → ``prediction_heads``:
static shapes, no Python decision on tensor values, so ``onedrive.export.graph`` exports
that same code.

With a temporal memory (``task_config.memory_size > 0``, ``model/streaming.py``) every entry
point also takes and returns the memory state: the batch's stream fields (scene tokens,
timestamps, ego poses) decide per batch slot whether the state continues or resets, the
aligned memory enters the prefill as propagated queries and query self-attention keys, and
the last task layer's best queries update it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.models.internvl.modeling_internvl import InternVLModel, InternVLMultiModalProjector

from onedrive.errors import InputError
from onedrive.model.azimuth_prior import AzimuthPrior, rig_centre
from onedrive.model.configuration_onedrive import OneDriveConfig
from onedrive.model.decoder import LanguageModelOutput, OneDriveLanguageModel, QueryRouting
from onedrive.model.heads.detection import DetectionHead, DetectionOutput
from onedrive.model.heads.lane import LaneHead, LaneOutput
from onedrive.model.heads.official_planning import OfficialPlanningHead, PlanningOutput
from onedrive.model.initial_values import restore_initial_values
from onedrive.model.inputs import validate_inputs
from onedrive.model.memory import QueryMemory
from onedrive.model.outputs import DriveGenerateOutput, DrivePrediction, OneDriveOutput
from onedrive.model.position_3d import FrustumPositionEncoder, ReferencePointEncoder, denormalise_points
from onedrive.model.pretrained_source import check_pretrained_source
from onedrive.model.queries import DrivingQueries
from onedrive.model.query_groups import PERCEPTION, query_groups
from onedrive.model.streaming import AlignedMemory, StreamingMemory
from onedrive.model.tied_embeddings import INPUT_EMBEDDINGS, LM_HEAD, embeddings_tied
from onedrive.model.tokens import TokenLayout, left_align
from onedrive.schema import IGNORE_INDEX, CameraGeometry, DriveBatch, DriveTargets


class OneDrivePreTrainedModel(PreTrainedModel):
    config_class = OneDriveConfig
    config: OneDriveConfig
    base_model_prefix = "model"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["OneDriveDecoderLayer", "InternVLVisionLayer"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_attention_backend = True

    def _init_weights(self, module):
        super()._init_weights(module)
        restore_initial_values(module)  # zero-started projections, focal priors (initial_values.py)
        if isinstance(module, DrivingQueries):
            module.restore()  # raw query parameters a checkpoint did not hold


class OneDriveModel(InternVLModel):
    """InternVL's vision tower and projector with ``OneDriveLanguageModel`` as the LLM.

    ``InternVLModel.__init__`` would build a plain Qwen2 LLM first; building the three
    parts here avoids constructing the LLM twice. Parameter names equal InternVL's.
    """

    def __init__(self, config: OneDriveConfig):
        OneDrivePreTrainedModel.__init__(self, config)
        self.vision_tower = AutoModel.from_config(config.vision_config)
        self.multi_modal_projector = InternVLMultiModalProjector(config)
        names = tuple(group.name for group in query_groups(config.task_config))
        self.language_model = OneDriveLanguageModel(config.text_config, config.task_layer_indices, names)
        self.post_init()


class OneDriveForDriving(OneDrivePreTrainedModel):
    _tied_weights_keys = {LM_HEAD: INPUT_EMBEDDINGS}  # when config.tie_word_embeddings (tied_embeddings.py)

    def __init__(self, config: OneDriveConfig):
        super().__init__(config)
        task = config.task_config
        hidden = config.text_config.hidden_size
        self.model = OneDriveModel(config)
        self.lm_head = nn.Linear(hidden, config.text_config.vocab_size, bias=False)
        self.queries = DrivingQueries(config)
        self.image_position = FrustumPositionEncoder(config)
        self.det_position = ReferencePointEncoder(1, config)
        self.lane_position = ReferencePointEncoder(task.lane_points, config)
        self.azimuth_prior = AzimuthPrior(config) if task.azimuth_prior_logit > 0 else None
        self.det_head = DetectionHead(hidden, task)
        self.lane_head = LaneHead(hidden, task)
        self.plan_head = OfficialPlanningHead(hidden, task)
        self.stream_memory = StreamingMemory(config) if task.memory_size > 0 else None
        self.post_init()

    @classmethod
    def from_internvl(cls, *args, **kwargs) -> OneDriveForDriving:
        """Build from an InternVL3 checkpoint (hub id or local folder); see ``internvl_weights.from_internvl``."""
        from onedrive.model.internvl_weights import from_internvl

        return from_internvl(cls, *args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """transformers' ``from_pretrained``, after ``pretrained_source`` checked a local folder.

        A path that does not exist, a folder of another model type or a truncated weight file
        raises ``InputError`` naming it; a hub repository id goes to transformers as is. The
        loaded config's ``tie_word_embeddings`` states what transformers did: it keeps the LM
        head apart when the folder holds both tensors with different values.
        """
        check_pretrained_source(
            pretrained_model_name_or_path,
            cls.config_class.model_type,
            "a OneDrive model",
            subfolder=kwargs.get("subfolder", ""),
            check_config=kwargs.get("config") is None,
        )
        loaded = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        model.config.tie_word_embeddings = embeddings_tied(model)
        return loaded

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    # ----------------------------------------------------------------- parameter groups
    def parameter_groups(self) -> dict[str, list[str]]:
        """Every parameter name (as ``named_parameters`` gives it) in exactly one group, by the module owning it.

        ``vit`` the vision tower, ``projector`` the MLP projector, ``embeddings`` the input embeddings and LM head,
        ``llm`` the rest of the language model (peft's LoRA tensors included), ``task_modules:<family>`` the task
        layers' query self-attention (perception) and each query group's FFN, ``heads:<family>`` the queries,
        position encoders and heads of each query group; ``<family>`` is the group's family in
        ``query_groups.query_groups`` (the recipe's stages train by family, the optimiser by kind).
        """
        language_model = self.model.language_model
        owners: list[tuple[str, list[nn.Module | nn.Parameter]]] = [
            ("vit", [self.model.vision_tower]),
            ("projector", [self.model.multi_modal_projector]),
            ("embeddings", [language_model.embed_tokens, self.lm_head]),
            ("heads:" + PERCEPTION, [self.image_position]),
        ]
        if self.azimuth_prior is not None:
            owners.append(("heads:" + PERCEPTION, [self.azimuth_prior]))
        if self.stream_memory is not None:
            owners.append(("heads:" + PERCEPTION, [self.stream_memory]))
        task_layers = [layer for layer in language_model.layers if layer.has_task_modules]
        owners.append(("task_modules:" + PERCEPTION, [layer.query_self_attn for layer in task_layers]))
        queries, heads = self.queries.group_parts(), self._group_heads()
        for group in query_groups(self.config.task_config):
            owners.append(("task_modules:" + group.family, [layer.query_ffns[group.name] for layer in task_layers]))
            owners.append(("heads:" + group.family, [*queries[group.name], *heads[group.name]]))
        owners.append(("llm", [language_model]))  # last: what no group above claimed
        group_of: dict[int, str] = {}
        for name, parts in owners:
            for part in parts:
                for parameter in [part] if isinstance(part, nn.Parameter) else part.parameters():
                    group_of.setdefault(id(parameter), name)
        groups: dict[str, list[str]] = {}
        for name, parameter in self.named_parameters():
            if id(parameter) not in group_of:
                raise ValueError(f"parameter {name!r} belongs to no group of OneDriveForDriving.parameter_groups")
            groups.setdefault(group_of[id(parameter)], []).append(name)
        return groups

    def _group_heads(self) -> dict[str, list[nn.Module]]:
        """The position encoders and heads each query group owns."""
        positions = {"det": [self.det_position], "lane": [self.lane_position], "plan": []}
        return {name: [*positions[name], head] for name, head in self._query_heads().items()}

    def _query_heads(self) -> dict[str, nn.Module]:
        """{query group: its head}."""
        return {"det": self.det_head, "lane": self.lane_head, "plan": self.plan_head}

    # ----------------------------------------------------------------- prefill
    def _prefill(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None,
        camera: CameraGeometry | None,
        ego_status: torch.Tensor | None,
        command: torch.Tensor | None,
        driving: bool,
        use_cache: bool = False,
        stop_after_layer: int | None = None,
        ego_history: torch.Tensor | None = None,
        memory: dict[str, AlignedMemory] | None = None,
    ) -> tuple[TokenLayout, LanguageModelOutput]:
        """The traceable core on inputs that passed ``validate_inputs``: ``token_layout`` → ``prefill``."""
        layout = self.token_layout(input_ids, attention_mask, driving)
        output = self.prefill(
            layout,
            input_ids,
            pixel_values,
            camera,
            ego_status,
            command,
            use_cache=use_cache,
            stop_after_layer=stop_after_layer,
            ego_history=ego_history,
            memory=memory,
        )
        return layout, output

    def token_layout(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, driving: bool) -> TokenLayout:
        """Layout of the expanded sequence: with driving inputs, the query slots and the image-token positions.

        Part of the traceable core: inputs already checked by ``inputs.validate_inputs``.
        """
        config, task = self.config, self.config.task_config
        if not driving:
            return TokenLayout.build(input_ids, attention_mask, config.image_token_id)
        return TokenLayout.build(
            input_ids,
            attention_mask,
            config.image_token_id,
            tuple((group.name, group.count) for group in query_groups(task)),
            num_image_tokens=task.num_cameras * config.image_tokens_per_camera,
        )

    def prefill(
        self,
        layout: TokenLayout,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None,
        camera: CameraGeometry | None,
        ego_status: torch.Tensor | None,
        command: torch.Tensor | None,
        causal_mask: torch.Tensor | None = None,
        use_cache: bool = False,
        stop_after_layer: int | None = None,
        ego_history: torch.Tensor | None = None,
        memory: dict[str, AlignedMemory] | None = None,
    ) -> LanguageModelOutput:
        """The traceable core of every pass: embeddings, query slots, 3D routing, the mixed decoder.

        Static shapes and no Python decision on tensor values, so ``torch.export`` captures it
        as is (``onedrive.export.graph``); the inputs must have passed ``inputs.validate_inputs``.
        ``layout`` comes from ``token_layout`` (queries present ⇔ driving inputs given).
        ``causal_mask``: a prepared additive (B, 1, L', L') mask used instead of the layout's
        (B, L') padding mask (transformers passes a 4D mask through unchanged).
        ``ego_history`` (B, 2, 10): read by the planning queries' ego token (required with driving inputs).
        ``memory``: the temporal memory aligned to this frame (``StreamingMemory.align``; with a memory only).
        """
        config = self.config
        driving = layout.num_queries > 0
        embeds = self.get_input_embeddings()(input_ids)  # (B, L, H)
        if pixel_values is not None and pixel_values.shape[0]:
            image_features = self.model.get_image_features(pixel_values=pixel_values).pooler_output  # (N_tiles, t, H)
            image_mask = (input_ids == config.image_token_id)[..., None]  # (B, L, 1)
            embeds = embeds.masked_scatter(image_mask, image_features.to(embeds.dtype))
        routing = None
        if driving:
            propagated = None if memory is None else {name: part.propagated for name, part in memory.items()}
            queries = self.queries(ego_status, command.long(), ego_history, propagated)
            embeds = layout.scatter_inputs(embeds, queries)  # (B, L', H)
            routing = self._routing(layout, camera, embeds, memory)
        return self.model.language_model(
            inputs_embeds=embeds,
            attention_mask=layout.attention_mask if causal_mask is None else causal_mask,
            position_ids=layout.position_ids,
            use_cache=use_cache,
            routing=routing,
            keep_layers=tuple(config.task_layer_indices) if driving else (),
            stop_after_layer=stop_after_layer,
        )

    def reference_points(self, memory: dict[str, AlignedMemory] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised reference points of the det and lane queries: (N_det, 3) and (N_lane, P, 3); with a memory
        the propagated queries' follow, per sample: (B, N_det + K, 3) and (B, N_lane + K, P, 3)."""
        det, lane = self.queries.det_reference_points(), self.queries.lane_reference_points()
        if memory is None:
            return det, lane
        batch = memory["det"].propagated.shape[0]
        det = torch.cat([det.expand(batch, -1, -1), memory["det"].propagated_reference[:, :, 0].to(det)], dim=1)
        lane = torch.cat([lane.expand(batch, -1, -1, -1), memory["lane"].propagated_reference.to(lane)], dim=1)
        return det, lane

    def _routing(
        self,
        layout: TokenLayout,
        camera: CameraGeometry,
        embeds: torch.Tensor,
        memory: dict[str, AlignedMemory] | None = None,
    ) -> QueryRouting:
        """3D embeddings placed at the image tokens (frustum) and perception queries (reference points)."""
        batch, length = layout.attention_mask.shape
        # Geometry in float32 whatever the model dtype (a bf16 matrix inverse is too coarse).
        frustum = self.image_position.frustum_points(camera.intrinsics.float(), camera.cam2ego.float(), camera.image_hw)
        image_q, image_k = self.image_position(frustum)  # (B, N_img, ·)
        det_reference, lane_reference = self.reference_points(memory)  # normalised, see reference_points
        det_q, det_k = (part.expand(batch, -1, -1) for part in self.det_position(det_reference[..., None, :]))
        lane_q, lane_k = (part.expand(batch, -1, -1) for part in self.lane_position(lane_reference))
        if self.azimuth_prior is not None:
            centre = rig_centre(camera.cam2ego.float())  # (B, 2)
            image_k = image_k + self.azimuth_prior.keys(frustum, centre).to(image_k)
            det_metres = denormalise_points(det_reference.float(), self.config.task_config.position_range)
            det_q = det_q + self.azimuth_prior.queries(det_metres, centre).to(det_q)
        reference = {"det": (det_q, det_k), "lane": (lane_q, lane_k)}  # (B, N_group, ·) per perception group
        perception = tuple(group.name for group in query_groups(self.config.task_config) if group.perception)
        group_index = {name: layout.group_index(name) for name, _ in layout.groups}
        positions = torch.cat([layout.image_index, *(group_index[name] for name in perception)], dim=1)
        placed = []
        for part, image_part in enumerate((image_q, image_k)):
            parts = [image_part, *(reference[name][part] for name in perception)]
            parts = torch.cat(parts, dim=1).to(embeds.dtype)  # (B, N_img + N_p, ·)
            index = positions[..., None].expand(-1, -1, parts.shape[-1])
            placed.append(embeds.new_zeros(batch, length, parts.shape[-1]).scatter(1, index, parts))  # (B, L', ·)
        perception_position = torch.cat([reference[name][0] for name in perception], dim=1).to(embeds.dtype)
        routing = QueryRouting(
            placed[0], placed[1], layout.source_index, group_index, perception, perception_position
        )  # perception_position (B, N_p, heads × head_dim)
        if memory is not None:
            encoders = {"det": self.det_position, "lane": self.lane_position}
            routing.memory_keys = torch.cat([memory[name].keys for name in perception], dim=1).to(embeds.dtype)
            routing.memory_position = torch.cat(
                [encoders[name](memory[name].key_reference)[0] for name in perception], dim=1
            ).to(embeds.dtype)  # (B, M', heads × head_dim)
            routing.memory_valid = torch.cat([memory[name].key_valid for name in perception], dim=1)  # (B, M')
        return routing

    # ----------------------------------------------------------------- training
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        camera: CameraGeometry | None = None,
        ego_status: torch.Tensor | None = None,
        command: torch.Tensor | None = None,
        targets: DriveTargets | None = None,
        ego_history: torch.Tensor | None = None,
        scene_tokens: list[str] | None = None,
        timestamps: torch.Tensor | None = None,
        ego_to_global: torch.Tensor | None = None,
        memory: QueryMemory | None = None,
    ) -> OneDriveOutput:
        """Inputs as in ``onedrive.schema.DriveBatch``; losses for every family whose targets are given.

        ``memory``: the state a previous call returned (``output.memory``), or None to start every slot afresh;
        used only by a model with a temporal memory, which then needs the stream fields.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        driving = validate_inputs(
            self.config, input_ids, attention_mask, pixel_values, camera, ego_status, command, ego_history
        )
        stream = (scene_tokens, timestamps, ego_to_global)
        keep, aligned = self._align_memory(memory, stream, input_ids.shape[0]) if driving else (None, None)
        layout, output = self._prefill(
            input_ids,
            attention_mask,
            pixel_values,
            camera,
            ego_status,
            command,
            driving,
            ego_history=ego_history,
            memory=aligned,
        )
        hidden = output.last_hidden_state  # (B, L', H)
        losses: dict[str, torch.Tensor] = {}
        logits = None
        if labels is not None:
            losses["text"] = self.config.task_config.text_weight * self._text_loss(hidden, layout, labels)
        else:
            logits = self.lm_head(hidden)  # (B, L', V)

        detection = lanes = planning = next_memory = None
        if driving:
            detection, lanes, planning = self._heads(
                layout, output, ego_status, command.long(), ego_history=ego_history, memory=aligned
            )
            if targets is not None:
                outputs = {"det": detection, "lane": lanes, "plan": planning}
                losses.update(self._task_losses(outputs, targets))
            if aligned is not None:
                last = self.last_task_layer
                next_memory = self._next_memory(memory, keep, stream, layout, output, detection[last], lanes[last])
        loss = sum(losses.values()) if losses else None
        return OneDriveOutput(loss, losses or None, logits, detection, lanes, planning, next_memory)

    # ----------------------------------------------------------------- temporal memory
    def _align_memory(
        self, memory: QueryMemory | None, stream: tuple, batch: int
    ) -> tuple[torch.Tensor | None, dict[str, AlignedMemory] | None]:
        """(B,) slots that continue their stream and the memory aligned to this frame; (None, None) without a
        temporal memory. ``stream``: (scene tokens, timestamps (B,) s, ego→global poses (B, 4, 4))."""
        if self.stream_memory is None:
            if memory is not None:
                raise InputError("got a memory state, but this model has no temporal memory (memory_size is 0)")
            return None, None
        scene_tokens, timestamps, ego_to_global = stream
        if scene_tokens is None or timestamps is None or ego_to_global is None:
            raise InputError(
                "a model with a temporal memory (task_config.memory_size > 0) needs the batch's scene_tokens, "
                "timestamps and ego_to_global (DriveDataset fills them from the info records)"
            )
        if len(scene_tokens) != batch or timestamps.shape != (batch,) or ego_to_global.shape != (batch, 4, 4):
            raise InputError(
                f"stream fields for batch {batch}: expected {batch} scene tokens, timestamps ({batch},) and "
                f"ego_to_global ({batch}, 4, 4), got {len(scene_tokens)}, {tuple(timestamps.shape)} and "
                f"{tuple(ego_to_global.shape)}"
            )
        return self.stream_memory.align(memory, list(scene_tokens), timestamps, ego_to_global, self.dtype)

    def _next_memory(
        self,
        memory: QueryMemory | None,
        keep: torch.Tensor,
        stream: tuple,
        layout: TokenLayout,
        output: LanguageModelOutput,
        detection: DetectionOutput,
        lanes: LaneOutput,
    ) -> QueryMemory:
        """The memory after this frame, from the last task layer's det / lane query states and head outputs."""
        return self.stream_memory.update(memory, keep, self.memory_frame(layout, output, detection, lanes), *stream)

    def memory_frame(
        self, layout: TokenLayout, output: LanguageModelOutput, detection: DetectionOutput, lanes: LaneOutput
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """What the memory keeps of this frame (``StreamingMemory.update``'s ``frame``): per group the last task
        layer's query states (B, N, H), scores (B, N) and predicted positions (B, N, P, 3). Traceable."""
        states = output.layer_states[self.last_task_layer]  # (B, L', H)
        return {
            "det": (
                layout.gather(states, layout.group_index("det")),
                detection.logits.sigmoid().amax(dim=-1),  # (B, N_det + K) best class
                detection.codes[..., None, :3],  # (B, N_det + K, 1, 3) box centres
            ),
            "lane": (layout.gather(states, layout.group_index("lane")), lanes.logits[..., 0].sigmoid(), lanes.points),
        }

    def _heads(
        self, layout: TokenLayout, output: LanguageModelOutput, ego_status, command, ego_history=None, memory=None
    ):
        """Every head on every task layer (deep supervision) → three {task layer: raw head output} dicts."""
        per_layer = {
            index: self.heads_on(layout, states, ego_status, command, ego_history=ego_history, memory=memory)
            for index, states in output.layer_states.items()
        }
        return tuple({index: outputs[part] for index, outputs in per_layer.items()} for part in range(3))

    def _task_losses(self, outputs: dict[str, dict], targets: DriveTargets) -> dict[str, torch.Tensor]:
        """outputs {query group: {task layer: raw head output}} → each group's head losses summed over the task
        layers with weight 1 each (the official release sums every decoder layer's loss), times its family's
        weight (``task_config.<family>_weight``); a group whose targets the batch lacks adds none."""
        task = self.config.task_config
        heads, wanted = self._query_heads(), self._head_targets(targets)
        losses = {}
        for group in query_groups(task):
            if wanted[group.name] is None:
                continue
            weight = getattr(task, f"{group.family}_weight")
            per_layer = [heads[group.name].loss(out, *wanted[group.name]) for out in outputs[group.name].values()]
            for name in per_layer[0]:
                losses[name] = weight * torch.stack([layer[name] for layer in per_layer]).sum()
        return losses

    @staticmethod
    def _head_targets(targets: DriveTargets) -> dict[str, tuple | None]:
        """{query group: the target arguments of its head's ``loss``}, ``None`` when the batch has none."""
        return {
            "det": (targets.boxes, targets.labels) if targets.boxes else None,
            "lane": (targets.lanes,) if targets.lanes else None,
            "plan": (targets.trajectory, targets.trajectory_mask) if targets.trajectory is not None else None,
        }

    def _text_loss(self, hidden: torch.Tensor, layout: TokenLayout, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on answer tokens: mean over each sample's tokens, then over samples with any."""
        expanded = layout.scatter_inputs(labels, None, fill=IGNORE_INDEX)  # (B, L')
        shifted = expanded[:, 1:]  # (B, L'-1) the token each position predicts
        rows, cols = torch.nonzero(shifted != IGNORE_INDEX, as_tuple=True)
        if rows.numel() == 0:
            return hidden.sum() * 0.0
        logits = self.lm_head(hidden[rows, cols]).float()  # (n, V): answer positions only
        per_token = F.cross_entropy(logits, shifted[rows, cols], reduction="none")  # (n,)
        batch = hidden.shape[0]
        sums = per_token.new_zeros(batch).index_add(0, rows, per_token)
        counts = per_token.new_zeros(batch).index_add(0, rows, torch.ones_like(per_token))
        has_answer = counts > 0
        return (sums[has_answer] / counts[has_answer]).mean()

    # ----------------------------------------------------------------- inference
    @property
    def last_task_layer(self) -> int:
        """The decoder layer whose query states give the structured predictions (where ``predict`` stops)."""
        return self.config.task_layer_indices[-1]

    def heads_on(
        self,
        layout: TokenLayout,
        states: torch.Tensor,
        ego_status: torch.Tensor,
        command: torch.Tensor,
        tasks: tuple[str, ...] = ("det", "lane", "plan"),
        ego_history: torch.Tensor | None = None,
        memory: dict[str, AlignedMemory] | None = None,
    ) -> tuple[DetectionOutput | None, LaneOutput | None, PlanningOutput | None]:
        """Raw head outputs of one layer's (normed) states (B, L', H); ``None`` for a task not asked for.
        ``memory``: the aligned memory of the prefill (its propagated queries' reference points)."""
        detection = lanes = planning = None
        det_reference, lane_reference = self.reference_points(memory)
        if "det" in tasks:
            detection = self.det_head(layout.gather(states, layout.group_index("det")), det_reference)
        if "lane" in tasks:
            lanes = self.lane_head(layout.gather(states, layout.group_index("lane")), lane_reference)
        if "plan" in tasks:
            plan_states = layout.gather(states, layout.group_index("plan"))  # (B, N_plan, H)
            planning = self.plan_head(plan_states, ego_status, command, ego_history)
        return detection, lanes, planning

    def prediction_heads(
        self,
        layout: TokenLayout,
        output: LanguageModelOutput,
        ego_status: torch.Tensor,
        command: torch.Tensor,
        tasks: tuple[str, ...] = ("det", "lane", "plan"),
        ego_history: torch.Tensor | None = None,
        memory: dict[str, AlignedMemory] | None = None,
    ) -> tuple[DetectionOutput | None, LaneOutput | None, PlanningOutput | None]:
        """Raw head outputs of one prefill for inference, all on the last task layer; ``None`` for a task not
        asked for. Traceable."""
        states = output.layer_states[self.last_task_layer]
        return self.heads_on(layout, states, ego_status, command, tasks, ego_history=ego_history, memory=memory)

    def _decode_prediction(
        self, layout, output, ego_status, command, tasks, ego_history, memory=None, keep=None, aligned=None, stream=None
    ) -> DrivePrediction:
        """Decoded outputs of ``tasks``; with a temporal memory (``aligned`` given: ``_align_memory``'s result,
        the state it aligned and the stream fields) also the next state, for which the det and lane heads run."""
        asked = tasks if aligned is None else tuple(sorted(set(tasks) | {"det", "lane"}))
        detection, lanes, modes = self.prediction_heads(
            layout, output, ego_status, command, asked, ego_history=ego_history, memory=aligned
        )
        prediction = DrivePrediction()
        if aligned is not None:
            prediction.memory = self._next_memory(memory, keep, stream, layout, output, detection, lanes)
            detection = detection if "det" in tasks else None
            lanes = lanes if "lane" in tasks else None
        if detection is not None:
            prediction.detections = self.det_head.decode(detection)
        if lanes is not None:
            prediction.lanes = self.lane_head.decode(lanes)
        if modes is not None:
            prediction.trajectory, prediction.trajectory_modes = modes.best(), modes
        return prediction

    @torch.no_grad()
    def predict(
        self, batch: DriveBatch, tasks: tuple[str, ...] = ("det", "lane", "plan"), memory: QueryMemory | None = None
    ) -> DrivePrediction:
        """Boxes, lanes and trajectory (``tasks``: which of them) from one prefill that runs the decoder up to
        the last task layer only; they equal the full pass's heads at that layer.

        With a temporal memory: ``memory`` is the state the previous call returned (``prediction.memory``) or None,
        and the returned prediction carries the next one; ``tools/eval.py`` walks each scene in order that way."""
        _check_batch(batch, "predict")
        unknown = set(tasks) - {"det", "lane", "plan"}
        if unknown or not tasks:
            raise ValueError(f"tasks must be a non-empty subset of ('det', 'lane', 'plan'), got {tasks}")
        mask = batch.attention_mask if batch.attention_mask is not None else torch.ones_like(batch.input_ids)
        inputs = (batch.input_ids, mask, batch.pixel_values, batch.camera, batch.ego_status, batch.command)
        if not validate_inputs(self.config, *inputs, batch.ego_history):
            raise ValueError("predict needs the driving inputs camera, ego_status and command in the batch")
        stream = (batch.scene_tokens or None, batch.timestamps, batch.ego_to_global)
        keep, aligned = self._align_memory(memory, stream, batch.input_ids.shape[0])
        layout, output = self._prefill(
            *inputs,
            driving=True,
            stop_after_layer=self.last_task_layer,
            ego_history=batch.ego_history,
            memory=aligned,
        )
        command = batch.command.long()
        return self._decode_prediction(
            layout, output, batch.ego_status, command, tasks, batch.ego_history, memory, keep, aligned, stream
        )

    @torch.no_grad()
    def generate(
        self,
        batch: DriveBatch,
        max_new_tokens: int = 64,
        eos_token_id: int | None = None,
        pad_token_id: int | None = None,
        tasks: tuple[str, ...] = ("det", "lane", "plan"),
        memory: QueryMemory | None = None,
    ) -> DriveGenerateOutput:
        """Greedy text after the prompt, continuing the one prefill's KV cache.

        The batch is re-padded on the left so every sample continues at the same step.
        With driving inputs, the structured outputs of that same prefill are returned too (with a temporal
        memory, ``memory`` in and ``prediction.memory`` out as in ``predict``).
        """
        _check_batch(batch, "generate")
        pad = pad_token_id if pad_token_id is not None else (self.config.text_config.pad_token_id or 0)
        eos = eos_token_id if eos_token_id is not None else self.config.text_config.eos_token_id
        mask = batch.attention_mask if batch.attention_mask is not None else torch.ones_like(batch.input_ids)
        driving = validate_inputs(
            self.config,
            batch.input_ids,
            mask,
            batch.pixel_values,
            batch.camera,
            batch.ego_status,
            batch.command,
            batch.ego_history,
        )
        input_ids, attention_mask = left_align(batch.input_ids, mask, pad)
        stream = (batch.scene_tokens or None, batch.timestamps, batch.ego_to_global)
        keep, aligned = self._align_memory(memory, stream, input_ids.shape[0]) if driving else (None, None)
        layout, output = self._prefill(
            input_ids,
            attention_mask,
            batch.pixel_values,
            batch.camera,
            batch.ego_status,
            batch.command,
            driving,
            use_cache=True,
            ego_history=batch.ego_history,
            memory=aligned,
        )
        prediction = None
        if driving:
            command = batch.command.long()
            prediction = self._decode_prediction(
                layout, output, batch.ego_status, command, tasks, batch.ego_history, memory, keep, aligned, stream
            )
        cache, mask = output.past_key_values, layout.attention_mask
        positions = layout.position_ids[:, -1:]  # (B, 1)
        next_token = self.lm_head(output.last_hidden_state[:, -1]).argmax(dim=-1)  # (B,)
        finished = torch.zeros_like(next_token, dtype=torch.bool)
        generated = []
        for _ in range(max_new_tokens):
            next_token = torch.where(finished, torch.full_like(next_token, pad), next_token)
            generated.append(next_token)
            if eos is not None:
                finished |= next_token == eos
            if bool(finished.all()) or len(generated) == max_new_tokens:
                break
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
            positions = positions + 1
            step = self.model.language_model(
                inputs_embeds=self.get_input_embeddings()(next_token[:, None]),
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
            next_token = self.lm_head(step.last_hidden_state[:, -1]).argmax(dim=-1)
        sequences = torch.stack(generated, dim=1) if generated else input_ids.new_zeros(input_ids.shape[0], 0)
        return DriveGenerateOutput(sequences, prediction)


def _check_batch(batch, method: str) -> None:
    if not isinstance(batch, DriveBatch):
        raise InputError(
            f"{method} expects a onedrive.schema.DriveBatch (what OneDriveProcessor and the collator build; "
            f"DriveBatch(input_ids=..., attention_mask=..., ...) from tensors), got {type(batch).__name__}"
        )
