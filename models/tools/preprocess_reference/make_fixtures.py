#!/usr/bin/python3
"""Reference pixel tensors for services/inference/src/preprocess (dev tool, not run by tests).

Runs the two BioCLIP 2 preprocessing pipelines with the real Python libraries (Pillow + torchvision)
on the real photos in test/fixtures/images/ and on synthetic edge-case images that this script
generates, and writes compact reference tensors plus manifest.json into
services/inference/test/preprocess/fixtures/. The TypeScript tests compare against those files, so
tests never need Python.

Usage (Debian 12): apt-get install -y python3-pil python3-numpy python3-torch python3-torchvision
                   /usr/bin/python3 models/tools/preprocess_reference/make_fixtures.py

The pipelines are copied from the upstream sources, not paraphrased:
- "open_clip": open_clip `image_transform(224, is_train=False)` with resize_mode 'shortest' and
  interpolation 'bicubic': Resize(224, BICUBIC) -> CenterCrop(224) -> convert('RGB') -> ToTensor ->
  Normalize. Resize is torchvision's on a PIL image, i.e. PIL's Image.resize (antialiased bicubic,
  a = -0.5) on the image in its original mode. open_clip does not transpose EXIF itself; Arbor's
  open_clip mode does by default, so the reference calls ImageOps.exif_transpose first.
- "pybioclip": pybioclip `predict.py` `preprocess_img` for TOL_MODELS (BioCLIP and BioCLIP 2):
  PIL.Image.open(path).convert('RGB') (no EXIF transpose) -> ToTensor -> Resize((224, 224),
  antialias=True) (default BILINEAR, on a float tensor: torch interpolate bilinear with antialias)
  -> Normalize.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, ImageDraw, ImageOps
from torchvision import transforms
from torchvision.transforms import InterpolationMode

REPO = Path(__file__).resolve().parents[3]
PHOTOS = REPO / "test" / "fixtures" / "images"
FIXTURES = REPO / "services" / "inference" / "test" / "preprocess" / "fixtures"
INPUTS = FIXTURES / "inputs"
REFERENCE = FIXTURES / "reference"

SIZE = 224
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

OPEN_CLIP_UNNORMALISED = transforms.Compose(
    [
        transforms.Resize(SIZE, interpolation=InterpolationMode.BICUBIC),
        transforms.CenterCrop(SIZE),
        lambda image: image.convert("RGB"),
        transforms.ToTensor(),
    ]
)
PYBIOCLIP_UNNORMALISED = transforms.Compose(
    [
        transforms.ToTensor(),
        transforms.Resize((SIZE, SIZE), antialias=True),
    ]
)
NORMALIZE = transforms.Normalize(mean=MEAN, std=STD)


# ---------------------------------------------------------------- synthetic inputs

def scene(width: int, height: int, seed: int) -> np.ndarray:
    """Deterministic RGB test card: gradients, hard edges, one-pixel lines and sparse impulses, so both
    smooth areas and high frequencies (where resampling kernels differ) are exercised while the
    files stay compressible (no dense noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    rgb = np.stack([u, v, 1.0 - 0.5 * (u + v)], axis=-1) * 255.0
    cx, cy, r = 0.62 * width, 0.45 * height, 0.28 * min(width, height)
    disc = (x - cx) ** 2 + (y - cy) ** 2 < r ** 2
    rgb[disc] = (230.0, 40.0, 60.0)
    stripes = (x.astype(int) // max(width // 40, 1)) % 2 == 0
    band = (y > 0.75 * height) & (y < 0.9 * height)
    rgb[band & stripes] = (20.0, 20.0, 20.0)
    rgb[band & ~stripes] = (250.0, 250.0, 235.0)
    rgb[:, (x[0].astype(int) % 37) == 5] = (0.0, 200.0, 255.0)
    speckle = rng.random((height, width)) < 0.002  # isolated single-pixel impulses
    rgb[speckle] = 255.0 - rgb[speckle]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray, bit_depth: int, colour_type: int) -> bytes:
    """Minimal PNG writer (filter 'Sub' on every row): Pillow cannot write 16-bit RGB PNGs."""
    height, width = pixels.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = np.frombuffer(pixels.astype(dtype).tobytes(), np.uint8).reshape(height, -1).astype(np.int64)
    pixel_bytes = rows.shape[1] // width
    left = np.pad(rows, ((0, 0), (pixel_bytes, 0)))[:, :-pixel_bytes]
    sub = ((rows - left) & 0xFF).astype(np.uint8)
    raw = b"".join(b"\x01" + row.tobytes() for row in sub)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write_synthetic_inputs() -> list[dict]:
    INPUTS.mkdir(parents=True, exist_ok=True)
    made = []

    def save(name: str, data: bytes, what: str, note: str = "") -> None:
        (INPUTS / name).write_bytes(data)
        made.append({"id": Path(name).stem, "path": f"services/inference/test/preprocess/fixtures/inputs/{name}",
                     "what": what, "note": note})

    def jpeg(image: Image.Image, **kwargs) -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90, **kwargs)
        return out.getvalue()

    def pil_png(image: Image.Image) -> bytes:
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        return out.getvalue()

    base = scene(320, 240, seed=1)
    save("grey.jpg", jpeg(Image.fromarray(base).convert("L")), "8-bit greyscale JPEG, 320x240")
    save("cmyk.jpg", jpeg(Image.fromarray(base).convert("CMYK")), "CMYK JPEG (Adobe marker), 320x240")

    rgba = np.dstack([scene(400, 300, seed=2), np.full((300, 400), 255, np.uint8)])
    yy, xx = np.mgrid[0:300, 0:400]
    rgba[:, :, 3] = np.where(xx < 100, 0, np.where(xx < 250, (xx - 100) * 255 // 150, 255))
    rgba[(xx < 100) & (yy < 150), :3] = (255, 0, 255)  # vivid colour under full transparency
    rgba[(xx < 100) & (yy >= 150), :3] = (0, 255, 0)
    save("rgba.png", pil_png(Image.fromarray(rgba, "RGBA")), "RGBA PNG, 400x300, alpha 0 | ramp | 255",
         "colour under alpha 0 is kept by PIL convert('RGB'); nothing is composited")

    rgb16 = scene(240, 180, seed=3).astype(np.uint16) * 257
    yy16, xx16 = np.mgrid[0:180, 0:240]
    low = ((xx16 * 37 + yy16 * 11) % 256)[:, :, None] - 128  # low byte differs from the high byte
    rgb16 = np.clip(rgb16.astype(np.int64) + low, 0, 65535).astype(np.uint16)
    save("rgb16.png", png_bytes(rgb16, 16, 2), "16-bit RGB PNG, 240x180, low bytes non-zero",
         "Pillow keeps the high byte of each sample")

    grey16 = np.asarray(Image.fromarray(scene(320, 240, seed=5)).convert("L")).astype(np.uint16) * 257
    save("grey16.png", png_bytes(grey16, 16, 0), "16-bit greyscale PNG, 320x240 (= 8-bit grey x 257)",
         "Pillow opens it as mode I and convert('RGB') clips at 255 (almost all white); the reference "
         "is made from the image scaled to 8 bits (v >> 8) instead, which is what Arbor does")

    palette = Image.fromarray(scene(300, 200, seed=6)).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    save("palette.png", pil_png(palette), "palette (P mode) PNG, 16 colours, 300x200",
         "Pillow resizes P-mode images with NEAREST whatever the requested filter (open_clip mode)")

    oriented = scene(320, 200, seed=7)
    oriented[:50, :80] = (255, 255, 0)  # marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    save("exif6.jpg", jpeg(Image.fromarray(oriented), exif=exif.tobytes()),
         "RGB JPEG 320x200 stored, EXIF Orientation 6 (displays as 200x320)")

    save("tiny.png", pil_png(Image.new("RGB", (1, 1), (200, 120, 40))), "1x1 RGB PNG")
    save("wide.jpg", jpeg(Image.fromarray(scene(1200, 24, seed=8))), "RGB JPEG 1200x24 (50:1)")
    return made


# ---------------------------------------------------------------- references

def open_for_reference(path: Path) -> Image.Image:
    image = Image.open(path)
    if image.mode == "I" and path.name == "grey16.png":
        # Documented deviation (see the input's note): scale 16 -> 8 bits instead of clipping.
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8), "L")
    return image


