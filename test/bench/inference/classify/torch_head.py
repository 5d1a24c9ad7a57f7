"""PyTorch baseline and float64 reference for the classify-head benchmark.

Driven by test/bench/inference/classify/torch-head.ts, one JSON request per stdin line, one JSON reply
per stdout line. Reads the files the benchmark wrote (synthetic-dataset.ts: each a 4 KiB header block
with JSON section offsets; the species file holds species float32 [N][dim] in lineage order and group
ids int32 [6][N]; the query file queries float32 [Q][dim] and truth int32 [Q]).

Baseline (per batch, float32, torch.set_num_threads(threads)):
    logits = torch.matmul(q, W.T) * scale; p = softmax(logits); genus = zeros.index_add_(1, genus_of, p);
    each higher rank = zeros.index_add_(1, parent_of, rank below); top-k per rank.
Reference (float64, numpy over OpenBLAS dgemm, every species, every query): logits in float64 in chunks,
weights exp(logit - scale) with the fixed reference `scale` (|logit| <= scale for unit vectors, so no
overflow or underflow), group sums in float64; top-1 and the relative gap to the runner-up per rank.

Needs Debian's /usr/bin/python3 with python3-torch and python3-numpy; run with libopenblas0-pthread
installed, otherwise torch and numpy fall back to the reference BLAS.
"""
import ctypes
import json
import os
import resource
import sys
import time
import traceback
import warnings
from typing import Dict, List, Optional

import numpy as np
import torch

GROUP_RANKS = 6


def loaded_libraries(fragment: str) -> List[str]:
    seen: List[str] = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and fragment in parts[-1].lower() and parts[-1] not in seen:
                seen.append(parts[-1])
    return seen


def openblas_facts() -> Dict[str, object]:
    # Debian's openblas-pthread directory also holds libblas.so.3 and liblapack.so.3: ask libopenblas itself first.
    for path in sorted(loaded_libraries("openblas"), key=lambda p: "libopenblas" not in p):
        try:
            lib = ctypes.CDLL(path)
            corename = lib.openblas_get_corename
            corename.restype = ctypes.c_char_p
            config = lib.openblas_get_config
            config.restype = ctypes.c_char_p
            return {
                "library": path,
                "corename": corename().decode(),
                "config": config().decode().strip(),
                "threads": int(lib.openblas_get_num_threads()),
            }
        except (OSError, AttributeError):
            continue
    return {"library": None}


def read_header(path: str) -> Dict[str, object]:
    with open(path, "rb") as f:
        block = f.read(4096)
    if block[:8] != b"ARBCLS02":
        raise ValueError(f"{path} is not a classify-head data file")
    length = int.from_bytes(block[8:12], "little")
    return json.loads(block[12 : 12 + length].decode())


def read_section(path: str, header: Dict[str, object], name: str, dtype, mapped: bool = False) -> np.ndarray:
    section = header["sections"][name]  # type: ignore[index]
    count = section["bytes"] // np.dtype(dtype).itemsize
    if mapped:
        # The species matrix is mapped, not copied: the benchmark's own process already holds one 3 GB copy,
        # and page-cache pages can be dropped under memory pressure instead of pushing others out.
        return np.memmap(path, dtype=dtype, mode="r", offset=section["offset"], shape=(count,))
    return np.fromfile(path, dtype=dtype, count=count, offset=section["offset"])


def read_dataset(species_path: str, queries_path: str):
    header = read_header(species_path)
    query_header = read_header(queries_path)
    if header["kind"] != "species" or query_header["kind"] != "queries" or query_header["species"] != header["species"]:
        raise ValueError(f"{queries_path} does not belong to {species_path}")
    n, dim = header["species"], header["dim"]
    species = read_section(species_path, header, "species", np.float32, mapped=True).reshape(n, dim)
    groups = read_section(species_path, header, "groups", np.int32).reshape(GROUP_RANKS, n)
    queries = read_section(queries_path, query_header, "queries", np.float32).reshape(-1, dim)
    truth = read_section(queries_path, query_header, "truth", np.int32)
    return header, species, groups, queries, truth


