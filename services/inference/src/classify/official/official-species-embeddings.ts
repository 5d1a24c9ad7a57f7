import { ClassifyError } from '../errors.ts';
import { DEFAULT_EMBEDDING_DIM } from '../species-index.ts';
import { NpyColumnReader } from './npy-column-reader.ts';
import { countSpeciesLabels, streamSpeciesLabels, type SpeciesLabel } from './species-label-reader.ts';

/** One species of the official TreeOfLife-200M text-embedding files. */
export interface OfficialSpeciesEmbedding {
  /** Column of the .npy (= row of the JSON): a stable key for resuming an import. */
  readonly column: number;
  readonly lineage: string[];
  readonly commonName: string;
  /** The stored float32 vector, as is (unit length, made by make_txt_embedding.py). */
  readonly embedding: Float32Array;
}

export interface OfficialFilesLayout {
  readonly dim: number;
  readonly columns: number;
  readonly labels: number;
  /** Columns past the last label: all zeros, dropped. */
  readonly paddingColumns: number;
  readonly npyVersion: readonly [number, number];
  readonly fortranOrder: boolean;
}

export interface OfficialStreamOptions {
  readonly fromColumn?: number;
  /** Called after each block with the number of columns done (out of `labels`). */
  readonly onProgress?: (columnsDone: number, labels: number) => void;
}

export const DEFAULT_BLOCK_COLUMNS = 4096;

/**
 * Reader of `embeddings/txt_emb_species.npy` (float32 [dim, N], one species per column) together with
 * `embeddings/txt_emb_species.json` (N rows of [[7 names], common name]). Streams species in file order in bounded
 * memory (one block of columns plus one JSON chunk). The .npy may have more columns than labels (zero padding, dropped)
 * and all-zero columns that do have labels (species whose batch was never embedded, e.g. a final partial batch
 * skipped by an old make_txt_embedding.py): those have no direction, so they are skipped and listed in `emptyColumns`.
 */
export class OfficialSpeciesEmbeddings {
  /** Labelled columns found all zero so far (skipped). */
  readonly emptyColumns: number[] = [];

  private constructor(
    private readonly npy: NpyColumnReader,
    private readonly jsonPath: string,
    readonly layout: OfficialFilesLayout,
    private readonly blockColumns: number,
  ) {}

  static async open(npyPath: string, jsonPath: string, options: { dim?: number; blockColumns?: number } = {}): Promise<OfficialSpeciesEmbeddings> {
    const dim = options.dim ?? DEFAULT_EMBEDDING_DIM;
    const npy = await NpyColumnReader.open(npyPath, dim);
    try {
      const labels = await countSpeciesLabels(jsonPath);
      if (npy.columns < labels) {
        throw new ClassifyError('FILE_MISMATCH', `${labels} labels but only ${npy.columns} embedding columns`);
      }
      const padding = npy.columns - labels;
      const blockColumns = options.blockColumns ?? DEFAULT_BLOCK_COLUMNS;
      for (let c = labels; c < npy.columns; c += blockColumns) {
        const n = Math.min(blockColumns, npy.columns - c);
        const block = await npy.readColumns(c, n);
        const nonZero = block.findIndex((v) => v !== 0);
        if (nonZero >= 0) {
          throw new ClassifyError('FILE_MISMATCH', `column ${c + Math.floor(nonZero / dim)} has no label but is not zero padding`);
        }
      }
      const layout = { dim, columns: npy.columns, labels, paddingColumns: padding, npyVersion: npy.header.version, fortranOrder: npy.header.fortranOrder };
      return new OfficialSpeciesEmbeddings(npy, jsonPath, layout, blockColumns);
    } catch (e) {
      await npy.close();
      throw e;
    }
  }

  async *stream(options: OfficialStreamOptions = {}): AsyncGenerator<OfficialSpeciesEmbedding> {
    const { dim, labels } = this.layout;
    const from = options.fromColumn ?? 0;
    if (!Number.isInteger(from) || from < 0 || from > labels) throw new ClassifyError('INVALID_OPTION', `fromColumn ${from} outside 0 … ${labels}`);
    const names = streamSpeciesLabels(this.jsonPath, { fromIndex: from });
    try {
      yield* this.zip(names, from, options);
    } finally {
      await names.return(undefined);
    }
  }

  private async *zip(names: AsyncGenerator<SpeciesLabel>, from: number, options: OfficialStreamOptions): AsyncGenerator<OfficialSpeciesEmbedding> {
    const { dim, labels } = this.layout;
    for (let start = from; start < labels; start += this.blockColumns) {
      const count = Math.min(this.blockColumns, labels - start);
      const block = await this.npy.readColumns(start, count);
      for (let j = 0; j < count; j++) {
        const next = await names.next();
        if (next.done) throw new ClassifyError('FILE_MISMATCH', `the label file ended at ${start + j} species`);
        const label = next.value;
        const embedding = block.slice(j * dim, (j + 1) * dim);
        let zero = true;
        for (let k = 0; k < dim; k++) {
          const v = embedding[k];
          if (!Number.isFinite(v)) throw new ClassifyError('NON_FINITE', `column ${label.index} component ${k} is ${v}`);
          if (v !== 0) zero = false;
        }
        if (zero) {
          this.emptyColumns.push(label.index);
          continue;
        }
        yield { column: label.index, lineage: label.lineage, commonName: label.commonName, embedding };
      }
      options.onProgress?.(start + count, labels);
    }
  }

  async close(): Promise<void> {
    await this.npy.close();
  }
}
