// PROTOTYPE (benchmark only): how wide a rigorous error bound int8 screening would carry on the benchmark's
// species and queries, and how many of the reference's top-1 decisions it could make without rescoring.
//
//   node --import tsx test/bench/inference/classify/prototype/int8-bound.ts <species.bin> <queries.bin> <reference.json> [logitScale]
//
// Each vector x is quantised symmetrically per row: s = max|x| / 127, x̃ = s · round(x / s). For a species y and a
// query x, |x·y − x̃·ỹ| ≤ ‖x − x̃‖·‖y‖ + ‖x̃‖·‖y − ỹ‖ (Cauchy–Schwarz), and the int8 products are summed exactly in
// int32: the bound is rigorous and computable per row. A mass ratio between two groups is then known within a
// factor e^(2ε) (ε = logitScale × the dot bound), so a top-1 whose reference gap exceeds 1 − e^(−2ε) needs no
// float64 rescoring.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { readHeader, type QueryFileHeader, type SpeciesFileHeader } from "../synthetic-dataset.ts";
import { RANK_NAMES } from "../synthetic-tree.ts";

interface RowStats {
  maxResidual: number;
  maxQuantisedNorm: number;
  residuals: number[];
}

function quantiseRows(data: Float32Array, rows: number, dim: number, into: RowStats): void {
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let k = 0; k < dim; k++) max = Math.max(max, Math.abs(data[r * dim + k]!));
    const scale = max / 127;
    let residual = 0;
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const x = data[r * dim + k]!;
      const q = scale * Math.round(x / scale);
      residual += (x - q) ** 2;
      norm += q * q;
    }
    into.maxResidual = Math.max(into.maxResidual, Math.sqrt(residual));
    into.maxQuantisedNorm = Math.max(into.maxQuantisedNorm, Math.sqrt(norm));
    if (into.residuals.length < 100_000) into.residuals.push(Math.sqrt(residual));
  }
}

function stream(path: string, offset: number, bytes: number, dim: number, stats: RowStats): void {
  const fd = openSync(path, "r");
  const rowsPerChunk = 4096;
  const buffer = new Float32Array(rowsPerChunk * dim);
  try {
    for (let done = 0; done < bytes; ) {
      const n = readSync(fd, new Uint8Array(buffer.buffer), 0, Math.min(buffer.byteLength, bytes - done), offset + done);
      quantiseRows(buffer, n / 4 / dim, dim, stats);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

const [speciesPath, queriesPath, referencePath, scaleText] = process.argv.slice(2);
if (!speciesPath || !queriesPath || !referencePath) throw new Error("usage: int8-bound.ts <species.bin> <queries.bin> <reference.json> [logitScale]");
const logitScale = Number(scaleText ?? 100);
const species = readHeader<SpeciesFileHeader>(speciesPath)!;
const queries = readHeader<QueryFileHeader>(queriesPath)!;
const s: RowStats = { maxResidual: 0, maxQuantisedNorm: 0, residuals: [] };
const q: RowStats = { maxResidual: 0, maxQuantisedNorm: 0, residuals: [] };
stream(speciesPath, species.sections.species.offset, species.sections.species.bytes, species.dim, s);
stream(queriesPath, queries.sections.queries.offset, queries.sections.queries.bytes, queries.dim, q);
const dotBound = q.maxResidual * 1 + q.maxQuantisedNorm * s.maxResidual;
const epsilon = logitScale * dotBound;
const needGap = 1 - Math.exp(-2 * epsilon);
const float32Epsilon = 4.6e-3;
const reference = JSON.parse(readFileSync(referencePath, "utf8")) as { relativeGap: number[][] };
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  JSON.stringify(
    {
      species: species.species,
      speciesResidual: { max: s.maxResidual, median: median(s.residuals) },
      queryResidual: { max: q.maxResidual, median: median(q.residuals) },
      int8LogitBound: epsilon,
      float32LogitBound: float32Epsilon,
      decidedWithoutRescoring: RANK_NAMES.map((rank, r) => ({
        rank,
        int8: reference.relativeGap.filter((g) => g[r]! > needGap).length,
        float32: reference.relativeGap.filter((g) => g[r]! > 1 - Math.exp(-2 * float32Epsilon)).length,
        of: reference.relativeGap.length,
      })),
    },
    null,
    2,
  ),
);
