"""Where every token of the decoder sequence sits: ``[prefix | X_img | Q_det | Q_lane | Q_plan | text]``.

The processor writes the prompt with its image-context tokens; ``TokenLayout.build``
inserts the query slots right after each sample's last image-context token (docs/
design.md §4, "Prompt and token layout"). With no queries the layout is the input as
given, so the model sees exactly what InternVL would see. The query groups and their order
come from ``query_groups.query_groups``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TokenLayout:
    """Per-sample spans of the expanded sequence.

    attention_mask: (B, L') 1 for real tokens and query slots, 0 for padding.
    position_ids:   (B, L') RoPE positions, counted over real tokens only.
    source_index:   (B, L) where each input token went in the expanded sequence.
    query_index:    (B, Q) where each query slot sits, group after group.
    image_index:    (B, N_img) where each image token sits, in order (N_img = 0 unless asked for).
    groups:         ((name, count), ...) the query groups in sequence order (``query_groups.query_groups``);
                    the counts are the same for every sample.
    """

    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    source_index: torch.Tensor
    query_index: torch.Tensor
    image_index: torch.Tensor
    groups: tuple[tuple[str, int], ...] = ()

    @property
    def num_queries(self) -> int:
        return sum(count for _, count in self.groups)

    def group_index(self, name: str) -> torch.Tensor:  # (B, N_name)
        """Positions of one query group's slots."""
        start = 0
        for group, count in self.groups:
            if group == name:
                return self.query_index[:, start : start + count]
            start += count
        raise KeyError(f"no query group {name!r} in this layout (groups: {[group for group, _ in self.groups]})")

    @classmethod
    def build(
        cls,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_token_id: int,
        groups: tuple[tuple[str, int], ...] = (),
        num_image_tokens: int = 0,
    ) -> TokenLayout:
        """Insert every group's query slots (``groups``: (name, count) in order) after each sample's last image token.

        Static shapes only, no Python decision on tensor values (the layout is part of the
        exported graph). The inputs must have been checked first (``inputs.validate_inputs``):
        with queries, every sample holds exactly ``num_image_tokens`` image tokens.
        """
        batch, length = input_ids.shape
        device = input_ids.device
        groups = tuple((name, int(count)) for name, count in groups)
        num_queries = sum(count for _, count in groups)
        is_image = input_ids == image_token_id  # (B, L)
        positions = torch.arange(length, device=device).expand(batch, length)  # (B, L)

        if num_queries:
            insert_at = torch.where(is_image, positions, -1).amax(dim=1) + 1  # (B,)
        else:
            insert_at = torch.full((batch,), length, device=device)
        shifted = positions >= insert_at[:, None]  # (B, L)
        source_index = positions + shifted.long() * num_queries  # (B, L)
        query_index = insert_at[:, None] + torch.arange(num_queries, device=device)  # (B, Q)

        total = length + num_queries
        mask = torch.ones((batch, total), dtype=attention_mask.dtype, device=device)
        mask = mask.scatter(1, source_index, attention_mask)  # (B, L')
        position_ids = (mask.long().cumsum(dim=1) - 1).clamp(min=0)  # (B, L')
        # Image tokens in order: distinct keys, larger for earlier image tokens, zero for the rest.
        order_key = is_image.long() * (length - positions)  # (B, L)
        image_input_index = order_key.topk(num_image_tokens, dim=1).indices  # (B, N_img)
        image_index = source_index.gather(1, image_input_index)  # (B, N_img)
        return cls(mask, position_ids, source_index, query_index, image_index, groups)

    def scatter_inputs(
        self, token_values: torch.Tensor, query_values: torch.Tensor | None, fill: float | int = 0
    ) -> torch.Tensor:
        """Place per-token values (B, L, ...) and per-query values (B, Q, ...) into (B, L', ...).

        Without ``query_values`` the query slots hold ``fill``.
        """
        batch, length = self.source_index.shape
        out = token_values.new_full((batch, length + self.num_queries, *token_values.shape[2:]), fill)
        rows = torch.arange(batch, device=token_values.device)[:, None]
        out[rows, self.source_index] = token_values
        if self.num_queries and query_values is not None:
            out[rows, self.query_index] = query_values.to(out.dtype)
        return out

    def gather(self, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """(B, L', D) values at (B, K) positions → (B, K, D)."""
        return values.gather(1, index[..., None].expand(-1, -1, values.shape[-1]))


def left_align(input_ids: torch.Tensor, attention_mask: torch.Tensor, pad_token_id: int):
    """Move every sample's real tokens to the right end (left padding), for batched generation.

    input_ids, attention_mask: (B, L) with padding anywhere outside one contiguous real span.
    """
    lengths = attention_mask.long().sum(dim=1)  # (B,)
    batch, length = input_ids.shape
    order = torch.argsort(attention_mask.long(), dim=1, stable=True)  # padding first, real tokens keep order
    aligned_ids = input_ids.gather(1, order)
    aligned_mask = (torch.arange(length, device=input_ids.device) >= (length - lengths)[:, None]).long()
    aligned_ids = torch.where(aligned_mask.bool(), aligned_ids, torch.full_like(aligned_ids, pad_token_id))
    return aligned_ids, aligned_mask.to(attention_mask.dtype)
