"""Training on every QA turn: a key frame's turns as one conversation (onedrive/data/conversation.py)."""

import logging

import pytest
import torch

from onedrive.data import COMMAND_ANSWERS, DriveDataset
from onedrive.errors import InputError

INFOS = "demo_infos_val.json"
CONTEXT = "You are driving in boston-seaport."


def labelled_runs(sample) -> list[torch.Tensor]:
    """The maximal runs of consecutive labelled positions, as token ids."""
    labelled = (sample.labels != -100).tolist() + [False]
    runs, start = [], None
    for position, flag in enumerate(labelled):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            runs.append(sample.input_ids[start:position])
            start = None
    return runs


def test_every_answer_is_labelled_and_nothing_else(info_dir, processor, tokenizer, records):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="conversation")
    assert len(dataset) == 4  # one item per record
    sample = dataset[0]
    runs = [tokenizer.decode(run) for run in labelled_runs(sample)]
    assert runs == [turn["answer"] + "<|im_end|>" for turn in records.qa]
    # Questions, the context line, role headers and image blocks are in the input and never labelled.
    unlabelled = tokenizer.decode(sample.input_ids[sample.labels == -100])
    for turn in records.qa:
        assert turn["question"] in unlabelled
    assert CONTEXT in unlabelled and unlabelled.count("<|im_start|>assistant") == 3
    for run in labelled_runs(sample):
        assert not torch.isin(run, torch.tensor(tokenizer.encode("<|im_start|>user"))).any()
    # Records without QA keep the single planning turn answered by the command.
    assert [tokenizer.decode(run) for run in labelled_runs(dataset[2])] == [COMMAND_ANSWERS[2] + "<|im_end|>"]
    assert dataset.conversation_stats.as_dict() == {
        "samples": 2,
        "turns": 6,
        "turns_kept": 6,
        "turns_dropped": 0,
        "samples_with_dropped_turns": 0,
    }


def test_text_token_count_excludes_exactly_the_image_tokens(info_dir, processor, records):
    dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="conversation")
    (question, answer), *more = [(turn["question"], turn["answer"]) for turn in records.qa]
    text_only = processor.tokenize_text(question, answer, CONTEXT, more, image_tokens=False)
    image_tokens = processor.num_cameras * processor.image_tokens_per_camera
    assert len(dataset[0].input_ids) == text_only.turn_ends[-1] + image_tokens
    full = processor.tokenize_text(question, answer, CONTEXT, more)
    assert [end - image_tokens for end in full.turn_ends] == text_only.turn_ends


def test_turns_past_the_limit_are_dropped_whole_and_counted(info_dir, processor, tokenizer, records, caplog):
    (question, answer), *more = [(turn["question"], turn["answer"]) for turn in records.qa]
    ends = processor.tokenize_text(question, answer, CONTEXT, more, image_tokens=False).turn_ends
    limit = ends[1] + (ends[2] - ends[1]) // 2  # the third turn ends past it
    with caplog.at_level(logging.WARNING, logger="onedrive.data.conversation"):
        dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="conversation", max_text_tokens=limit)
    assert dataset.conversation_stats.as_dict() == {
        "samples": 2,
        "turns": 6,
        "turns_kept": 4,
        "turns_dropped": 2,
        "samples_with_dropped_turns": 2,
    }
    assert "2 of 6 QA turns (in 2 of 2 samples) do not fit in data.max_text_tokens" in caplog.text
    sample = dataset[1]
    assert [tokenizer.decode(run) for run in labelled_runs(sample)] == [
        turn["answer"] + "<|im_end|>" for turn in records.qa[:2]
    ]
    text = tokenizer.decode(sample.input_ids)
    assert records.qa[2]["question"] not in text and records.qa[2]["answer"] not in text
    image_tokens = processor.num_cameras * processor.image_tokens_per_camera
    assert len(sample.input_ids) - image_tokens == ends[1] <= limit


def test_a_first_turn_longer_than_the_limit_is_an_error(info_dir, processor):
    with pytest.raises(InputError, match=r"sample 'tok0': its first QA turn alone is \d+ text tokens.*=5"):
        DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="conversation", max_text_tokens=5)


def test_every_prompt_holds_the_location_context(info_dir, processor, tokenizer):
    for mode in ("sample", "all", "planning"):
        dataset = DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode=mode, generation=True)
        for index in range(len(dataset)):
            text = tokenizer.decode(dataset[index].input_ids)
            assert f"</img>\n{CONTEXT}\n{dataset.qa_turn(index)[1]}<|im_end|>" in text
    with pytest.raises(ValueError, match="'conversation' is a training target"):
        DriveDataset(info_dir / INFOS, info_dir, processor, qa_mode="conversation", generation=True)


def test_the_token_bound_is_never_below_the_count(info_dir, processor, records):
    turns = [(turn["question"], turn["answer"]) for turn in records.qa]
    turns += [("Où est le café ? 東京", "À 3 m — ünter dem Baum 🚗."), ("x", "")]
    for count in range(1, len(turns) + 1):
        (question, answer), *more = turns[:count]
        exact = processor.tokenize_text(question, answer, CONTEXT, more, image_tokens=False).turn_ends[-1]
        bound = processor.text_token_bound(question, answer, CONTEXT, more)
        assert exact <= bound <= 4 * exact + 12 * count, (count, exact, bound)