def reference(path: Path, mode: str, exif: bool) -> torch.Tensor:
    image = open_for_reference(path)
    if exif:
        image = ImageOps.exif_transpose(image)
    if mode == "open_clip":
        return OPEN_CLIP_UNNORMALISED(image)
    return PYBIOCLIP_UNNORMALISED(image.convert("RGB"))


def encode(unit: torch.Tensor) -> tuple[dict, bytes]:
    """Values in [0, 1], CHW. open_clip references are exact multiples of 1/255 (PIL works in 8 bits)
    and are stored losslessly with scale 255 in one byte; pybioclip references are float and are
    quantised with scale 4095 into two bytes (error <= 1.23e-4, i.e. <= 4.7e-4 in normalised units,
    about 1/30 of one 8-bit level). Each row is delta-coded (modulo 2^bits) and, for two-byte
    samples, split into a high-byte plane followed by a low-byte plane before gzip, so the files stay
    small."""
    x = unit.numpy().astype(np.float64)
    q8 = np.rint(x * 255.0)
    if np.abs(q8 / 255.0 - x).max() < 1e-6:
        encoding, q = {"scale": 255, "bytesPerSample": 1}, q8.astype(np.int64)
    else:
        encoding, q = {"scale": 4095, "bytesPerSample": 2}, np.rint(x * 4095.0).astype(np.int64)
    delta = np.diff(q, axis=-1, prepend=0)
    if encoding["bytesPerSample"] == 1:
        coded = (delta & 0xFF).astype(np.uint8).tobytes()
    else:
        d16 = delta & 0xFFFF
        coded = (d16 >> 8).astype(np.uint8).tobytes() + (d16 & 0xFF).astype(np.uint8).tobytes()
    return encoding, gzip.compress(coded, 9, mtime=0)


