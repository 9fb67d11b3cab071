"""The task layers run the perception queries' self-attention before the causal attention (the official order)."""

from model_helpers import load_onedrive, make_batch


def test_query_self_attention_runs_before_the_causal_attention(internvl_dir):
    model = load_onedrive(internvl_dir)
    layer = model.model.language_model.layers[0]
    assert layer.has_task_modules
    calls = []
    hooks = [
        layer.query_self_attn.register_forward_hook(lambda *_: calls.append("query_self_attn")),
        layer.self_attn.register_forward_hook(lambda *_: calls.append("causal")),
        layer.post_attention_layernorm.register_forward_hook(lambda *_: calls.append("ffn")),
    ]
    try:
        model.predict(make_batch())
    finally:
        for hook in hooks:
            hook.remove()
    assert calls == ["query_self_attn", "causal", "ffn"]
