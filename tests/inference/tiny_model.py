"""A tiny causal LM, tokenizer and LoRA adapter built on the fly (no downloads), in the share layout."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
WORDS = (
    "hello world the a model adapter answer question user assistant system azure container app share mount "
    "inference fine tuned lora base token stream chat what is how why yes no good bad small tiny large "
    "one two three four five six seven eight nine ten red green blue cat dog tree river mountain"
).split()


def build_share(mount: Path, model_id: str = "tiny-org/tiny-llama") -> tuple[Path, Path]:
    """Writes ``mount/model-cache/<model_id>`` and ``mount/models/run1/adapter``; returns both paths."""
    import torch
    from peft import LoraConfig, get_peft_model
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    base_dir = mount / "model-cache" / model_id
    adapter_dir = mount / "models" / "run1" / "adapter"
    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<|user|>", "<|assistant|>", "<|system|>", "<|end|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    from tokenizers import decoders

    fast.backend_tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast.save_pretrained(base_dir)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=8192,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(config)
    # Never emit special tokens (EOS included): every answer has words, and its length is governed by
    # max_tokens, which makes long streams possible.
    model.generation_config.suppress_tokens = list(range(len(specials)))
    model.save_pretrained(base_dir)

    lora = LoraConfig(
        r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False
    )
    peft_model = get_peft_model(model, lora)
    peft_model.save_pretrained(adapter_dir)
    return base_dir, adapter_dir
