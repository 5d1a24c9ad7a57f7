import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import copyStreams from "pg-copy-streams";
import type { PoolClient } from "@arbor/store/db.ts";
import type { StagedName, StagedTaxonNode } from "@arbor/store/repositories/import.repository.ts";
import { copyChunks } from "./copy-text.ts";

type StageTaxa = (
  this: unknown,
  client: PoolClient,
  importKey: string,
  nodes: readonly StagedTaxonNode[],
  names: readonly StagedName[],
  options: { uniqueKeys: boolean },
) => Promise<unknown>;

const STAGING_COLUMNS =
  "import_key, source_key, parent_source_key, accepted_source_key, rank, scientific_name, authorship, common_name, common_name_language, external_id, line_no";
const UNIQUE_VIOLATION = "23505";

/**
 * Prototype "direct-staging": for keyed formats (parent/child, DwC-A), where a repeated key is an
 * error anyway, stageTaxa COPYs each batch straight into import_taxon_staging instead of COPY into
 * a temp table + a duplicate-check query + INSERT … SELECT DISTINCT ON … ON CONFLICT. The staging
 * primary key still refuses a repeated key: on a unique violation the batch rolls back to a
 * savepoint and the original method runs, which finds and reports the duplicates with their lines
 * exactly as before. Lineage files (keys repeat by design) and batches with extra names keep the
 * original path.
 */
export function applyDirectStaging(prototype: Record<string, unknown>): void {
  const original = prototype.stageTaxa as StageTaxa;
  const supportsCopy = prototype.supportsCopy as (this: unknown, client: PoolClient) => Promise<boolean>;
  prototype.stageTaxa = async function (
    this: unknown,
    client: PoolClient,
    importKey: string,
    nodes: readonly StagedTaxonNode[],
    names: readonly StagedName[],
    options: { uniqueKeys: boolean },
  ) {
    if (!options.uniqueKeys || names.length > 0 || nodes.length === 0 || !(await supportsCopy.call(this, client))) {
      return original.call(this, client, importKey, nodes, names, options);
    }
    await client.query("SAVEPOINT direct_staging");
    try {
      const stream = client.query(copyStreams.from(`COPY import_taxon_staging (${STAGING_COLUMNS}) FROM STDIN`));
      const rows = nodes.map((n) => [importKey, n.sourceKey, n.parentSourceKey, n.acceptedSourceKey, n.rank, n.scientificName, n.authorship, n.commonName, n.commonNameLanguage, n.externalId, n.lineNo]);
      await pipeline(Readable.from(copyChunks(rows)), stream);
      await client.query("RELEASE SAVEPOINT direct_staging");
      return [];
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      await client.query("ROLLBACK TO SAVEPOINT direct_staging");
      return original.call(this, client, importKey, nodes, names, options);
    }
  };
}
