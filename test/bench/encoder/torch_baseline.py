#!/usr/bin/python3
"""PyTorch reference (the anchor) for `npm run bench -- encoder`.

Runs the export tooling's pure-torch CLIP (models/export/arbor_export/model.py) with the same
checkpoint the ONNX package was exported from, so ONNX Runtime and PyTorch see the same weights
and, through the files the benchmark writes, the same inputs. It is a worker: one JSON request
per stdin line, one JSON reply per stdout line, so the benchmark can interleave PyTorch runs with
ONNX Runtime runs in one process tree. Requests:

  {"cmd": "info"}                                       versions, threads, which BLAS is loaded, GEMM rate
  {"cmd": "load", "checkpoint": PATH, "config": NAME}   build the model (strict key/shape load)
  {"cmd": "run", "encoder": "image"|"text", "input": PATH, "dtype": "float32"|"int64",
   "shape": [...], "output": PATH}                      one forward pass; replies {"ms": ...}
  {"cmd": "gemm"}                                       float32 GEMM GFLOP/s (2056x1024 @ 1024x4096)

Use Debian's /usr/bin/python3 (python3-torch 1.13.1). OPENBLAS_CORETYPE, when set by the caller,
must be in the environment before torch loads OpenBLAS; `info` reports the kernel OpenBLAS picked.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "models" / "export"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from arbor_export import checkpoint as ckpt  # noqa: E402
from arbor_export.model import CONFIGS  # noqa: E402

# The ViT-L/14 MLP GEMM at batch 8: 8 x 257 tokens, width 1024 -> 4096.
GEMM_SHAPE = (2056, 1024, 4096)


def loaded_blas_libraries() -> List[str]:
    """Shared objects mapped into this process whose name says BLAS (reference or OpenBLAS)."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if "blas" in name or "lapack" in name or "mkl" in name:
                found.add(os.path.realpath(path))
    return sorted(found)


def openblas_facts(libraries: List[str]) -> Dict[str, object]:
    """OpenBLAS's own report (kernel family picked, build config, thread count), if it is loaded."""
    for path in libraries:
        try:
            lib = ctypes.CDLL(path)
            corename = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        config = lib.openblas_get_config
        config.restype = ctypes.c_char_p
        return {
            "library": path,
            "corename": corename().decode(),
            "config": config().decode().strip(),
            "threads": int(lib.openblas_get_num_threads()),
        }
    return {"library": None}


def cpu_capability() -> Optional[str]:
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return None


def gemm_gflops(repeats: int = 10) -> float:
    m, k, n = GEMM_SHAPE
    a = torch.randn(m, k)
    b = torch.randn(k, n)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    # Best of several: on a shared machine the fastest repeat is the closest to the kernel's rate.
    return 2 * m * k * n / best / 1e9


class Worker:
    def __init__(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self.threads = threads
        self.model: Optional[torch.nn.Module] = None
        self.inputs: Dict[str, torch.Tensor] = {}

    def info(self, _: Dict[str, object]) -> Dict[str, object]:
        libraries = loaded_blas_libraries()
        return {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            "threads": torch.get_num_threads(),
            "interopThreads": torch.get_num_interop_threads(),
            # ATen's own vector kernels (GELU, LayerNorm, softmax); GEMMs go to the BLAS below.
            "cpuCapability": cpu_capability(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "blas": {
                "libraries": libraries,
                "openblas": openblas_facts(libraries),
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                "gemmGflops": round(gemm_gflops(), 1),
                "gemmShape": list(GEMM_SHAPE),
            },
            "config": torch.__config__.show(),
        }

    def gemm(self, _: Dict[str, object]) -> Dict[str, object]:
        return {"gflops": round(gemm_gflops(), 1), "shape": list(GEMM_SHAPE)}

    def load(self, request: Dict[str, object]) -> Dict[str, object]:
        t0 = time.perf_counter()
        cfg = CONFIGS[str(request["config"])]
        state = ckpt.load_checkpoint(Path(str(request["checkpoint"])))
        fingerprint = ckpt.state_dict_sha256(state)
        self.model = ckpt.build_model(cfg, state)
        del state
        return {"stateDictSha256": fingerprint, "seconds": round(time.perf_counter() - t0, 1)}

    def run(self, request: Dict[str, object]) -> Dict[str, object]:
        if self.model is None:
            raise RuntimeError("load a checkpoint first")
        path = str(request["input"])
        shape = [int(d) for d in request["shape"]]  # type: ignore[union-attr]
        key = f"{path}:{shape}"
        if key not in self.inputs:
            dtype = np.float32 if request["dtype"] == "float32" else np.int64
            self.inputs[key] = torch.from_numpy(np.fromfile(path, dtype=dtype).reshape(shape))
        x = self.inputs[key]
        with torch.inference_mode():
            t0 = time.perf_counter()
            y = self.model.encode_image(x) if request["encoder"] == "image" else self.model.encode_text(x)
            ms = (time.perf_counter() - t0) * 1000
        y.numpy().astype(np.float32).tofile(str(request["output"]))
        return {"ms": ms}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    args = parser.parse_args(argv)
    worker = Worker(args.threads)
    handlers = {"info": worker.info, "load": worker.load, "run": worker.run, "gemm": worker.gemm}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            handler = handlers.get(request.get("cmd"))
            if handler is None:
                raise ValueError(f"unknown cmd {request.get('cmd')!r}")
            reply: Dict[str, object] = {"ok": True, **handler(request)}
        except Exception as error:  # noqa: BLE001 - reported to the caller, which stops the run
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