def channel_stats(normalised: torch.Tensor) -> dict:
    n = normalised.numpy().astype(np.float64)
    return {"mean": [round(float(c.mean()), 6) for c in n], "std": [round(float(c.std()), 6) for c in n]}


def main() -> int:
    synthetic = write_synthetic_inputs()
    photos = sorted(PHOTOS.glob("cameratrapai/*.jpg")) + [PHOTOS / "pybioclip" / "mycat.jpg"]
    real = [{"id": p.stem, "path": str(p.relative_to(REPO)), "what": "real photo", "note": ""} for p in photos]

    REFERENCE.mkdir(parents=True, exist_ok=True)
    for stale in REFERENCE.glob("*.gz"):
        stale.unlink()

    cases = []
    for image in real + synthetic:
        variants = [("open_clip", True), ("pybioclip", False)]
        if image["id"] == "exif6":
            variants += [("open_clip", False), ("pybioclip", True)]
        for mode, exif in variants:
            unit = reference(REPO / image["path"], mode, exif)
            assert tuple(unit.shape) == (3, SIZE, SIZE), unit.shape
            encoding, blob = encode(unit)
            file = f"{image['id']}.{mode}.exif-{'on' if exif else 'off'}.gz"
            (REFERENCE / file).write_bytes(blob)
            cases.append({
                "image": image["id"], "mode": mode, "applyExifOrientation": exif,
                "file": f"reference/{file}", "encoding": encoding,
                "stats": channel_stats(NORMALIZE(unit.clone())),
            })
            print(f"{file:58s} {len(blob) / 1024:7.1f} KiB", file=sys.stderr)

    inputs = []
    for image in real + synthetic:
        data = (REPO / image["path"]).read_bytes()
        inputs.append({**image, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "generator": "models/tools/preprocess_reference/make_fixtures.py",
        "versions": {"pillow": PIL.__version__, "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "numpy": np.__version__},
        "size": SIZE, "mean": MEAN, "std": STD,
        "layout": "gzip of the unnormalised [0,1] tensor, CHW, value = q / encoding.scale; each row of q "
                  "delta-coded (d[i] = q[i] - q[i-1], q[-1] = 0) modulo 2^(8 * bytesPerSample); two-byte "
                  "samples stored as all high bytes, then all low bytes",
        "inputs": inputs, "cases": cases,
    }
    (FIXTURES / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
