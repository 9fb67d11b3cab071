"""Routing: every token runs exactly one FFN; layout of the expanded sequence."""

import pytest
import torch
from model_helpers import IMAGE_TOKEN_ID, load_onedrive

from onedrive.model.decoder import QueryRouting
from onedrive.model.tokens import TokenLayout, left_align

TEXT, IMAGE, DET, LANE, PLAN = range(5)


def positions_of(types: torch.Tensor, wanted) -> torch.Tensor:
    """(B, L') types → (B, n) positions whose type is in ``wanted`` (the same count in every row)."""
    return torch.stack([torch.nonzero(torch.isin(row, torch.tensor(wanted))).flatten() for row in types])


@pytest.mark.parametrize(
    "types",
    [
        [
            [TEXT, IMAGE, IMAGE, DET, DET, LANE, PLAN, TEXT, TEXT],
            [IMAGE, DET, DET, LANE, PLAN, TEXT, IMAGE, TEXT, TEXT],
        ],
        [[TEXT, IMAGE, DET, PLAN, PLAN, TEXT], [IMAGE, IMAGE, DET, PLAN, PLAN, TEXT]],  # no lane query: empty group
    ],
)
def test_routed_ffn_equals_each_ffn_on_its_own_tokens(internvl_dir, types):
    layer = load_onedrive(internvl_dir).model.language_model.layers[0]
    with torch.no_grad():
        for ffn in layer.query_ffns.values():  # make the FFNs differ from the pretrained one
            for parameter in ffn.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.1)
    types = torch.tensor(types)
    hidden = torch.randn(*types.shape, 64)
    unused = torch.zeros(0)  # the 3D embeddings play no part in the FFN
    groups = {
        "det": positions_of(types, [DET]),
        "lane": positions_of(types, [LANE]),
        "plan": positions_of(types, [PLAN]),
    }
    routing = QueryRouting(unused, unused, positions_of(types, [TEXT, IMAGE]), groups, ("det", "lane"), unused)
    with torch.no_grad():
        routed = layer.routed_ffn(hidden, routing)
        expected = layer.mlp(hidden)
        for name, token_type in (("det", DET), ("lane", LANE), ("plan", PLAN)):
            own = layer.query_ffns[name](hidden)
            expected = torch.where((types == token_type)[..., None], own, expected)
    torch.testing.assert_close(routed, expected, rtol=0, atol=1e-5)


def describe(layout: TokenLayout) -> list[str]:
    """One character per expanded position: t text, i image, d / l / p queries, _ padding."""
    rows = []
    for row in range(layout.attention_mask.shape[0]):
        chars = ["t" if real else "_" for real in layout.attention_mask[row].tolist()]
        for index, char in (
            (layout.image_index, "i"),
            (layout.group_index("det"), "d"),
            (layout.group_index("lane"), "l"),
            (layout.group_index("plan"), "p"),
        ):
            for position in index[row].tolist():
                chars[position] = char
        rows.append("".join(chars))
    return rows


def test_layout_inserts_queries_after_the_last_image_token():
    ids = torch.tensor([[7, IMAGE_TOKEN_ID, 8, IMAGE_TOKEN_ID, 9, 0], [IMAGE_TOKEN_ID, IMAGE_TOKEN_ID, 7, 8, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]])
    layout = TokenLayout.build(ids, mask, IMAGE_TOKEN_ID, (("det", 2), ("lane", 1), ("plan", 1)), num_image_tokens=2)
    assert describe(layout) == ["titiddlpt_", "iiddlptt__"]
    assert layout.image_index.tolist() == [[1, 3], [0, 1]]
    assert layout.query_index.tolist() == [[4, 5, 6, 7], [2, 3, 4, 5]]
    assert layout.source_index.tolist() == [[0, 1, 2, 3, 8, 9], [0, 1, 6, 7, 8, 9]]
    assert layout.position_ids[0, :9].tolist() == list(range(9))
    assert layout.position_ids[1, :8].tolist() == list(range(8))
    expanded = layout.scatter_inputs(ids, None, fill=-1)
    assert expanded.tolist() == [[7, 5, 8, 5, -1, -1, -1, -1, 9, 0], [5, 5, -1, -1, -1, -1, 7, 8, 0, 0]]


def test_left_align_moves_padding_to_the_front():
    ids = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    aligned, aligned_mask = left_align(ids, mask, pad_token_id=0)
    assert aligned.tolist() == [[0, 1, 2, 3], [0, 0, 4, 5]]
    assert aligned_mask.tolist() == [[0, 1, 1, 1], [0, 0, 1, 1]]
