import type { Pool } from "@arbor/store/db.ts";
import { parseModelRef } from "@arbor/store";
import { hash32 } from "../lib/prng.ts";
import type { OfficialFilesManifest } from "./official-files.ts";
import { speciesVector, syntheticSpecies } from "./synthetic-species.ts";

/** What an import left in the database, and whether it is what the files hold. */
export interface ImportedState {
  taxaByRank: Record<string, number>;
  taxa: number;
  /** Text embeddings of the model version. */
  embeddings: number;
  /** Distinct taxa among them. */
  embeddedTaxa: number;
  /** Species taxa without a text embedding. */
  speciesWithout: number;
  /** Text embeddings on taxa that are not species. */
  nonSpeciesEmbeddings: number;
  /** Stored vectors compared bit for bit with the generator's, and how many differed or were missing. */
  sampled: number;
  sampleMismatches: number;
  /** Every labelled (non-empty) column present exactly once, the tree exactly the files' lineages, the sample exact. */
  ok: boolean;
  problems: string[];
}

export interface CheckpointState {
  rowsDone: number;
  completed: boolean;
}

/** Counts the import's rows and compares `sampleSize` stored vectors (spread over the file) with the generator's. */
export async function importedState(pool: Pool, model: string, manifest: OfficialFilesManifest, sampleSize: number): Promise<ImportedState> {
  const modelVersionId = await findModelVersionId(pool, model);
  const { rows: ranks } = await pool.query<{ rank: string; n: number }>(`SELECT rank::text AS rank, count(*)::int AS n FROM taxon GROUP BY rank`);
  const taxaByRank = Object.fromEntries(ranks.map((row) => [row.rank, row.n]));
  const { rows: [counts] } = await pool.query<{ embeddings: number; taxa: number; non_species: number; species_without: number }>(
    `SELECT (SELECT count(*)::int FROM taxon_embedding WHERE model_version_id = $1 AND kind = 'text') AS embeddings,
            (SELECT count(DISTINCT taxon_id)::int FROM taxon_embedding WHERE model_version_id = $1 AND kind = 'text') AS taxa,
            (SELECT count(*)::int FROM taxon_embedding e JOIN taxon t ON t.id = e.taxon_id
              WHERE e.model_version_id = $1 AND e.kind = 'text' AND t.rank <> 'species') AS non_species,
            (SELECT count(*)::int FROM taxon t WHERE t.rank = 'species'
                AND NOT EXISTS (SELECT 1 FROM taxon_embedding e WHERE e.taxon_id = t.id AND e.model_version_id = $1 AND e.kind = 'text')) AS species_without`,
    [modelVersionId ?? -1],
  );
  const sample = await compareSample(pool, modelVersionId ?? -1, manifest, sampleSize);
  const state = {
    taxaByRank,
    taxa: Object.values(taxaByRank).reduce((sum, n) => sum + n, 0),
    embeddings: counts!.embeddings,
    embeddedTaxa: counts!.taxa,
    speciesWithout: counts!.species_without,
    nonSpeciesEmbeddings: counts!.non_species,
    sampled: sample.sampled,
    sampleMismatches: sample.mismatches,
  };
  const problems: string[] = [];
  if (state.embeddings !== manifest.species) problems.push(`${state.embeddings} text embeddings for ${manifest.species} labelled columns`);
  if (state.embeddedTaxa !== state.embeddings) problems.push(`${state.embeddings} embeddings on ${state.embeddedTaxa} distinct taxa`);
  if (state.speciesWithout > 0) problems.push(`${state.speciesWithout} species taxa without an embedding`);
  if (state.nonSpeciesEmbeddings > 0) problems.push(`${state.nonSpeciesEmbeddings} embeddings on taxa that are not species`);
  for (const [rank, expected] of Object.entries(manifest.byRank)) {
    if ((taxaByRank[rank] ?? 0) !== expected) problems.push(`${taxaByRank[rank] ?? 0} ${rank} taxa, the files name ${expected}`);
  }
  if (state.taxa !== Object.values(manifest.byRank).reduce((sum, n) => sum + n, 0)) problems.push(`${state.taxa} taxa in all`);
  if (sample.mismatches > 0) problems.push(`${sample.mismatches} of ${sample.sampled} sampled vectors missing or different`);
  return { ...state, ok: problems.length === 0, problems };
}

