import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import type { Pool } from "@arbor/store/db.ts";
import { OfficialSpeciesEmbeddings } from "@arbor/inference/classify/official/official-species-embeddings.ts";
import { CopyBinaryWriter, COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from "../lib/pg-copy-binary.ts";
import type { OfficialFilesManifest } from "./official-files.ts";

/**
 * The ceilings the import is compared with: the same (taxon id, vector) rows the import stores,
 * read from the same files by the same reader, COPYed into an unindexed, logged copy of
 * taxon_embedding (`LIKE taxon_embedding INCLUDING DEFAULTS`: no primary key, no HNSW index, no
 * foreign keys). Taxon ids are the import's own, looked up by binomial. Measures reading the files,
 * the wire and heap + WAL writes of the rows: the fastest way to get them into PostgreSQL at all.
 * Text format (what `psql \copy` would send; 768 floats as decimals) and binary format (pgvector's
 * send form, as the import's own statements send vectors). `binary-indexed` COPYs into
 * `LIKE taxon_embedding INCLUDING ALL` instead: the table's indexes maintained row by row (primary
 * key, the model-version btree, the partial HNSW index that text rows stay out of), as any import
 * into the real table must.
 */

export const COPY_TABLE = "bench_copy_taxon_embedding";
export const COPY_ANCHORS = {
  text: { format: "text", like: "INCLUDING DEFAULTS" },
  binary: { format: "binary", like: "INCLUDING DEFAULTS" },
  "binary-indexed": { format: "binary", like: "INCLUDING ALL" },
} as const;
export type CopyAnchor = keyof typeof COPY_ANCHORS;
export const DEFAULT_COPY_ANCHORS: readonly CopyAnchor[] = ["text", "binary", "binary-indexed"];

export interface CopyTiming {
  anchor: CopyAnchor;
  rows: number;
  bytes: number;
  ms: number;
}

const CHUNK_BYTES = 1 << 20;

/** Species taxon ids by scientific name ("Genus epithet"). */
export async function speciesTaxonIds(pool: Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ id: number; name: string }>(`SELECT id, scientific_name AS name FROM taxon WHERE rank = 'species'`);
  return new Map(rows.map((row) => [row.name, row.id]));
}

/** COPY of every labelled column into a fresh COPY_TABLE (dropped again afterwards); times the COPY statement. */
export async function copyIntoTable(pool: Pool, manifest: OfficialFilesManifest, modelVersionId: number, taxonIds: Map<string, number>, anchor: CopyAnchor): Promise<CopyTiming> {
  const { format, like } = COPY_ANCHORS[anchor];
  const client = await pool.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${COPY_TABLE}`);
    await client.query(`CREATE TABLE ${COPY_TABLE} (LIKE taxon_embedding ${like})`);
    let bytes = 0;
    const counted = async function* (chunks: AsyncGenerator<Buffer>) {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        yield chunk;
      }
    };
    const start = performance.now();
    const stream = client.query(copyFrom(`COPY ${COPY_TABLE} (taxon_id, model_version_id, kind, embedding, image_count) FROM STDIN (FORMAT ${format})`));
    await pipeline(Readable.from(counted(copyChunks(manifest, modelVersionId, taxonIds, format))), stream);
    const ms = performance.now() - start;
    await client.query(`DROP TABLE ${COPY_TABLE}`);
    return { anchor, rows: Number(stream.rowCount), bytes, ms };
  } finally {
    client.release();
  }
}

/** The COPY payload in chunks of about 1 MiB, read from the official files as the import reads them. */
async function* copyChunks(manifest: OfficialFilesManifest, modelVersionId: number, taxonIds: Map<string, number>, format: "text" | "binary"): AsyncGenerator<Buffer> {
  const files = await OfficialSpeciesEmbeddings.open(manifest.npyPath, manifest.jsonPath, { dim: manifest.dim });
  try {
    const binary = new CopyBinaryWriter(2 * CHUNK_BYTES);
    let text: string[] = [];
    let textBytes = 0;
    if (format === "binary") binary.raw(COPY_BINARY_HEADER);
    for await (const species of files.stream()) {
      const name = `${species.lineage[5]} ${species.lineage[6]}`;
      const taxonId = taxonIds.get(name);
      if (taxonId === undefined) throw new Error(`COPY anchor: no species taxon '${name}' (column ${species.column}) in the imported tree`);
      if (format === "binary") {
        binary.row(5).int32(taxonId).int32(modelVersionId).text("text").vector(species.embedding).int32(0);
        if (binary.length >= CHUNK_BYTES) yield binary.take();
      } else {
        // String(float32 value) is exact (pgvector reads it back to the same float32) and the fastest formatting in V8.
        const line = `${taxonId}\t${modelVersionId}\ttext\t[${species.embedding.join(",")}]\t0\n`;
        text.push(line);
        textBytes += line.length;
        if (textBytes >= CHUNK_BYTES) {
          yield Buffer.from(text.join(""));
          text = [];
          textBytes = 0;
        }
      }
    }
    if (format === "binary") {
      binary.raw(COPY_BINARY_TRAILER);
      yield binary.take();
    } else if (text.length > 0) {
      yield Buffer.from(text.join(""));
    }
  } finally {
    await files.close();
  }
}
