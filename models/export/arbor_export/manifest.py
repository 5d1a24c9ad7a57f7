"""The package's manifest.json: everything a service needs to run the encoders without this tool."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .checkpoint import file_sha256
from .model import ClipConfig

MANIFEST_SCHEMA_VERSION = 1

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# open_clip's own transform: bicubic resize of the shortest side, then a centre crop.
# pybioclip: ToTensor then Resize((224, 224), antialias=True), torchvision's default bilinear,
# squashing the whole image without a crop.
PREPROCESSING_MODES: Dict[str, Dict[str, object]] = {
    "open_clip": {"interpolation": "bicubic", "resize": "shortest_edge_then_center_crop", "antialias": True},
    "pybioclip": {"interpolation": "bilinear", "resize": "squash", "antialias": True},
}

TOKENIZER_ID = "openai-clip-bpe-16e6"
SOT_TOKEN = 49406
EOT_TOKEN = 49407


@dataclass(frozen=True)
class PackageFile:
    path: str  # relative to the package directory
    role: str  # image_encoder | text_encoder | external_data
    precision: str  # fp32 | fp16 | int8
    data_for: Optional[str] = None  # for external_data: the .onnx file it belongs to
    contrib_ops: Tuple[str, ...] = ()  # operators outside the ONNX standard (only onnxruntime runs them)


def describe_file(package_dir: Path, entry: PackageFile) -> Dict[str, object]:
    full = package_dir / entry.path
    described: Dict[str, object] = {
        "path": entry.path,
        "sha256": file_sha256(full),
        "bytes": full.stat().st_size,
        "role": entry.role,
        "precision": entry.precision,
    }
    if entry.data_for is not None:
        described["dataFor"] = entry.data_for
    if entry.contrib_ops:
        described["contribOps"] = list(entry.contrib_ops)
    return described


def tokenizer_section(cfg: ClipConfig, tokenizer_ref: str, tokenizer_sha256: Optional[str]) -> Dict[str, object]:
    section: Dict[str, object] = {
        "id": TOKENIZER_ID,
        "file": tokenizer_ref,
        "vocabSize": cfg.vocab_size,
        "contextLength": cfg.context_length,
        "sot": SOT_TOKEN,
        "eot": EOT_TOKEN,
        "padId": 0,
    }
    if tokenizer_sha256 is not None:
        section["sha256"] = tokenizer_sha256
    return section


def build_manifest(
    *,
    name: str,
    version: str,
    description: str,
    license_id: str,
    is_stand_in: bool,
    config_name: str,
    cfg: ClipConfig,
    logit_scale_param: float,
    preprocessing_mode: str,
    tokenizer: Dict[str, object],
    files: List[Dict[str, object]],
    source: Dict[str, object],
    exporter: Dict[str, object],
    quantization: Optional[Dict[str, object]] = None,
    created_at: Optional[str] = None,
) -> Dict[str, object]:
    mode = PREPROCESSING_MODES[preprocessing_mode]
    manifest: Dict[str, object] = {
        "schemaVersion": MANIFEST_SCHEMA_VERSION,
        "name": name,
        "version": version,
        "description": description,
        "license": license_id,
        "isStandIn": is_stand_in,
        "embeddingDim": cfg.embed_dim,
        # The multiplier itself (exp of the checkpoint's logit_scale parameter).
        "logitScale": round(math.exp(logit_scale_param), 4),
        "imageSize": cfg.image_size,
        "preprocessing": {
            "mode": preprocessing_mode,
            "mean": list(OPENAI_CLIP_MEAN),
            "std": list(OPENAI_CLIP_STD),
            **mode,
        },
        "tokenizer": tokenizer,
        "io": {
            "image": {"input": "pixel_values", "inputType": "float32", "inputShape": ["batch", 3, cfg.image_size, cfg.image_size],
                      "output": "image_embeds", "outputShape": ["batch", cfg.embed_dim]},
            "text": {"input": "input_ids", "inputType": "int64", "inputShape": ["batch", cfg.context_length],
                     "output": "text_embeds", "outputShape": ["batch", cfg.embed_dim]},
            # Outputs are raw projections; callers L2-normalise before cosine or logits.
            "normalized": False,
        },
        "architecture": {"name": config_name, **cfg.to_dict()},
        "files": files,
        "source": source,
        "exporter": exporter,
        "createdAt": created_at or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    if quantization:
        # How each int8 encoder was made, by role (the same record arbor_export.quantize writes).
        manifest["quantization"] = quantization
    return manifest
