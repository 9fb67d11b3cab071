import numpy as np
import pytest
import torch
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from onedrive import OneDriveConfig
from onedrive.errors import InputError
from onedrive.model import OneDriveProcessor, build_tokenizer
from onedrive.model.image_processing_onedrive import IMAGENET_MEAN, IMAGENET_STD
from onedrive.tiny import tiny_internvl_config

QUESTION = "How many cars are there?"
ANSWER = "There are 3 cars, the nearest 7.5 m ahead."

# The shape of InternVL3's template: a default system turn when none is given.
INTERNVL_LIKE_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n你是书生·万象，英文名是InternVL。<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def six_cameras(colour=(128, 64, 200), size=(160, 96)):
    images = [Image.new("RGB", size, colour) for _ in range(6)]
    width, height = size
    intrinsics = np.tile(np.array([[100.0, 0, width / 2], [0, 100.0, height / 2], [0, 0, 1]]), (6, 1, 1))
    return images, intrinsics, np.tile(np.eye(4), (6, 1, 1))


def test_labels_mask_exactly_the_answer(processor, tokenizer):
    sample = processor(*six_cameras(), QUESTION, ANSWER)
    answer_positions = sample.labels != -100
    assert tokenizer.decode(sample.input_ids[answer_positions]) == ANSWER + "<|im_end|>"
    assert torch.equal(sample.labels[answer_positions], sample.input_ids[answer_positions])
    # The answer is one contiguous span, followed only by the template's closing newline.
    positions = answer_positions.nonzero().flatten()
    assert torch.equal(positions, torch.arange(positions[0], positions[-1] + 1))
    assert tokenizer.decode(sample.input_ids[positions[-1] + 1 :]) == "\n"


def test_generation_prompt_is_the_training_prefix(processor, tokenizer):
    training = processor(*six_cameras(), QUESTION, ANSWER)
    prompt = processor(*six_cameras(), QUESTION)
    assert prompt.labels is None
    assert tokenizer.decode(prompt.input_ids).endswith(QUESTION + "<|im_end|>\n<|im_start|>assistant\n")
    assert torch.equal(training.input_ids[: len(prompt.input_ids)], prompt.input_ids)
    first_answer = (training.labels != -100).nonzero()[0, 0]
    assert first_answer == len(prompt.input_ids)


def test_prompt_layout_one_block_per_camera(processor, tokenizer, tiny_config):
    sample = processor(*six_cameras(), QUESTION, ANSWER)
    text = tokenizer.decode(sample.input_ids)
    block = "<img>" + "<IMG_CONTEXT>" * tiny_config.image_tokens_per_camera + "</img>"
    assert text.startswith("<|im_start|>user\n" + "\n".join([block] * 6) + "\n" + QUESTION + "<|im_end|>\n")
    context_tokens = int((sample.input_ids == tiny_config.image_token_id).sum())
    assert context_tokens == tiny_config.task_config.num_cameras * tiny_config.image_tokens_per_camera
    assert context_tokens == sample.pixel_values.shape[0] * tiny_config.tokens_per_tile
    assert torch.equal(sample.attention_mask, torch.ones_like(sample.input_ids))


