"""Query types declared once (``onedrive.model.query_groups``): the layout, the decoder's FFNs and routing, and the
model's parameter groups all read the declaration; checkpoint parameter names stay as they were."""

from pathlib import Path

import torch
from model_helpers import IMAGE_TOKEN_ID, load_onedrive, make_batch

from onedrive.model.decoder import OneDriveDecoderLayer, QueryRouting
from onedrive.model.query_groups import FAMILIES, query_groups
from onedrive.model.tokens import TokenLayout

# state_dict keys of the tiny model (model_helpers.TASK) recorded before the query groups were declared in one
# place: a OneDrive folder saved before that change loads into the model built now (the planning keys re-recorded
# when the planning design of one ego token + C·M·T waypoint tokens became the only one).
RECORDED_KEYS = Path(__file__).with_name("tiny_state_dict_keys.txt")


def test_state_dict_keys_are_the_recorded_ones(internvl_dir):
    keys = list(load_onedrive(internvl_dir).state_dict())
    assert keys == RECORDED_KEYS.read_text().split()


def test_layout_ffns_and_parameter_groups_follow_the_declaration(internvl_dir):
    model = load_onedrive(internvl_dir)
    declared = query_groups(model.config.task_config)
    batch = make_batch()
    layout = model.token_layout(batch.input_ids, batch.attention_mask, driving=True)
    assert layout.groups == tuple((group.name, group.count) for group in declared)
    task_layers = [layer for layer in model.model.language_model.layers if layer.has_task_modules]
    assert task_layers
    for layer in task_layers:
        assert list(layer.query_ffns) == [group.name for group in declared]
    groups = model.parameter_groups()
    names = [name for members in groups.values() for name in members]
    assert sorted(names) == sorted(name for name, _ in model.named_parameters())  # each in exactly one group
    assert set(groups) == {"vit", "projector", "embeddings", "llm"} | {
        f"{kind}:{family}" for kind in ("task_modules", "heads") for family in FAMILIES
    }
    for group in declared:
        ffn_names = [name for name in names if f".query_ffns.{group.name}." in name]
        assert ffn_names and set(ffn_names) <= set(groups[f"task_modules:{group.family}"]), group


def test_an_extra_declared_group_is_laid_out_and_routed_through_its_own_ffn(internvl_dir):
    """A toy occupancy query group: the layout and the decoder layer take it from the list of groups alone."""
    text_config = load_onedrive(internvl_dir).config.text_config
    groups = (("det", 2), ("lane", 1), ("occupancy", 3), ("plan", 1))
    layer = OneDriveDecoderLayer(text_config, 0, has_task_modules=True, query_groups=tuple(n for n, _ in groups))
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.1)
    ids = torch.tensor([[7, IMAGE_TOKEN_ID, IMAGE_TOKEN_ID, 8, 9], [IMAGE_TOKEN_ID, IMAGE_TOKEN_ID, 7, 8, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    layout = TokenLayout.build(ids, mask, IMAGE_TOKEN_ID, groups, num_image_tokens=2)
    assert layout.num_queries == 7
    assert layout.group_index("occupancy").tolist() == [[6, 7, 8], [5, 6, 7]]
    group_index = {name: layout.group_index(name) for name, _ in groups}
    unused = torch.zeros(0)  # the 3D embeddings play no part in the FFN
    routing = QueryRouting(unused, unused, layout.source_index, group_index, ("det", "lane"), unused)
    hidden = torch.randn(2, ids.shape[1] + layout.num_queries, text_config.hidden_size)
    with torch.no_grad():
        routed = layer.routed_ffn(hidden, routing)
        expected = layer.mlp(hidden)
        for name, index in group_index.items():
            rows = torch.arange(2)[:, None]
            expected[rows, index] = layer.query_ffns[name](hidden)[rows, index]
    torch.testing.assert_close(routed, expected, rtol=0, atol=1e-5)
