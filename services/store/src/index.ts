import { createPool, supportsNamedStatements, type Pool } from "./db.ts";
import { migrate } from "./migrate.ts";
import { ImageRepository } from "./repositories/image.repository.ts";
import { JobRepository } from "./repositories/job.repository.ts";
import { ModelVersionRepository } from "./repositories/model-version.repository.ts";
import { TaxonEmbeddingRepository } from "./repositories/taxon-embedding.repository.ts";
import { TaxonTextEmbeddingRepository } from "./repositories/taxon-text-embedding.repository.ts";
import { TaxonPageRepository } from "./repositories/taxon-page.repository.ts";
import { TaxonRepository } from "./repositories/taxon.repository.ts";
import { TraitRepository } from "./repositories/trait.repository.ts";

export { createPool, withTransaction, type Pool, type PoolClient } from "./db.ts";
export { migrate, MigrationError } from "./migrate.ts";
export { startEmbeddedDatabase, type EmbeddedDatabase } from "./embedded.ts";
export { createLogger, type Logger } from "./logger.ts";
export * from "./repositories/model-version.repository.ts";
export * from "./repositories/taxon.repository.ts";
export * from "./repositories/taxon-page.repository.ts";
export * from "./repositories/image.repository.ts";
export * from "./repositories/taxon-embedding.repository.ts";
export * from "./repositories/trait.repository.ts";

export interface StoreOptions {
  /** postgresql:// URL of a real server or of the embedded database's socket. */
  databaseUrl: string;
  /** Connections in the pool. */
  poolSize?: number;
  /** Apply pending migrations before returning. */
  runMigrations?: boolean;
  /** Send the hot read statements as named (prepared) statements; default: unless the server is PGlite (see supportsNamedStatements). */
  namedStatements?: boolean;
}

export interface Store {
  pool: Pool;
  modelVersions: ModelVersionRepository;
  taxa: TaxonRepository;
  taxonPages: TaxonPageRepository;
  images: ImageRepository;
  taxonEmbeddings: TaxonEmbeddingRepository;
  traits: TraitRepository;
  jobs: JobRepository;
  taxonTextEmbeddings: TaxonTextEmbeddingRepository;
  close(): Promise<void>;
}

/** The only entry to the database: one pool, one repository per table group. */
export async function createStore(options: StoreOptions): Promise<Store> {
  const pool = createPool(options.databaseUrl, options.poolSize ?? 10);
  if (options.runMigrations) await migrate(pool);
  const named = options.namedStatements ?? (await supportsNamedStatements(pool));
  return {
    pool,
    modelVersions: new ModelVersionRepository(pool),
    taxa: new TaxonRepository(pool, named),
    taxonPages: new TaxonPageRepository(pool, named),
    images: new ImageRepository(pool, named),
    taxonEmbeddings: new TaxonEmbeddingRepository(pool),
    traits: new TraitRepository(pool, named),
    jobs: new JobRepository(pool),
    taxonTextEmbeddings: new TaxonTextEmbeddingRepository(pool),
    close: () => pool.end(),
  };
}
export * from "./importers/index.ts";
export { ImportRepository, type StagedTaxonNode, type StagedName, type ResolutionStats, type PrototypeStats } from "./repositories/import.repository.ts";
export { seedDemo, SEED_DATA_DIR, type SeedOptions, type SeedResult } from "./seed.ts";
export * from "./jobs.ts";
export * from "./repositories/job.repository.ts";
export * from "./repositories/taxon-text-embedding.repository.ts";