def test_pixel_values_shape_and_normalisation(processor, tiny_config):
    colour = (128, 64, 200)
    sample = processor(*six_cameras(colour), QUESTION)
    tile = tiny_config.vision_config.image_size[0]
    assert sample.pixel_values.shape == (6 * tiny_config.task_config.tiles_per_camera, 3, tile, tile)
    assert sample.pixel_values.dtype == torch.float32
    expected = (np.array(colour) / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    per_channel = sample.pixel_values.permute(1, 0, 2, 3).reshape(3, -1)  # (3, all pixels)
    assert torch.allclose(per_channel, torch.tensor(expected, dtype=torch.float32)[:, None], atol=1e-5)
    assert sample.image_hw == (tile, 2 * tile)


def test_tiles_are_row_major_then_thumbnail(processor):
    left, right = (250, 0, 0), (0, 0, 250)
    image = Image.new("RGB", (160, 96), left)
    image.paste(Image.new("RGB", (80, 96), right), (80, 0))
    images, intrinsics, cam2ego = six_cameras()
    sample = processor([image] + images[1:], intrinsics, cam2ego, QUESTION)
    red = sample.pixel_values[:3, 0, 20:36, 20:36].mean(dim=(1, 2))  # tiles 0, 1, thumbnail; centre window
    assert red[0] > 2.0 and red[1] < -1.5  # tile 0 = left half (red), tile 1 = right half (blue)
    thumbnail = sample.pixel_values[2, 0]  # (S, S) red channel
    assert thumbnail[:, :20].mean() > 2.0 and thumbnail[:, -20:].mean() < -1.5


def test_works_with_another_chat_template(tiny_config):
    tokenizer = build_tokenizer()
    tokenizer.chat_template = INTERNVL_LIKE_TEMPLATE
    processor = OneDriveProcessor.from_config(tiny_config, tokenizer)
    sample = processor(*six_cameras(), QUESTION, ANSWER)
    text = tokenizer.decode(sample.input_ids)
    assert text.startswith("<|im_start|>system\n你是书生·万象")
    assert tokenizer.decode(sample.input_ids[sample.labels != -100]) == ANSWER + "<|im_end|>"


def test_save_and_from_pretrained_round_trip(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    loaded = OneDriveProcessor.from_pretrained(tmp_path)
    assert loaded.to_dict() == processor.to_dict()
    first, second = processor(*six_cameras(), QUESTION, ANSWER), loaded(*six_cameras(), QUESTION, ANSWER)
    assert torch.equal(first.input_ids, second.input_ids) and torch.equal(first.labels, second.labels)
    assert torch.equal(first.pixel_values, second.pixel_values)


def test_processed_size_follows_camera_tiles(tokenizer):
    config = OneDriveConfig(**tiny_internvl_config().to_dict(), task_config={"camera_tiles": [2, 3]})
    processor = OneDriveProcessor.from_config(config, tokenizer, use_thumbnail=False)
    sample = processor(*six_cameras(), QUESTION)
    assert sample.image_hw == (112, 168)
    assert sample.pixel_values.shape == (6 * 6, 3, 56, 56)
    assert int((sample.input_ids == 5).sum()) == 6 * 6 * config.tokens_per_tile


def test_image_token_id_must_match_the_config(tokenizer):
    config = OneDriveConfig(**tiny_internvl_config(image_token_id=7).to_dict())
    with pytest.raises(ValueError, match=r"maps '<IMG_CONTEXT>' to id 5, but the model config's image_token_id is 7"):
        OneDriveProcessor.from_config(config, tokenizer)


def test_tokenizer_without_image_markers_is_refused():
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    backend.train_from_iterator(["plain text only"], trainer)
    plain = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="plain")
    with pytest.raises(ValueError, match="must encode the image marker '<img>' as one known token"):
        OneDriveProcessor(plain)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda imgs, k, e: (imgs[:5], k, e), "expected 6 camera images, got 5"),
        (lambda imgs, k, e: (imgs, k[:, :2], e), r"intrinsics must have shape \(6, 3, 3\), got \(6, 2, 3\)"),
        (lambda imgs, k, e: (imgs, k * np.nan, e), "intrinsics contains NaN"),
        (lambda imgs, k, e: (imgs, k, e[:, :3]), r"cam2ego must have shape \(6, 4, 4\)"),
        (lambda imgs, k, e: (imgs[:5] + [np.zeros((96, 160, 3))], k, e), "CAM_X5: expected a PIL image, got ndarray"),
        (lambda imgs, k, e: (imgs, -k, e), r"CAM_X0: intrinsics need fx, fy > 0"),
    ],
)
def test_bad_inputs_raise_naming_the_sample(processor, change, message):
    images, intrinsics, cam2ego = change(*six_cameras())
    with pytest.raises(ValueError, match=message) as error:
        processor(
            images, intrinsics, cam2ego, QUESTION, sample_token="tokA", camera_names=[f"CAM_X{i}" for i in range(6)]
        )
    assert "sample 'tokA'" in str(error.value)


def test_image_markers_in_the_question_are_refused(processor):
    with pytest.raises(ValueError, match=r"prompt holds 76 '<IMG_CONTEXT>' tokens, expected 72"):
        processor(*six_cameras(), "look: " + "<IMG_CONTEXT>" * 4)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_camera_images_that_are_not_rgb_are_refused_not_converted(processor, mode):
    images, intrinsics, cam2ego = six_cameras()
    images[2] = images[2].convert(mode)
    with pytest.raises(
        InputError, match=rf"sample 'tok': CAM_2: camera images must have PIL mode 'RGB' .*got '{mode}'"
    ):
        processor(
            images, intrinsics, cam2ego, QUESTION, sample_token="tok", camera_names=[f"CAM_{i}" for i in range(6)]
        )
