"""The README.md written into every package, generated from its manifest so the two never disagree."""

from __future__ import annotations

from typing import Dict, List


def _size(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB" if n >= 1024**2 else f"{n / 1024:.1f} KiB"


def render_readme(manifest: Dict[str, object]) -> str:
    arch = manifest["architecture"]
    source = manifest["source"]
    files: List[Dict[str, object]] = manifest["files"]  # type: ignore[assignment]
    lines: List[str] = [f"# {manifest['name']} (version {manifest['version']})", ""]
    if manifest["isStandIn"]:
        lines += [
            "> **This is NOT BioCLIP 2.** Its weights are random (seeded), so its embeddings carry no",
            "> biological meaning: similarities, classifications and neighbourhoods computed with it are",
            "> noise. It exists so the demo and the tests run without the real model, which cannot be",
            "> downloaded here. It has the same contract as the real package: 224 px RGB input,",
            f"> CLIP tokenizer (vocabulary {arch['vocab_size']:,}, context {arch['context_length']}),",
            f"> {manifest['embeddingDim']}-d image and text embeddings.",
            "",
            "To install the real BioCLIP 2 package, see `models/export/README.md`.",
            "",
        ]
    lines += [str(manifest["description"]), ""]
    lines += [
        "## Contents",
        "",
        "| file | role | precision | size |",
        "| --- | --- | --- | --- |",
    ]
    for entry in files:
        lines.append(f"| `{entry['path']}` | {entry['role']} | {entry['precision']} | {_size(int(entry['bytes']))} |")
    fused = [str(entry["path"]) for entry in files if entry.get("contribOps")]
    if fused:
        lines += [
            "",
            f"{', '.join(f'`{path}`' for path in fused)}: each attention block is onnxruntime's fused "
            "`com.microsoft.Attention` (manifest `contribOps`), which only onnxruntime runs (CPU and CUDA);",
            "`--attention standard` at export writes plain ONNX instead. fp16 and int8 files are always plain ONNX.",
        ]
    lines += [
        "",
        "`manifest.json` holds the sha256 of each file, the preprocessing (mode, mean, std,",
        "interpolation), the tokenizer reference and the input/output names. Outputs are not",
        "L2-normalised.",
        "",
        "## Architecture",
        "",
        f"open_clip-style CLIP ViT (`{arch['name']}`): vision {arch['vision_layers']} layers, width "
        f"{arch['vision_width']}, {arch['vision_heads']} heads, patch {arch['patch_size']}, image {arch['image_size']} px; "
        f"text {arch['text_layers']} layers, width {arch['text_width']}, {arch['text_heads']} heads; "
        f"embedding {arch['embed_dim']}; erf GELU; logit scale {manifest['logitScale']}.",
        "",
        "## How it was made",
        "",
    ]
    random_init = source.get("randomInit")  # type: ignore[union-attr]
    int8_roles = [str(entry["role"]) for entry in files if entry["precision"] == "int8" and entry["role"] != "external_data"]
    if random_init:
        int8_option = f" --int8 {','.join(int8_roles)}" if int8_roles else ""
        if not any(entry.get("contribOps") for entry in files):
            int8_option += " --attention standard"
        lines += [
            "```",
            f"cd models/export && /usr/bin/python3 -m arbor_export.export --random-init --seed {random_init['seed']} \\",
            f"  --config {arch['name']} --name {manifest['name']} --version {manifest['version']}{int8_option} --out <dir>",
            "```",
            "",
            f"Weights: numpy RandomState(seed={random_init['seed']}), open_clip key names and shapes; "
            f"weights fingerprint (state dict sha256) `{source['stateDictSha256']}`.",
        ]
    else:
        lines += [
            f"Exported by `models/export` from `{source['checkpoint']}` (sha256 `{source['sha256']}`"
            + (f", model hub id `{source['hubId']}`" if source.get("hubId") else "")
            + ").",
        ]
    quantization: Dict[str, Dict[str, object]] = manifest.get("quantization", {})  # type: ignore[assignment]
    if int8_roles:
        lines += ["", "## int8 encoders", ""]
        for role in int8_roles:
            made = quantization.get(role, {})
            lines.append(
                f"- {role}: dynamic int8 quantisation of `{made.get('from', '?')}` by `arbor_export.quantize` "
                f"({made.get('quantizedMatMuls', '?')} MatMuls; weights {made.get('weights', '?')}, activations uint8 at run time; "
                f"LayerNorm, attention products and the output projection stay fp32)."
            )
        lines += [
            "",
            "For CPU inference (onnxruntime's u8s8 kernels, AVX-512 VNNI where available). The service uses them",
            "only when asked: `MODEL_PRECISION=int8`, or per encoder, e.g. `MODEL_PRECISION=image:int8,text:fp32`.",
        ]
    lines.append("")
    return "\n".join(lines)
