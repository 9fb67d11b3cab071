"""Routing: every token runs exactly one FFN; layout of the expanded sequence."""

import torch

from model_helpers import IMAGE_TOKEN_ID, load_onedrive

from onedrive.modeling.tokens import TokenLayout, TokenType, left_align


def test_routed_ffn_equals_each_ffn_on_its_own_tokens(internvl_dir):
    layer = load_onedrive(internvl_dir).model.language_model.layers[0]
    with torch.no_grad():
        for ffn in layer.query_ffns.values():  # make the FFNs differ from the pretrained one
            for parameter in ffn.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.1)
    hidden = torch.randn(2, 9, 64)
    types = torch.tensor([[0, 1, 1, 2, 2, 3, 4, 0, 0], [1, 1, 2, 2, 3, 4, 4, 0, 0]])
    with torch.no_grad():
        routed = layer.routed_ffn(hidden, types)
        expected = layer.mlp(hidden)
        for name, token_type in (("det", 2), ("lane", 3), ("plan", 4)):
            own = layer.query_ffns[name](hidden)
            expected = torch.where((types == token_type)[..., None], own, expected)
    torch.testing.assert_close(routed, expected, rtol=0, atol=1e-6)


def test_layout_inserts_queries_after_the_last_image_token():
    ids = torch.tensor([[7, IMAGE_TOKEN_ID, IMAGE_TOKEN_ID, 8, 9, 0], [7, 7, IMAGE_TOKEN_ID, 8, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]])
    layout = TokenLayout.build(ids, mask, IMAGE_TOKEN_ID, num_det=2, num_lane=1, num_plan=1)
    T, I, D, L, P = (int(t) for t in (TokenType.TEXT, TokenType.IMAGE, TokenType.DET, TokenType.LANE, TokenType.PLAN))
    assert layout.token_types.tolist() == [[T, I, I, D, D, L, P, T, T, T], [T, T, I, D, D, L, P, T, T, T]]
    assert layout.attention_mask.tolist() == [[1] * 9 + [0], [1] * 8 + [0, 0]]
    assert layout.position_ids[0, :9].tolist() == list(range(9))
    assert layout.query_index.tolist() == [[3, 4, 5, 6], [3, 4, 5, 6]]
    expanded = layout.scatter_inputs(ids, None, fill=-1)
    assert expanded.tolist() == [[7, 5, 5, -1, -1, -1, -1, 8, 9, 0], [7, 7, 5, -1, -1, -1, -1, 8, 0, 0]]


def test_left_align_moves_padding_to_the_front():
    ids = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    aligned, aligned_mask = left_align(ids, mask, pad_token_id=0)
    assert aligned.tolist() == [[0, 1, 2, 3], [0, 0, 4, 5]]
    assert aligned_mask.tolist() == [[0, 1, 1, 1], [0, 0, 1, 1]]
