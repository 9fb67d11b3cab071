import pytest
import torch

from benchmarks.data import benchmark_data
from onedrive.data import DriveDataset, collate_drive_batch
from onedrive.schema import DriveBatch


@pytest.fixture
def samples(info_dir, processor):
    dataset = DriveDataset(info_dir / "demo_infos_val.json", info_dir, processor)
    return [dataset[index] for index in range(len(dataset))]


def test_right_padding_and_stacking(samples, tokenizer):
    lengths = [len(sample.input_ids) for sample in samples]
    assert len(set(lengths)) > 1  # the fixture's answers differ in length
    batch = collate_drive_batch(samples, pad_token_id=tokenizer.pad_token_id)
    assert isinstance(batch, DriveBatch)
    assert batch.input_ids.shape == batch.attention_mask.shape == batch.labels.shape == (4, max(lengths))
    for row, sample in enumerate(samples):
        length = lengths[row]
        assert torch.equal(batch.input_ids[row, :length], sample.input_ids)
        assert torch.equal(batch.labels[row, :length], sample.labels)
        assert batch.attention_mask[row].tolist() == [1] * length + [0] * (max(lengths) - length)
        assert (batch.input_ids[row, length:] == tokenizer.pad_token_id).all()
        assert (batch.labels[row, length:] == -100).all()
    tiles = samples[0].pixel_values.shape[0]
    assert batch.pixel_values.shape == (4 * tiles, 3, 56, 56)
    for row, sample in enumerate(samples):  # sample-major
        assert torch.equal(batch.pixel_values[row * tiles : (row + 1) * tiles], sample.pixel_values)
    assert batch.camera.intrinsics.shape == (4, 6, 3, 3) and batch.camera.cam2ego.shape == (4, 6, 4, 4)
    assert batch.camera.image_hw == (56, 112)
    assert batch.ego_status.shape == (4, 6) and batch.command.tolist() == [0, 1, 2, 0]
    assert batch.targets.trajectory.shape == (4, 6, 2) and batch.targets.trajectory_mask.dtype == torch.bool
    assert [boxes.shape for boxes in batch.targets.boxes] == [(3, 9)] * 4
    assert batch.sample_tokens == ["tok0", "tok1", "tok2", "tok3"]
    assert "sample_tokens" not in dict(batch)


def test_mixed_training_and_generation_samples_are_refused(samples, tokenizer):
    samples[1].labels = None
    with pytest.raises(ValueError, match=r"labels is set in some samples but missing in \['tok1'\]"):
        collate_drive_batch(samples, pad_token_id=tokenizer.pad_token_id)


def test_empty_batch_is_refused():
    with pytest.raises(ValueError, match="at least one sample"):
        collate_drive_batch([], pad_token_id=0)


def test_benchmark_reports_each_worker_count():
    result = benchmark_data(num_samples=2, image_hw=(48, 80), workers=(0,), batch_size=2, tile_size=28)
    assert result["samples_per_s_workers0"] > 0 and result["cameras"] == 6
