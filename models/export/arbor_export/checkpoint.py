"""Reading open_clip checkpoints, making checkpoint-shaped random weights, and fingerprinting them."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Mapping

import numpy as np
import torch

from .model import CLIP, ClipConfig


# A trained CLIP's logit scale sits at open_clip's clamp, exp(4.6052) = 100; the random weights
# use the same value so a stand-in's softmax behaves like the real model's.
RANDOM_LOGIT_SCALE = math.log(100.0)


def load_checkpoint(path: Path) -> "OrderedDict[str, torch.Tensor]":
    """Load an open_clip state dict (plain, or a training checkpoint with `state_dict` and `module.`)."""
    raw = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(raw, Mapping) and "state_dict" in raw and isinstance(raw["state_dict"], Mapping):
        raw = raw["state_dict"]
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a state dict, found {type(raw).__name__}")
    state: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, value in raw.items():
        if key.startswith("module."):
            key = key[len("module.") :]
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{path}: entry {key!r} is not a tensor")
        # Checkpoints may be stored in fp16/bf16; the export graph is built in float32.
        state[key] = value.float() if value.is_floating_point() else value
    return state


def build_model(cfg: ClipConfig, state: Mapping[str, torch.Tensor]) -> CLIP:
    """A CLIP in eval mode with `state` loaded strictly: any missing or extra key is an error."""
    model = CLIP(cfg)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        lines = ["checkpoint does not match the config:"]
        if result.missing_keys:
            lines.append(f"  missing ({len(result.missing_keys)}): {', '.join(result.missing_keys[:12])}")
        if result.unexpected_keys:
            lines.append(f"  unexpected ({len(result.unexpected_keys)}): {', '.join(result.unexpected_keys[:12])}")
        raise ValueError("\n".join(lines))
    # strict=False above only to produce the readable message; this repeats the check the
    # usual way so shape mismatches surface through torch's own error.
    model.load_state_dict(state, strict=True)
    return model.eval()


def _init_std(key: str, cfg: ClipConfig) -> float:
    """Standard deviation for one parameter, after open_clip's init (TextTransformer.init_parameters)."""
    visual = key.startswith("visual.")
    width = cfg.vision_width if visual else cfg.text_width
    layers = cfg.vision_layers if visual else cfg.text_layers
    proj_std = width**-0.5 * (2 * layers) ** -0.5
    if key == "visual.conv1.weight":
        return (3 * cfg.patch_size * cfg.patch_size) ** -0.5
    if key in ("visual.class_embedding", "visual.positional_embedding", "visual.proj"):
        return cfg.vision_width**-0.5
    if key == "token_embedding.weight":
        return 0.02
    if key == "positional_embedding":
        return 0.01
    if key == "text_projection":
        return cfg.text_width**-0.5
    if key.endswith("attn.in_proj_weight"):
        return width**-0.5
    if key.endswith("attn.out_proj.weight") or key.endswith("mlp.c_proj.weight"):
        return proj_std
    if key.endswith("mlp.c_fc.weight"):
        return (2 * width) ** -0.5
    if key.endswith(".bias") or key.endswith("in_proj_bias"):
        # Non-zero biases so a parity test notices a bias that is dropped or wired to the wrong op.
        return 0.02
    raise KeyError(key)


def random_state_dict(cfg: ClipConfig, seed: int) -> "OrderedDict[str, torch.Tensor]":
    """Random weights with the exact open_clip key names and shapes of `cfg`.

    Drawn with numpy's legacy RandomState, whose stream is frozen across numpy versions, in the
    model's key order, so the same (config, seed) gives the same bytes on any machine.
    """
    rng = np.random.RandomState(seed)
    shapes = CLIP(cfg).state_dict()
    state: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, template in shapes.items():
        shape = tuple(template.shape)
        is_norm = ".ln_" in key or key.startswith("ln_")
        if key == "logit_scale":
            values = np.full(shape, RANDOM_LOGIT_SCALE)
        elif is_norm and key.endswith(".weight"):
            # LayerNorm gains near 1 (not exactly 1) so a swapped gain/bias shows in parity.
            values = 1.0 + 0.1 * rng.standard_normal(shape)
        elif is_norm and key.endswith(".bias"):
            values = 0.02 * rng.standard_normal(shape)
        else:
            values = _init_std(key, cfg) * rng.standard_normal(shape)
        state[key] = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return state


def state_dict_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Fingerprint of the weights themselves (names, dtypes, shapes, bytes), not of a file format."""
    digest = hashlib.sha256()
    for key in sorted(state):
        array = state[key].detach().cpu().contiguous().numpy()
        digest.update(key.encode("utf-8"))
        digest.update(str(array.dtype).encode("ascii"))
        digest.update(repr(tuple(array.shape)).encode("ascii"))
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def file_sha256(path: Path, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def parameter_count(state: Mapping[str, torch.Tensor]) -> Dict[str, int]:
    counts = {"visual": 0, "text": 0, "total": 0}
    for key, tensor in state.items():
        part = "visual" if key.startswith("visual.") else "text"
        counts[part] += tensor.numel()
        counts["total"] += tensor.numel()
    return counts