/** The import's checkpoint row (one import per database here), or rows 0 when there is none yet. */
export async function checkpointState(pool: Pool): Promise<CheckpointState> {
  const { rows } = await pool.query<{ rows_done: number; completed: boolean }>(
    `SELECT rows_done, completed FROM import_checkpoint WHERE kind LIKE 'text-embeddings-official:%' ORDER BY updated_at DESC LIMIT 1`,
  );
  return { rowsDone: rows[0]?.rows_done ?? 0, completed: rows[0]?.completed ?? false };
}

export async function findModelVersionId(pool: Pool, model: string): Promise<number | undefined> {
  const { name, version } = parseModelRef(model);
  const { rows } = await pool.query<{ id: number }>(`SELECT id FROM model_version WHERE name = $1 AND version = $2`, [name, version]);
  return rows[0]?.id;
}

/** Columns spread over the file (a seeded pick in each of `size` equal slices), always the first and the last. */
export function sampleColumns(species: number, size: number, seed: number): number[] {
  const picked = new Set<number>([0, species - 1]);
  const slice = species / Math.max(1, size);
  for (let i = 0; i < size && picked.size < species; i++) picked.add(Math.min(species - 1, Math.floor(i * slice + (hash32(seed, 77, i) % Math.max(1, Math.floor(slice))))));
  return [...picked].sort((a, b) => a - b);
}

async function compareSample(pool: Pool, modelVersionId: number, manifest: OfficialFilesManifest, size: number): Promise<{ sampled: number; mismatches: number }> {
  const wanted = new Set(sampleColumns(manifest.species, size, manifest.seed));
  const names = new Map<string, number>();
  for (const label of syntheticSpecies(manifest.species, manifest.seed)) {
    if (wanted.has(label.column)) names.set(`${label.lineage[5]} ${label.lineage[6]}`, label.column);
  }
  const { rows } = await pool.query<{ name: string; embedding: number[] }>(
    `SELECT t.scientific_name AS name, e.embedding::real[] AS embedding
       FROM taxon t JOIN taxon_embedding e ON e.taxon_id = t.id AND e.model_version_id = $1 AND e.kind = 'text'
      WHERE t.rank = 'species' AND t.scientific_name = ANY($2::text[])`,
    [modelVersionId, [...names.keys()]],
  );
  const expected = new Float32Array(manifest.dim);
  let matched = 0;
  for (const row of rows) {
    speciesVector(manifest.seed, names.get(row.name)!, expected);
    // real[] comes back as the shortest decimals that round to each float32: round them back.
    if (row.embedding.length === expected.length && row.embedding.every((value, i) => Math.fround(value) === expected[i])) matched++;
  }
  return { sampled: names.size, mismatches: names.size - matched };
}

/**
 * Tuples inserted + updated + deleted so far in the tables an import writes (the server's
 * counters; backends report them when they go idle or exit: wait for the importer to be gone).
 */
export async function writtenTuples(pool: Pool): Promise<number> {
  await pool.query("SELECT pg_stat_clear_snapshot()");
  const { rows } = await pool.query<{ n: string }>(
    `SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS n FROM pg_stat_user_tables
      WHERE relname IN ('taxon', 'taxon_name', 'taxon_embedding', 'import_taxon_staging', 'import_checkpoint', 'model_version')`,
  );
  return Number(rows[0]!.n);
}

/** What the import writes into, as this database has it: the migrations applied and taxon_embedding's indexes. */
export async function schemaFacts(pool: Pool): Promise<{ migrations: string[]; taxonEmbeddingIndexes: string[] }> {
  const { rows: migrations } = await pool.query<{ name: string }>(`SELECT migration_name AS name FROM _prisma_migrations ORDER BY migration_name`);
  const { rows: indexes } = await pool.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'taxon_embedding' ORDER BY indexname`);
  return { migrations: migrations.map((row) => row.name), taxonEmbeddingIndexes: indexes.map((row) => row.def.replace(/ ON public\./, " ON ")) };
}
