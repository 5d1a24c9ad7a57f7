"""Write PyTorch reference embeddings for a model package, for the Node-side parity test.

    cd /work/main && /usr/bin/python3 models/tools/parity/make_parity_fixtures.py
        (defaults: package models/arbor-standin-v1 -> services/inference/test/parity/fixtures)
    /usr/bin/python3 models/tools/parity/make_parity_fixtures.py \\
        --package models/build/vit-l-14-random --out models/build/vit-l-14-random/parity

The reference model is arbor_export's pure-torch CLIP with the package's own weights: regenerated
from the manifest's seed for a random-init package (and checked against its weights fingerprint),
or loaded from --checkpoint for a real one. Inputs are fixed: four synthetic 224x224 RGB images
(stored as uint8, normalised with the manifest's mean/std in float32) and token rows from a
reference CLIP BPE. Outputs: parity.json (inputs' metadata, token ids, expected embeddings) and
images.u8.bin (NHWC uint8).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "models" / "export"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from arbor_export import checkpoint as ckpt  # noqa: E402
from arbor_export.model import CONFIGS, ClipConfig  # noqa: E402
from reference_bpe import ReferenceBpe  # noqa: E402

IMAGE_SEED = 20261128
TEXTS = [
    "a photo of Turdus migratorius.",
    "Animalia Chordata Aves Passeriformes Turdidae Turdus migratorius with common name American Robin",
    "a photo of a red fox (Vulpes vulpes), 2 kits & 1 vixen!",
    # Longer than the context: exercises truncation that keeps eot in the last slot.
    " ".join(["Quercus robur"] * 40),
]


def synthetic_images(size: int) -> np.ndarray:
    """Four deterministic, visibly different RGB images, NHWC uint8."""
    rng = np.random.RandomState(IMAGE_SEED)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    gradient = np.stack([xx, yy, 1.0 - xx * yy], axis=-1) * 255.0
    blocks = np.kron(rng.randint(0, 256, size=(8, 8, 3)), np.ones((size // 8, size // 8, 1)))
    noise = rng.randint(0, 256, size=(size, size, 3)).astype(np.float64)
    disc = ((xx - 0.45) ** 2 + (yy - 0.55) ** 2 < 0.09)[..., None] * np.array([40.0, 200.0, 70.0])
    disc = disc + 20.0 + rng.normal(0.0, 6.0, size=(size, size, 3))
    images = np.stack([gradient, blocks, noise, disc])
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def normalise(images: np.ndarray, mean: List[float], std: List[float]) -> np.ndarray:
    """NHWC uint8 -> NCHW float32, every step in float32 (the Node test repeats it bit for bit)."""
    x = images.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def reference_model(manifest: Dict, checkpoint: Path | None):
    arch = dict(manifest["architecture"])
    config_name = arch.pop("name")
    cfg = ClipConfig(**arch)
    if CONFIGS.get(config_name) not in (None, cfg):
        raise SystemExit(f"manifest architecture differs from arbor_export config {config_name!r}")
    source = manifest["source"]
    if checkpoint is not None:
        state = ckpt.load_checkpoint(checkpoint)
    elif source.get("randomInit"):
        state = ckpt.random_state_dict(cfg, int(source["randomInit"]["seed"]))
    else:
        raise SystemExit("this package was exported from a checkpoint: pass --checkpoint")
    digest = ckpt.state_dict_sha256(state)
    if digest != source["stateDictSha256"]:
        raise SystemExit(f"weights fingerprint {digest} differs from the manifest's {source['stateDictSha256']}")
    return ckpt.build_model(cfg, state), digest


def float32_list(values: np.ndarray) -> List[float]:
    # Shortest decimal that reads back to the same float32: half the JSON of a float64 repr.
    return [float(np.format_float_positional(v, unique=True, trim="-")) for v in values.astype(np.float32)]


def compact_json(value: object) -> str:
    """Indented JSON with each list of numbers kept on one line."""
    text = json.dumps(value, indent=2)
    return re.sub(r"\[[-0-9.e,\s]+\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--package", type=Path, default=REPO_ROOT / "models" / "arbor-standin-v1")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "services" / "inference" / "test" / "parity" / "fixtures")
    p.add_argument("--checkpoint", type=Path, help="weights of a package exported from a checkpoint")
    p.add_argument("--tokenizer-file", type=Path, default=REPO_ROOT / "models" / "tokenizer" / "bpe_simple_vocab_16e6.txt.gz")
    args = p.parse_args()

    manifest = json.loads((args.package / "manifest.json").read_text())
    model, digest = reference_model(manifest, args.checkpoint)
    size = int(manifest["imageSize"])
    pre = manifest["preprocessing"]

    images = synthetic_images(size)
    pixels = normalise(images, pre["mean"], pre["std"])
    bpe = ReferenceBpe(args.tokenizer_file)
    rows = [bpe.tokenize(text) for text in TEXTS]
    with torch.no_grad():
        image_embeds = model.encode_image(torch.from_numpy(pixels)).numpy()
        text_embeds = model.encode_text(torch.tensor(rows, dtype=torch.int64)).numpy()

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "images.u8.bin").write_bytes(images.tobytes())
    fixture = {
        "generatedBy": "models/tools/parity/make_parity_fixtures.py",
        "package": {"name": manifest["name"], "version": manifest["version"], "stateDictSha256": digest},
        "reference": {"torch": torch.__version__, "numpy": np.__version__},
        "images": {
            "file": "images.u8.bin",
            "layout": "NHWC",
            "dtype": "uint8",
            "shape": list(images.shape),
            "mean": pre["mean"],
            "std": pre["std"],
            # Exact sum of each float32 NCHW tensor: lets the Node side check it rebuilt the input.
            "pixelSums": [math.fsum(p_.astype(np.float64).ravel()) for p_ in pixels],
        },
        "texts": [{"text": text, "inputIds": row} for text, row in zip(TEXTS, rows)],
        "imageEmbeds": [float32_list(row) for row in image_embeds],
        "textEmbeds": [float32_list(row) for row in text_embeds],
    }
    (args.out / "parity.json").write_text(compact_json(fixture))
    print(f"wrote {args.out}/parity.json and images.u8.bin: {len(images)} images, {len(rows)} texts, weights {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
