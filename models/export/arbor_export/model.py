"""A pure-torch CLIP ViT whose parameter names match open_clip's `CLIP` exactly.

The goal is `load_state_dict(strict=True)` on an open_clip checkpoint such as BioCLIP 2's
`open_clip_pytorch_model.bin` without installing open_clip, and an ONNX export that uses only
plain ops. The module always runs in float32: the fp16 variant is made from the exported ONNX
graph (see fp16.py), because torch 1.13 cannot run most fp16 ops on CPU. Attention is written out (torch 1.13 has no scaled_dot_product_attention), so the
traced graph is MatMul/Softmax and exports the same way on every torch version.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ClipConfig:
    """Architecture of a CLIP ViT. Defaults are open_clip `ViT-L-14` (BioCLIP 2)."""

    embed_dim: int = 768
    image_size: int = 224
    patch_size: int = 14
    vision_width: int = 1024
    vision_layers: int = 24
    vision_heads: int = 16
    vision_mlp_ratio: float = 4.0
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 768
    text_layers: int = 12
    text_heads: int = 12
    text_mlp_ratio: float = 4.0
    layer_norm_eps: float = 1e-5

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


VIT_L_14 = ClipConfig()

# The committed stand-in: same contract as BioCLIP 2 (224 px input, 77-token context, the CLIP
# vocabulary, 768-d outputs) but a few narrow layers so the whole package stays near 20 MB.
# The text token table (49,408 x text_width) dominates the size, hence the narrow text tower.
STANDIN_V1 = ClipConfig(
    patch_size=32,
    vision_width=128,
    vision_layers=4,
    vision_heads=4,
    text_width=64,
    text_layers=4,
    text_heads=4,
)

CONFIGS: Dict[str, ClipConfig] = {
    "vit-l-14": VIT_L_14,
    "standin-v1": STANDIN_V1,
}


class MultiheadSelfAttention(nn.Module):
    """Self-attention with nn.MultiheadAttention's parameter layout (in_proj_weight, out_proj)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads != 0:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = width // heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        # x: [batch, tokens, width]
        n, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.chunk(3, dim=-1)
        q = q.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(n, length, self.heads, self.head_dim).transpose(1, 2)
        # Scaling q before the product is what nn.MultiheadAttention does; same maths, fewer ops.
        scores = torch.matmul(q * (1.0 / math.sqrt(self.head_dim)), k.transpose(-1, -2))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = scores.softmax(dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(n, length, width)
        return self.out_proj(out)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float, eps: float) -> None:
        super().__init__()
        mlp_width = int(width * mlp_ratio)
        self.ln_1 = nn.LayerNorm(width, eps=eps)
        self.attn = MultiheadSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width, eps=eps)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, mlp_width)),
                    ("gelu", nn.GELU()),  # erf GELU: BioCLIP 2 starts from LAION weights, not QuickGELU
                    ("c_proj", nn.Linear(mlp_width, width)),
                ]
            )
        )

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), attn_mask=attn_mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float, eps: float) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(
            [ResidualAttentionBlock(width, heads, mlp_ratio, eps) for _ in range(layers)]
        )

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask=attn_mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, cfg: ClipConfig) -> None:
        super().__init__()
        width = cfg.vision_width
        self.conv1 = nn.Conv2d(3, width, kernel_size=cfg.patch_size, stride=cfg.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.positional_embedding = nn.Parameter(torch.empty(cfg.grid_size * cfg.grid_size + 1, width))
        self.ln_pre = nn.LayerNorm(width, eps=cfg.layer_norm_eps)
        self.transformer = Transformer(width, cfg.vision_layers, cfg.vision_heads, cfg.vision_mlp_ratio, cfg.layer_norm_eps)
        self.ln_post = nn.LayerNorm(width, eps=cfg.layer_norm_eps)
        self.proj = nn.Parameter(torch.empty(width, cfg.embed_dim))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.conv1(pixel_values)  # [N, width, grid, grid]
        x = x.flatten(2).transpose(1, 2)  # [N, grid*grid, width]
        cls = self.class_embedding.view(1, 1, -1).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x)
        x = self.transformer(x)
        # Class-token pooling; ln_post is per token, so applying it to the pooled token only is
        # the same as open_clip's ln_post-then-pool.
        pooled = self.ln_post(x[:, 0])
        return pooled @ self.proj


class CLIP(nn.Module):
    """open_clip `CLIP` (non-custom text tower): text parameters live at the top level."""

    def __init__(self, cfg: ClipConfig) -> None:
        super().__init__()
        self.config = cfg
        self.visual = VisionTransformer(cfg)
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(cfg.context_length, cfg.text_width))
        self.transformer = Transformer(cfg.text_width, cfg.text_layers, cfg.text_heads, cfg.text_mlp_ratio, cfg.layer_norm_eps)
        self.ln_final = nn.LayerNorm(cfg.text_width, eps=cfg.layer_norm_eps)
        self.text_projection = nn.Parameter(torch.empty(cfg.text_width, cfg.embed_dim))
        self.logit_scale = nn.Parameter(torch.empty(()))
        # Not part of the state dict (open_clip registers it with persistent=False as well).
        self.register_buffer("attn_mask", build_causal_mask(cfg.context_length), persistent=False)

    def encode_image(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] normalised pixels -> [N, embed_dim] image features (not normalised)."""
        return self.visual(pixel_values)

    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """[N, context] token ids -> [N, embed_dim] text features (not normalised), read at eot."""
        x = self.token_embedding(input_ids) + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        # eot (49407) is the largest id in every row, so argmax finds its position. The cast keeps
        # ArgMax on int32, which every ONNX Runtime provider implements (int64 ArgMax is patchy).
        eot_index = input_ids.to(torch.int32).argmax(dim=-1).to(torch.int64)
        gather_index = eot_index.view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        pooled = x.gather(1, gather_index)[:, 0]  # [:, 0] rather than squeeze: squeeze exports as an If
        # ln_final is per token: normalising only the gathered row equals open_clip's order.
        return self.ln_final(pooled) @ self.text_projection


def build_causal_mask(context_length: int) -> torch.Tensor:
    """Additive mask: 0 on and below the diagonal, -inf above (a token sees only its past)."""
    mask = torch.full((context_length, context_length), float("-inf"))
    return mask.triu(1)


class ImageEncoder(nn.Module):
    """Export wrapper: pixel_values -> image_embeds."""

    def __init__(self, clip: CLIP) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_image(pixel_values)


class TextEncoder(nn.Module):
    """Export wrapper: input_ids -> text_embeds."""

    def __init__(self, clip: CLIP) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_text(input_ids)
