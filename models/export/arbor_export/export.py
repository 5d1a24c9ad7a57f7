"""CLI: open_clip checkpoint (or seeded random weights) -> Arbor model package.

    /usr/bin/python3 -m arbor_export.export --checkpoint open_clip_pytorch_model.bin \\
        --config vit-l-14 --out ../bioclip-2 --name bioclip-2 --version 1 [--fp16]
    /usr/bin/python3 -m arbor_export.export --random-init --seed 0 --config standin-v1 \\
        --out ../arbor-standin-v1 --name arbor-standin --version 1 --int8 image_encoder

The package is built in a sibling temporary directory and renamed into place at the end, so a
failed or interrupted export never leaves a half-written package behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import onnx
import torch

from . import checkpoint as ckpt
from .fp16 import convert_to_fp16
from .fuse_attention import FUSED_OP, fuse_encoder_file
from .manifest import PREPROCESSING_MODES, PackageFile, build_manifest, describe_file, tokenizer_section
from .model import CONFIGS
from .onnx_export import OPSET, export_encoder, op_histogram, save_model
from .package_readme import render_readme
from .quantize import ENCODER_ROLES, Int8Options, describe_report, parse_roles, write_int8_encoder

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TOKENIZER = REPO_ROOT / "models" / "tokenizer" / "bpe_simple_vocab_16e6.txt.gz"
BIOCLIP2_HUB_ID = "imageomics/bioclip-2"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="arbor_export.export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("weights")
    src.add_argument("--checkpoint", type=Path, help="open_clip state dict (open_clip_pytorch_model.bin)")
    src.add_argument("--random-init", action="store_true", help="seeded random weights instead of a checkpoint")
    src.add_argument("--seed", type=int, default=0, help="seed for --random-init (default 0)")
    src.add_argument("--write-checkpoint", type=Path, help="with --random-init: also torch.save the random state dict here")
    p.add_argument("--config", choices=sorted(CONFIGS), default="vit-l-14")
    p.add_argument("--out", type=Path, required=True, help="package directory to create")
    p.add_argument("--name", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--description")
    p.add_argument("--license", dest="license_id", help="licence of the weights (default: MIT for a checkpoint, CC0-1.0 for random weights)")
    p.add_argument("--stand-in", action="store_true", help="mark as stand-in even with a real checkpoint (implied by --random-init)")
    p.add_argument("--hub-id", help=f"model hub id recorded as the source (default {BIOCLIP2_HUB_ID} for a checkpoint)")
    p.add_argument("--preprocessing", choices=sorted(PREPROCESSING_MODES), default="open_clip")
    p.add_argument("--fp16", action="store_true", help="also write float16 encoders (*.fp16.onnx), meant for CUDA")
    p.add_argument("--no-fp32", action="store_true", help="with --fp16: write only the float16 encoders")
    p.add_argument("--int8", nargs="?", const=",".join(ENCODER_ROLES), metavar="ROLES",
                   help="also write int8 encoders (*.int8.onnx, dynamic quantisation for CPU, as arbor_export.quantize "
                        "with its defaults); ROLES: comma-separated, default both (image_encoder,text_encoder)")
    p.add_argument("--attention", choices=["fused", "standard"], default="fused",
                   help=f"fp32 encoders: fused = each block's attention as onnxruntime's {FUSED_OP} (faster; onnxruntime "
                        "only), standard = plain ONNX ops. fp16 and int8 files always use the standard graph")
    p.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                   help="weights in a separate <file>.data: auto = only past protobuf's 2 GB limit")
    p.add_argument("--tokenizer-file", type=Path, default=DEFAULT_TOKENIZER, help="merges file to fingerprint")
    p.add_argument("--tokenizer-ref", help="how the manifest names the tokenizer file (default: path relative to --out)")
    p.add_argument("--force", action="store_true", help="replace an existing package directory")
    args = p.parse_args(argv)
    if args.random_init == (args.checkpoint is not None):
        p.error("give exactly one of --checkpoint or --random-init")
    if args.write_checkpoint and not args.random_init:
        p.error("--write-checkpoint only applies to --random-init")
    if args.no_fp32 and not args.fp16:
        p.error("--no-fp32 needs --fp16")
    args.int8_roles = []
    if args.int8 is not None:
        if args.no_fp32:
            p.error("--int8 quantises the fp32 encoders: it cannot be combined with --no-fp32")
        try:
            args.int8_roles = parse_roles(args.int8)
        except ValueError as error:
            p.error(f"--int8: {error}")
    return args


def log(message: str) -> None:
    print(f"[arbor_export] {message}", flush=True)


def default_description(args: argparse.Namespace) -> str:
    if args.random_init:
        return (
            f"Random weights (seed {args.seed}) in the shape of config '{args.config}'. NOT BioCLIP 2: "
            "embeddings carry no biological meaning. For demos and tests only."
        )
    return f"BioCLIP 2 ({args.hub_id or BIOCLIP2_HUB_ID}), open_clip ViT-L-14, exported to ONNX by models/export."


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = CONFIGS[args.config]
    out: Path = args.out.resolve()
    if out.exists() and not args.force:
        log(f"{out} exists; pass --force to replace it")
        return 2
    if not args.tokenizer_file.is_file():
        log(f"tokenizer file {args.tokenizer_file} not found (needed for its sha256); pass --tokenizer-file")
        return 2
    timings: Dict[str, float] = {}
    started = time.perf_counter()

    # 1. weights
    t0 = time.perf_counter()
    if args.random_init:
        state = ckpt.random_state_dict(cfg, args.seed)
        source: Dict[str, object] = {"checkpoint": None, "sha256": None, "hubId": None,
                                     "randomInit": {"seed": args.seed, "generator": "numpy.random.RandomState", "config": args.config}}
        if args.write_checkpoint:
            args.write_checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save(state, str(args.write_checkpoint))
            source["checkpoint"] = args.write_checkpoint.name
            source["sha256"] = ckpt.file_sha256(args.write_checkpoint)
            log(f"wrote random checkpoint {args.write_checkpoint}")
    else:
        state = ckpt.load_checkpoint(args.checkpoint)
        source = {"checkpoint": args.checkpoint.name, "sha256": ckpt.file_sha256(args.checkpoint),
                  "hubId": args.hub_id or BIOCLIP2_HUB_ID, "randomInit": None}
    source["stateDictSha256"] = ckpt.state_dict_sha256(state)
    model = ckpt.build_model(cfg, state)
    counts = ckpt.parameter_count(state)
    timings["weights_s"] = time.perf_counter() - t0
    log(f"weights ready: {counts['total']:,} parameters (vision {counts['visual']:,}, text {counts['text']:,}) in {timings['weights_s']:.1f}s")

    is_stand_in = args.random_init or args.stand_in
    metadata_base = {"arbor.name": args.name, "arbor.version": str(args.version), "arbor.isStandIn": json.dumps(is_stand_in)}

    # 2. encoders, built next to the final directory and renamed into place at the end
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    entries: List[PackageFile] = []
    quantization: Dict[str, object] = {}
    try:
        for role in ("image_encoder", "text_encoder"):
            t0 = time.perf_counter()
            doc = f"{args.name} v{args.version} {role}" + (" (STAND-IN, random weights: not BioCLIP 2)" if is_stand_in else "")
            fp32_path = staging / f"{role}.onnx"
            proto, written = export_encoder(model, role, fp32_path, {**metadata_base, "arbor.role": role, "arbor.precision": "fp32"},
                                            doc, args.external_data)
            timings[f"{role}_fp32_s"] = time.perf_counter() - t0
            log(f"{role}: fp32 graph in {timings[f'{role}_fp32_s']:.1f}s, ops {' '.join(op_histogram(proto))}")
            if args.no_fp32:
                fp32_path.unlink()
                if written.external_data:
                    written.external_data.unlink()
            else:
                contrib_ops = (FUSED_OP,) if args.attention == "fused" else ()
                entries.append(PackageFile(fp32_path.name, role, "fp32", contrib_ops=contrib_ops))
                if written.external_data:
                    entries.append(PackageFile(written.external_data.name, "external_data", "fp32", fp32_path.name))
            if args.fp16:
                t0 = time.perf_counter()
                half, report = convert_to_fp16(proto)
                del proto
                for prop in half.metadata_props:
                    if prop.key == "arbor.precision":
                        prop.value = "fp16"
                half_path = staging / f"{role}.fp16.onnx"
                half_written = save_model(half, half_path, args.external_data)
                timings[f"{role}_fp16_s"] = time.perf_counter() - t0
                log(f"{role}: fp16 graph in {timings[f'{role}_fp16_s']:.1f}s ({report.converted_tensors} tensors, "
                    f"{report.clamped_values} values clamped to the fp16 range, {report.underflowed_values} flushed to 0)")
                entries.append(PackageFile(half_path.name, role, "fp16"))
                if half_written.external_data:
                    entries.append(PackageFile(half_written.external_data.name, "external_data", "fp16", half_path.name))
            proto = None  # the int8 pass reads the fp32 file back; do not hold two copies of the graph
            if role in args.int8_roles:
                t0 = time.perf_counter()
                fp32_entry = describe_file(staging, PackageFile(fp32_path.name, role, "fp32"))
                int8_file, quantization[role], report = write_int8_encoder(staging, fp32_entry, Int8Options())
                entries.append(int8_file)
                timings[f"{role}_int8_s"] = time.perf_counter() - t0
                log(f"{describe_report(role, report, (staging / int8_file.path).stat().st_size)} in {timings[f'{role}_int8_s']:.1f}s")
            if args.attention == "fused" and not args.no_fp32:
                # After the int8 pass, which needs the standard graph's QKV MatMuls.
                t0 = time.perf_counter()
                heads, layers = (cfg.vision_heads, cfg.vision_layers) if role == "image_encoder" else (cfg.text_heads, cfg.text_layers)
                fusion = fuse_encoder_file(fp32_path, heads, layers, args.external_data)
                if role in quantization:
                    quantization[role]["fromGraph"] = "the standard fp32 graph, before attention fusion"  # type: ignore[index]
                timings[f"{role}_fuse_s"] = time.perf_counter() - t0
                log(f"{role}: fp32 attention fused into {FUSED_OP} in {fusion.fused} blocks ({fusion.causal} causal) "
                    f"in {timings[f'{role}_fuse_s']:.1f}s")

        tokenizer_ref = args.tokenizer_ref or os.path.relpath(args.tokenizer_file.resolve(), out)
        manifest = build_manifest(
            name=args.name,
            version=str(args.version),
            description=args.description or default_description(args),
            license_id=args.license_id or ("CC0-1.0" if args.random_init else "MIT"),
            is_stand_in=is_stand_in,
            config_name=args.config,
            cfg=cfg,
            logit_scale_param=float(state["logit_scale"]),
            preprocessing_mode=args.preprocessing,
            tokenizer=tokenizer_section(cfg, tokenizer_ref, ckpt.file_sha256(args.tokenizer_file)),
            files=[describe_file(staging, e) for e in entries],
            source=source,
            exporter={"tool": "arbor_export", "torch": torch.__version__, "onnx": onnx.__version__, "opset": OPSET},
            quantization=quantization or None,
        )
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (staging / "README.md").write_text(render_readme(manifest))

        if out.exists():
            retired = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(retired)
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    total = sum(int(f["bytes"]) for f in manifest["files"])  # type: ignore[index]
    log(f"package {out}: {len(entries)} files, {total / 1024**2:.1f} MiB, total {time.perf_counter() - started:.1f}s")
    print(json.dumps({"out": str(out), "bytes": total, "timings": {k: round(v, 2) for k, v in timings.items()}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