class Worker:
    def __init__(self, threads: int) -> None:
        torch.set_num_threads(threads)
        self.threads = threads
        self.header = None

    def info(self, _: Dict[str, object]) -> Dict[str, object]:
        # A small GEMM first, so that the BLAS library is loaded and visible in /proc/self/maps.
        a = torch.rand(64, 768)
        (a @ a.T).sum()
        return {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
            "threads": torch.get_num_threads(),
            "openblas": openblas_facts(),
            "blasLibraries": loaded_libraries("blas"),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "torchConfig": torch.__config__.show(),
        }

    def load(self, request: Dict[str, object]) -> Dict[str, object]:
        started = time.perf_counter()
        header, species, groups, queries, truth = read_dataset(str(request["species"]), str(request["queries"]))
        self.header = header
        self.scale = float(request["logitScale"])
        self.species_np = species
        self.groups_np = groups
        self.queries_np = queries
        # Read every page once so the timed runs do not fault them in (ru_majflt is reported per run).
        checksum = float(np.add.reduce(species, axis=None, dtype=np.float64))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that the mapping is read-only; nothing writes to it
            self.species = torch.from_numpy(species)
        self.queries = torch.from_numpy(queries)
        self.genus_of = torch.from_numpy(groups[GROUP_RANKS - 1].astype(np.int64))
        # parent_of[r]: the group at rank r - 1 of each group at rank r, from the first species of each group.
        self.parent_of: List[Optional[torch.Tensor]] = [None]
        for r in range(1, GROUP_RANKS):
            first = np.searchsorted(groups[r], np.arange(header["groupCounts"][r]), side="left")
            self.parent_of.append(torch.from_numpy(groups[r - 1][first].astype(np.int64)))
        return {"seconds": time.perf_counter() - started, "species": header["species"], "queries": int(queries.shape[0]), "checksum": checksum}

    def head(self, q: torch.Tensor, k: int):
        """The baseline: float32 matmul, softmax, index_add group sums (each rank from the one below), top-k per rank."""
        counts = self.header["groupCounts"]
        logits = torch.matmul(q, self.species.T)
        logits.mul_(self.scale)
        probs = torch.softmax(logits, dim=1)
        b = q.shape[0]
        sums: List[torch.Tensor] = [None] * GROUP_RANKS  # type: ignore
        sums[GROUP_RANKS - 1] = torch.zeros(b, counts[GROUP_RANKS - 1]).index_add_(1, self.genus_of, probs)
        for r in range(GROUP_RANKS - 2, -1, -1):
            sums[r] = torch.zeros(b, counts[r]).index_add_(1, self.parent_of[r + 1], sums[r + 1])
        tops = [torch.topk(s, min(k, s.shape[1]), dim=1) for s in sums]
        tops.append(torch.topk(probs, k, dim=1))
        return tops

    def run(self, request: Dict[str, object]) -> Dict[str, object]:
        batch, start, count, k = (int(request[key]) for key in ("batch", "start", "count", "k"))
        top1: List[List[int]] = []
        batch_ms: List[float] = []
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
        with torch.inference_mode():
            for b0 in range(start, start + count, batch):
                q = self.queries[b0 : min(start + count, b0 + batch)]
                t0 = time.perf_counter()
                tops = self.head(q, k)
                batch_ms.append(1000 * (time.perf_counter() - t0))
                indices = [t.indices[:, 0].tolist() for t in tops]
                top1.extend([list(row) for row in zip(*indices)])
        # Major page faults during the run: above 0, part of the species matrix was re-read from disk.
        return {"batchMs": batch_ms, "top1": top1, "majorFaults": resource.getrusage(resource.RUSAGE_SELF).ru_majflt - faults}

    def gemm(self, request: Dict[str, object]) -> Dict[str, object]:
        """The baseline's float32 matmul alone on random data of one chunk's shape, timed per repeat (after one warm-up)."""
        rows, batch, repeats = int(request["rows"]), int(request["batch"]), int(request["repeats"])
        key = (rows, batch)
        if getattr(self, "_gemm_key", None) != key:
            self._gemm_species = torch.rand(rows, 768) - 0.5
            self._gemm_queries = torch.rand(batch, 768) - 0.5
            self._gemm_key = key
            torch.matmul(self._gemm_queries, self._gemm_species.T)
        ms = []
        with torch.inference_mode():
            for _ in range(repeats):
                t0 = time.perf_counter()
                torch.matmul(self._gemm_queries, self._gemm_species.T)
                ms.append(1000 * (time.perf_counter() - t0))
        return {"ms": ms}

    def reference(self, request: Dict[str, object]) -> Dict[str, object]:
        """Float64 top-1 per rank for queries [0, count): every species, brute force, chunked."""
        count = int(request["count"])
        query_block = int(request.get("queryBlock", 125))
        chunk_rows = int(request.get("chunkRows", 32768))
        n = self.header["species"]
        counts = self.header["groupCounts"]
        scale = self.scale
        genus = self.groups_np[GROUP_RANKS - 1]
        # Start of each rank-r group in the list of groups of the rank below (groups are contiguous in lineage order).
        parent_starts = []
        for r in range(GROUP_RANKS - 1):
            child_parent = self.parent_of[r + 1].numpy()
            parent_starts.append(np.searchsorted(child_parent, np.arange(counts[r]), side="left"))
        top1 = np.zeros((count, GROUP_RANKS + 1), dtype=np.int64)
        gap = np.zeros((count, GROUP_RANKS + 1), dtype=np.float64)
        started = time.perf_counter()
        for q0 in range(0, count, query_block):
            q1 = min(count, q0 + query_block)
            q64 = self.queries_np[q0:q1].astype(np.float64)
            genus_mass = np.zeros((q1 - q0, counts[GROUP_RANKS - 1]), dtype=np.float64)
            best = np.full(q1 - q0, -np.inf)
            second = np.full(q1 - q0, -np.inf)
            best_at = np.zeros(q1 - q0, dtype=np.int64)
            for c0 in range(0, n, chunk_rows):
                c1 = min(n, c0 + chunk_rows)
                logits = (q64 @ self.species_np[c0:c1].astype(np.float64).T) * scale
                # Species: best and runner-up logits so far.
                part = np.argpartition(-logits, 1, axis=1)[:, :2] if c1 - c0 > 1 else np.zeros((q1 - q0, 1), dtype=np.int64)
                for j in range(part.shape[1]):
                    cand = np.take_along_axis(logits, part[:, j : j + 1], axis=1)[:, 0]
                    better = cand > best
                    second = np.where(better, best, np.maximum(second, cand))
                    best_at = np.where(better, c0 + part[:, j], best_at)
                    best = np.where(better, cand, best)
                weights = np.exp(logits - scale)
                seg_genus, seg_start = np.unique(genus[c0:c1], return_index=True)
                genus_mass[:, seg_genus] += np.add.reduceat(weights, seg_start, axis=1)
            print(f"progress: reference {q1}/{count} queries, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            masses = [None] * GROUP_RANKS
            masses[GROUP_RANKS - 1] = genus_mass
            for r in range(GROUP_RANKS - 2, -1, -1):
                masses[r] = np.add.reduceat(masses[r + 1], parent_starts[r], axis=1)
            for r in range(GROUP_RANKS):
                m = masses[r]
                order = np.argsort(-m, axis=1)[:, :2]
                first = np.take_along_axis(m, order[:, :1], axis=1)[:, 0]
                runner = np.take_along_axis(m, order[:, 1:2], axis=1)[:, 0] if m.shape[1] > 1 else np.zeros_like(first)
                top1[q0:q1, r] = order[:, 0]
                gap[q0:q1, r] = (first - runner) / first
            top1[q0:q1, GROUP_RANKS] = best_at
            # Species: the gap in probability terms, 1 - exp(-(logit gap)).
            gap[q0:q1, GROUP_RANKS] = -np.expm1(-(best - second))
        return {"seconds": time.perf_counter() - started, "top1": top1.tolist(), "relativeGap": gap.tolist()}


def main(argv: Optional[List[str]] = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 2
    worker = Worker(threads)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            handler = getattr(worker, str(request["cmd"]))
            reply = {"ok": True, **handler(request)}
        except Exception as error:  # the driver shows the message and the trace
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
