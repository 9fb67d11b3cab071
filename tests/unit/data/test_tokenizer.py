import json
import subprocess
import sys

import pytest
from transformers import AutoTokenizer

from onedrive.model.tokenization_onedrive import SPECIAL_TOKENS, build_tokenizer

CONVERSATION = [
    {"role": "user", "content": "<img><IMG_CONTEXT><IMG_CONTEXT></img>\nWhat is ahead?"},
    {"role": "assistant", "content": "A truck, 12.5 m ahead."},
]


def test_special_tokens_have_fixed_ids(tokenizer, tiny_config):
    assert [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer.context_image_token_id == tiny_config.image_token_id == 5
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    assert (tokenizer.start_image_token, tokenizer.end_image_token) == ("<img>", "</img>")
    assert len(tokenizer) <= tiny_config.text_config.vocab_size


def test_chat_template_renders_qwen_turns(tokenizer):
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    assert text == (
        "<|im_start|>user\n<img><IMG_CONTEXT><IMG_CONTEXT></img>\nWhat is ahead?<|im_end|>\n"
        "<|im_start|>assistant\nA truck, 12.5 m ahead.<|im_end|>\n"
    )
    prompt = tokenizer.apply_chat_template(CONVERSATION[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("What is ahead?<|im_end|>\n<|im_start|>assistant\n")


def test_encode_decode_is_lossless_for_any_text(tokenizer):
    text = "Ünïcode — 3.5 m/s\n\ttabs, emoji 🚗 and words the corpus never saw: zygomorphic"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.unk_token_id is None or tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_save_and_auto_tokenizer_round_trip(tokenizer, tmp_path):
    build_tokenizer(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    assert loaded.apply_chat_template(CONVERSATION, tokenize=False) == text
    assert loaded.encode(text, add_special_tokens=False) == tokenizer.encode(text, add_special_tokens=False)
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert (loaded.eos_token_id, loaded.pad_token_id, loaded.context_image_token_id) == (2, 0, 5)


def test_build_is_deterministic(tokenizer):
    # Each build trains with fresh Rust hash maps (new random hash keys), so equal output means no order dependence.
    first, second = (build_tokenizer(corpus=["extra question text"]).backend_tokenizer.to_str() for _ in range(2))
    assert first == second
    assert build_tokenizer().backend_tokenizer.to_str() == tokenizer.backend_tokenizer.to_str()


@pytest.mark.slow
def test_build_is_deterministic_across_processes():
    script = (
        "import json; from onedrive.model.tokenization_onedrive import build_tokenizer; "
        "t = build_tokenizer(corpus=['extra question text']); print(json.dumps(t.backend_tokenizer.to_str()))"
    )
    outputs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
        for env in ({"PYTHONHASHSEED": "1"}, {"PYTHONHASHSEED": "2"})
    ]
    assert outputs[0] == outputs[1]
    in_process = build_tokenizer(corpus=["extra question text"]).backend_tokenizer.to_str()
    assert json.loads(outputs[0]) == in_process


def test_corpus_text_is_learned(tokenizer):
    word = " xylophonequartz"
    custom = build_tokenizer(corpus=[word * 50])
    assert len(custom.encode(word, add_special_tokens=False)) < len(tokenizer.encode(word, add_special_tokens=False))


def test_vocab_too_small_is_refused():
    with pytest.raises(ValueError, match="vocab_size must be >= 263"):
        build_tokenizer(vocab_size=100)
