"""Mixed decoder layers: Qwen2's pretrained causal layer plus OneDrive's query modules.

Per layer (docs/design.md §1), in the official release's order:
1. in task layers, a bidirectional, pre-norm, residual self-attention among the
   perception queries (the perception groups: det ∪ lane), through the same attention interface;
2. the pretrained causal self-attention over the whole sequence, with 3D position
   embeddings added to queries and keys of spatial tokens after RoPE (prefill only);
3. the FFN: image and text tokens keep the pretrained FFN, each query group is routed
   to its own FFN (gather → FFN → scatter; each token runs exactly one FFN).
The query groups come from one declaration, ``query_groups.query_groups``.
Layers without task modules run the pretrained layer unchanged for every token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.qwen2.modeling_qwen2 import (
    Qwen2Attention,
    Qwen2Config,
    Qwen2DecoderLayer,
    Qwen2Model,
    Qwen2RMSNorm,
    apply_rotary_pos_emb,
    eager_attention_forward,
)

from onedrive.model.configuration_onedrive import attention_head_dim
from onedrive.model.initial_values import QueryFFN, ZeroLinear, restore_initial_values


@dataclass
class QueryRouting:
    """What the mixed layers need to know about the query tokens of a prefill.

    ``token_index`` and the groups' indices partition the expanded sequence (every position in exactly one).

    position_3d_query:   (B, L', heads × head_dim) 3D embedding added to attention queries (zero for text).
    position_3d_key:     (B, L', kv_heads × head_dim) the same for keys.
    token_index:         (B, L) positions of the prompt tokens (text, image, padding): the pretrained FFN.
    group_index:         {query group: (B, N_group) its positions}, in sequence order (``query_groups``).
    perception_groups:   the groups that join the query self-attention, in sequence order.
    perception_position: (B, N_p, heads × head_dim) 3D embeddings of the perception groups' queries (N_p their
                         total count), for the query self-attention.
    memory_keys:         (B, M', H) temporal-memory entries (``model/streaming.py``), extra keys and values of the
                         query self-attention only; ``None`` without a memory.
    memory_position:     (B, M', heads × head_dim) their 3D embeddings.
    memory_valid:        (B, M') bool, False for empty entries (masked out).
    """

    position_3d_query: torch.Tensor
    position_3d_key: torch.Tensor
    token_index: torch.Tensor
    group_index: dict[str, torch.Tensor]
    perception_groups: tuple[str, ...]
    perception_position: torch.Tensor
    memory_keys: torch.Tensor | None = None
    memory_position: torch.Tensor | None = None
    memory_valid: torch.Tensor | None = None

    @property
    def perception_index(self) -> torch.Tensor:  # (B, N_p)
        return torch.cat([self.group_index[name] for name in self.perception_groups], dim=1)


def attention_function(config) -> Callable:
    return ALL_ATTENTION_FUNCTIONS.get_interface(config._attn_implementation, eager_attention_forward)


class OneDriveAttention(Qwen2Attention):
    """Qwen2's attention with 3D position embeddings added after RoPE: ``q = RoPE(xW_q) + e_3D``.

    The keys are stored in the KV cache with their 3D embedding, so cached decoding
    attends to exactly what the prefill attended to.
    """

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor | None,
        past_key_values: Cache | None = None,
        routing: QueryRouting | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)  # (B, heads, L, d)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)  # (B, kv_heads, L, d)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        if routing is not None:
            query_states = query_states + routing.position_3d_query.view(hidden_shape).transpose(1, 2).to(query_states)
            key_states = key_states + routing.position_3d_key.view(*input_shape, -1, self.head_dim).transpose(1, 2).to(
                key_states
            )
        if past_key_values is not None:
            key_states, value_states = past_key_values.update(key_states, value_states, self.layer_idx)
        attn_output, attn_weights = attention_function(self.config)(
            self,
            query_states,
            key_states,
            value_states,
            attention_mask,
            dropout=0.0 if not self.training else self.attention_dropout,
            scaling=self.scaling,
            sliding_window=self.sliding_window,
            **kwargs,
        )
        attn_output = self.o_proj(attn_output.reshape(*input_shape, -1).contiguous())
        return attn_output, attn_weights


class QuerySelfAttention(nn.Module):
    """Bidirectional self-attention among perception queries: pre-norm, residual.

    Runs through ``ALL_ATTENTION_FUNCTIONS`` (eager / sdpa / flash interchangeable; with memory keys, a
    padding mask: eager / sdpa). The output projection starts at zero, so a new layer begins as the identity.
    """

    is_causal = False

    def __init__(self, config: Qwen2Config):
        super().__init__()
        self.config = config
        self.head_dim = attention_head_dim(config)
        self.num_heads = config.num_attention_heads
        self.num_key_value_groups = 1
        self.scaling = self.head_dim**-0.5
        width = self.num_heads * self.head_dim
        self.norm = Qwen2RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.q_proj = nn.Linear(config.hidden_size, width)
        self.k_proj = nn.Linear(config.hidden_size, width)
        self.v_proj = nn.Linear(config.hidden_size, width)
        self.o_proj = ZeroLinear(width, config.hidden_size, bias=False)

    def forward(
        self,
        queries: torch.Tensor,
        position: torch.Tensor,
        memory: torch.Tensor | None = None,
        memory_position: torch.Tensor | None = None,
        memory_valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """queries (B, N_p, H), position (B, N_p, heads × head_dim) → updated queries (B, N_p, H).

        ``memory`` (B, M', H) with ``memory_position`` (B, M', heads × head_dim) and ``memory_valid`` (B, M')
        bool: extra keys and values (not updated), empty ones masked out.
        """
        batch, count, _ = queries.shape
        normed = self.norm(queries)
        q = (self.q_proj(normed) + position).view(batch, count, self.num_heads, self.head_dim).transpose(1, 2)
        mask = None
        if memory is not None:
            normed = torch.cat([normed, self.norm(memory)], dim=1)  # (B, N_p + M', H)
            position = torch.cat([position, memory_position], dim=1)
            attend = torch.cat([memory_valid.new_ones(batch, count), memory_valid], dim=1)  # (B, N_p + M')
            blocked = torch.zeros(attend.shape, dtype=q.dtype, device=q.device).masked_fill(
                ~attend, torch.finfo(q.dtype).min
            )
            mask = blocked[:, None, None, :].expand(-1, 1, count, -1)  # (B, 1, N_p, N_p + M') additive
        shape = (batch, normed.shape[1], self.num_heads, self.head_dim)
        k = (self.k_proj(normed) + position).view(shape).transpose(1, 2)  # (B, heads, N_p + M', d)
        v = self.v_proj(normed).view(shape).transpose(1, 2)
        attended, _ = attention_function(self.config)(self, q, k, v, mask, dropout=0.0, scaling=self.scaling)
        return queries + self.o_proj(attended.reshape(batch, count, -1))  # (B, N_p, H)


class OneDriveDecoderLayer(Qwen2DecoderLayer):
    """A Qwen2 decoder layer; with ``has_task_modules`` it also carries the query modules: the query
    self-attention and one FFN per query group (``query_ffns.<group name>``)."""

    def __init__(self, config: Qwen2Config, layer_idx: int, has_task_modules: bool, query_groups: tuple[str, ...]):
        super().__init__(config, layer_idx)
        self.self_attn = OneDriveAttention(config=config, layer_idx=layer_idx)
        self.has_task_modules = has_task_modules
        if has_task_modules:
            self.query_self_attn = QuerySelfAttention(config)
            self.query_ffns = nn.ModuleDict({name: QueryFFN(config) for name in query_groups})

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        use_cache: bool | None = False,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        routing: QueryRouting | None = None,
        **kwargs,
    ) -> torch.Tensor:
        routed = routing is not None and self.has_task_modules
        if routed and routing.perception_position.shape[1]:
            hidden_states = self.perception_self_attention(hidden_states, routing)
        residual = hidden_states
        hidden_states, _ = self.self_attn(
            hidden_states=self.input_layernorm(hidden_states),
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            position_embeddings=position_embeddings,
            routing=routing,
            **kwargs,
        )
        hidden_states = residual + hidden_states
        normed = self.post_attention_layernorm(hidden_states)
        ffn_out = self.routed_ffn(normed, routing) if routed else self.mlp(normed)
        return hidden_states + ffn_out

    def perception_self_attention(self, hidden_states: torch.Tensor, routing: QueryRouting) -> torch.Tensor:
        """The query self-attention on the perception queries' slots of (B, L', H); every other token unchanged."""
        index = routing.perception_index[..., None].expand(-1, -1, hidden_states.shape[-1])  # (B, N_p, H)
        updated = self.query_self_attn(
            hidden_states.gather(1, index),
            routing.perception_position,
            routing.memory_keys,
            routing.memory_position,
            routing.memory_valid,
        )
        return hidden_states.scatter(1, index, updated)

    def routed_ffn(self, hidden_states: torch.Tensor, routing: QueryRouting) -> torch.Tensor:
        """Each token through exactly one FFN: queries through their type's, the rest through the pretrained one.

        Gather → FFN → scatter over the routing's fixed positions (static shapes; an empty
        group is skipped by its shape alone), so the same code runs eagerly and exported.
        """
        groups = [(self.mlp, routing.token_index)]
        groups += [(self.query_ffns[name], index) for name, index in routing.group_index.items()]
        width = hidden_states.shape[-1]
        indices, outputs = [], []
        for ffn, positions in groups:
            if positions.shape[1]:
                index = positions[..., None].expand(-1, -1, width)  # (B, n, H)
                indices.append(index)
                outputs.append(ffn(hidden_states.gather(1, index)))  # (B, n, H)
        # The groups partition L': one scatter writes every position exactly once.
        return torch.zeros_like(hidden_states).scatter(1, torch.cat(indices, dim=1), torch.cat(outputs, dim=1))


@dataclass
class LanguageModelOutput:
    """last_hidden_state (B, L', H) after the final norm; layer_states {layer: (B, L', H) normed};
    past_key_values the KV cache when ``use_cache``."""

    last_hidden_state: torch.Tensor
    layer_states: dict[int, torch.Tensor]
    past_key_values: Cache | None


class OneDriveLanguageModel(Qwen2Model):
    """Qwen2Model whose layers are ``OneDriveDecoderLayer``; same parameter names as Qwen2Model.

    ``query_groups``: the names of the query groups (``query_groups.query_groups``), one FFN each in task layers.
    """

    def __init__(self, config: Qwen2Config, task_layers: list[int], query_groups: tuple[str, ...]):
        super().__init__(config)
        self.layers = nn.ModuleList(
            OneDriveDecoderLayer(config, index, has_task_modules=index in task_layers, query_groups=query_groups)
            for index in range(config.num_hidden_layers)
        )

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        restore_initial_values(module)  # the query self-attention's zero output projection, the query FFNs

    def forward(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        past_key_values: Cache | None = None,
        use_cache: bool = False,
        routing: QueryRouting | None = None,
        keep_layers: tuple[int, ...] = (),
        stop_after_layer: int | None = None,
    ) -> LanguageModelOutput:
        """inputs_embeds (B, L, H); attention_mask (B, past + L) 2D, or a prepared 4D mask (B, 1, L, past + L)
        that ``create_causal_mask`` passes through unchanged; position_ids (B, L).

        ``keep_layers``: layers whose (normed) output is returned in ``layer_states``.
        ``stop_after_layer``: early exit; the final norm is applied to that layer's output.
        """
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        mask = create_causal_mask(
            config=self.config,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            cache=past_key_values,  # transformers >= 5.24 (the old name goes in 5.40)
            position_ids=position_ids,
        )
        position_embeddings = self.rotary_emb(inputs_embeds, position_ids)
        last = self.config.num_hidden_layers - 1 if stop_after_layer is None else stop_after_layer
        hidden_states = inputs_embeds
        layer_states = {}
        for index, layer in enumerate(self.layers[: last + 1]):
            hidden_states = layer(
                hidden_states,
                attention_mask=mask,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
                position_embeddings=position_embeddings,
                routing=routing,
            )
            if index in keep_layers:
                layer_states[index] = self.norm(hidden_states)
        return LanguageModelOutput(self.norm(hidden_states), layer_states, past_key_values)
