"""Tiny random diffusers pipelines written to disk, for tests and the benchmark.

They are real pipeline folders (model_index.json, safetensors weights, a CLIP
tokenizer with its own vocab.json/merges.txt) and load through the same code path as
a downloaded model. Random weights: the images are noise, but deterministic noise.
"""

from __future__ import annotations

import json
from pathlib import Path

_WORDS = (
    "a ring pendant earrings bracelet necklace brooch gold rose white yellow platinum "
    "silver diamond sapphire ruby emerald pearl round oval cushion princess pear halo "
    "solitaire prong bezel pave product photo studio white background jewelry macro "
    "shot high detail polished blurry low quality text watermark hands "
).split()


def _write_tokenizer(folder: Path) -> None:
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for w in _WORDS for c in w})
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for token in [*chars, *(c + "</w>" for c in chars), *(w + "</w>" for w in _WORDS)]:
        vocab.setdefault(token, len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77,
                              unk_token="<|endoftext|>", bos_token="<|startoftext|>",
                              eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)


def build_tiny_sd(folder: Path, *, sample_size: int = 16, channels: tuple[int, ...] = (8, 16),
                  license: str | None = "apache-2.0", seed: int = 0) -> Path:
    """A tiny StableDiffusionPipeline folder: images are ``sample_size * 2`` pixels square."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=channels, norm_num_groups=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2,
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        norm_num_groups=4, sample_size=sample_size * 2,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=16, intermediate_size=32,
        num_attention_heads=2, num_hidden_layers=2, vocab_size=1000, projection_dim=16,
        max_position_embeddings=77,
    ))
    tok_dir = folder / "_tok"
    _write_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder,
                                   tokenizer=tokenizer, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    import shutil

    shutil.rmtree(tok_dir)
    if license:
        (folder / "README.md").write_text(f"---\nlicense: {license}\n---\n# tiny test pipeline\n")
    return folder


def build_tiny_controlnet(folder: Path, *, channels: tuple[int, ...] = (8, 16), seed: int = 1) -> Path:
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    net = ControlNetModel(
        in_channels=4, layers_per_block=1, block_out_channels=channels, norm_num_groups=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=16,
        attention_head_dim=2, conditioning_embedding_out_channels=(4, 8),
    )
    net.save_pretrained(folder, safe_serialization=True)
    return Path(folder)


def build_tiny_taesd(folder: Path, seed: int = 2) -> Path:
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    vae = AutoencoderTiny(encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8),
                          num_encoder_blocks=(1, 1), num_decoder_blocks=(1, 1),
                          latent_channels=4)
    vae.save_pretrained(folder, safe_serialization=True)
    return Path(folder)


def model_index(folder: Path) -> dict:
    return json.loads((Path(folder) / "model_index.json").read_text())


def build_tiny_lora(pipeline_folder: Path, out_folder: Path, rank: int = 2, seed: int = 3,
                    license: str | None = None) -> Path:
    """A LoRA .safetensors for the tiny pipeline's UNet (random, non-zero weights)."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    pipe = StableDiffusionPipeline.from_pretrained(pipeline_folder, local_files_only=True)
    pipe.unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                     target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(pipe.unet))
    out_folder = Path(out_folder)
    StableDiffusionPipeline.save_lora_weights(out_folder, unet_lora_layers=state, safe_serialization=True)
    if license:
        (out_folder / "README.md").write_text(f"---\nlicense: {license}\n---\n")
    return out_folder / "pytorch_lora_weights.safetensors"
