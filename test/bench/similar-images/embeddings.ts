import { Random } from "../lib/prng.ts";
import type { EmbeddingGeometry } from "./geometry.ts";
import type { SyntheticTaxonomy } from "./taxonomy.ts";

const STREAM_MEAN = 10;
const STREAM_TAXON_OFFSET = 11;
const STREAM_ROW_NOISE = 12;

/**
 * Deterministic synthetic image embeddings: row i's unit vector depends only on (seed, i), so data
 * of any size is generated chunk by chunk, and any row can be regenerated on its own (for queries
 * and ground truth) without holding the data set in memory.
 */
export class EmbeddingGenerator {
  readonly dimension: number;
  /** Unnormalised species centres μ + Σ rank offsets, one per species index. */
  private readonly centres: Float32Array;
  /** Standard deviation of each coordinate of unit-share Gaussian offsets (mean square 1/D). */
  private readonly profile: Float64Array;
  private readonly noiseScale: number;
  private readonly scratch: Float64Array;

  constructor(
    readonly taxonomy: SyntheticTaxonomy,
    readonly geometry: EmbeddingGeometry,
  ) {
    const D = (this.dimension = geometry.dimension);
    const seed = taxonomy.seed;
    const variance = Array.from({ length: D }, (_, d) => (d + 1 + geometry.spectrumOffset) ** -geometry.spectrumSlope);
    const meanVariance = variance.reduce((sum, v) => sum + v, 0) / D;
    this.profile = Float64Array.from(variance, (v) => Math.sqrt(v / meanVariance / D));
    this.noiseScale = Math.sqrt(geometry.noiseShare);
    this.scratch = new Float64Array(D);

    const mean = new Float64Array(D);
    const random = new Random(seed, STREAM_MEAN);
    for (let d = 0; d < D; d++) mean[d] = random.gaussian();
    const meanNorm = Math.hypot(...mean);
    for (let d = 0; d < D; d++) mean[d] = (mean[d]! / meanNorm) * Math.sqrt(geometry.meanShare);

    // Depth-first: the running sum at depth r is μ + offsets of the taxon's ancestors down to rank r.
    this.centres = new Float32Array(taxonomy.speciesCount * D);
    const running = geometry.rankShares.map(() => new Float64Array(D));
    let species = 0;
    for (const taxon of taxonomy.taxa) {
      const above = taxon.rank === 0 ? mean : running[taxon.rank - 1]!;
      const here = running[taxon.rank]!;
      const offset = new Random(seed, STREAM_TAXON_OFFSET, taxon.id);
      const scale = Math.sqrt(geometry.rankShares[taxon.rank]!);
      for (let d = 0; d < D; d++) here[d] = above[d]! + scale * this.profile[d]! * offset.gaussian();
      if (taxon.rank === geometry.rankShares.length - 1) {
        if (taxonomy.speciesTaxonIds[species] !== taxon.id) throw new Error("species order differs from the tree's");
        this.centres.set(here, species * D);
        species++;
      }
    }
  }

  speciesOfRow(row: number): number {
    return this.taxonomy.speciesOfRow(row);
  }

  taxonIdOfRow(row: number): number {
    return this.taxonomy.speciesTaxonIds[this.speciesOfRow(row)]!;
  }

  /** Writes row `row`'s unit vector into `out` at `at` (float32, as stored). */
  vector(row: number, out: Float32Array, at = 0): void {
    const D = this.dimension;
    const base = this.speciesOfRow(row) * D;
    const noise = new Random(this.taxonomy.seed, STREAM_ROW_NOISE, row);
    const v = this.scratch;
    let norm = 0;
    for (let d = 0; d < D; d++) {
      const value = this.centres[base + d]! + this.noiseScale * this.profile[d]! * noise.gaussian();
      v[d] = value;
      norm += value * value;
    }
    const inverse = 1 / Math.sqrt(norm);
    for (let d = 0; d < D; d++) out[at + d] = v[d]! * inverse;
  }
}

/** Deterministic uuid of image row `row`: easy to map a search hit back to its row. */
export function rowUuid(row: number): string {
  return `00000000-0000-4000-8000-${row.toString(16).padStart(12, "0")}`;
}

export function rowOfUuid(uuid: string): number {
  if (!uuid.startsWith("00000000-0000-4000-8000-")) throw new RangeError(`not a synthetic image id: ${uuid}`);
  return Number.parseInt(uuid.slice(24), 16);
}
