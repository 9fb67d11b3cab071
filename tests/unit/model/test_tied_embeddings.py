"""The LM head follows the checkpoint as transformers does: tied or untied, with or without the config key."""

import json

import pytest
import torch
from model_helpers import load_onedrive, make_prompt, remove_top_level_key, save_internvl_like_release
from safetensors.torch import load_file
from transformers import InternVLForConditionalGeneration

from onedrive import OneDriveForDriving
from onedrive.model.tied_embeddings import INPUT_EMBEDDINGS, LM_HEAD, embeddings_tied

VARIANTS = [(tied, key) for tied in (False, True) for key in (False, True)]
# save_pretrained writes InternVL in the layout of the released checkpoints: file key prefix → module prefix.
FILE_PREFIXES = {
    "language_model.lm_head.": "lm_head.",
    "language_model.model.": "model.language_model.",
    "vision_tower.": "model.vision_tower.",
    "multi_modal_projector.": "model.multi_modal_projector.",
}
IDS = [f"{'tied' if tied else 'untied'}-{'with' if key else 'without'}-key" for tied, key in VARIANTS]


@pytest.fixture(scope="module", params=VARIANTS, ids=IDS)
def release_like(request, tmp_path_factory):
    """(folder, tied): a tiny InternVL checkpoint written like the released ones."""
    tied, key = request.param
    return save_internvl_like_release(tmp_path_factory.mktemp("internvl") / "tiny", tied, key), tied


def source_tensors(folder) -> dict[str, torch.Tensor]:
    """The checkpoint file's tensors under the module names of InternVL (and OneDrive)."""
    renamed = {}
    for key, tensor in load_file(folder / "model.safetensors").items():
        prefix = next(prefix for prefix in FILE_PREFIXES if key.startswith(prefix))
        renamed[FILE_PREFIXES[prefix] + key[len(prefix) :]] = tensor
    return renamed


def text_logits(model, ids, mask) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits[mask.bool()]  # (n_real, V)


def test_untied_checkpoint_really_has_its_own_lm_head(release_like):
    folder, tied = release_like
    source = source_tensors(folder)
    assert (LM_HEAD in source) is not tied
    if not tied:
        assert not torch.equal(source[LM_HEAD], source[INPUT_EMBEDDINGS])


def test_from_internvl_equals_transformers_tensor_for_tensor(release_like):
    folder, tied = release_like
    reference = InternVLForConditionalGeneration.from_pretrained(folder).eval()
    model = load_onedrive(folder)
    ours = model.state_dict()
    for key, tensor in reference.state_dict().items():
        assert torch.equal(ours[key], tensor), key
    for key, tensor in source_tensors(folder).items():  # and the file itself
        assert torch.equal(ours[key], tensor), key
    assert embeddings_tied(model) is embeddings_tied(reference) is tied
    assert model.config.tie_word_embeddings is tied
    ids, mask = make_prompt([5, 9], prefix=0, num_cameras=0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(text_logits(model, ids, mask), text_logits(reference, ids, mask), rtol=0, atol=1e-5)


def test_saved_config_states_the_tie_and_round_trips(release_like, tmp_path):
    folder, tied = release_like
    model = load_onedrive(folder)
    model.save_pretrained(tmp_path / "onedrive")
    assert json.loads((tmp_path / "onedrive" / "config.json").read_text())["tie_word_embeddings"] is tied
    assert (LM_HEAD in load_file(tmp_path / "onedrive" / "model.safetensors")) is not tied
    loaded = OneDriveForDriving.from_pretrained(tmp_path / "onedrive").eval()
    assert embeddings_tied(loaded) is tied and loaded.config.tie_word_embeddings is tied
    expected = model.state_dict()
    assert set(loaded.state_dict()) == set(expected)
    for key, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, expected[key]), key
    ids, mask = make_prompt([6], prefix=0, num_cameras=0, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(text_logits(loaded, ids, mask), text_logits(model, ids, mask), rtol=0, atol=0)


def test_onedrive_folder_without_the_key_keeps_an_untied_lm_head(tmp_path):
    """A OneDrive folder whose config lacks the key (the default then says tied) still loads its own LM head."""
    model = load_onedrive(save_internvl_like_release(tmp_path / "internvl", tied=False, tie_key=False))
    model.save_pretrained(tmp_path / "onedrive")
    remove_top_level_key(tmp_path / "onedrive" / "config.json", "tie_word_embeddings")
    loaded = OneDriveForDriving.from_pretrained(tmp_path / "onedrive")
    assert not embeddings_tied(loaded) and loaded.config.tie_word_embeddings is False
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight)
    assert torch.equal(loaded.get_input_embeddings().weight, model.get_input_embeddings().weight)
