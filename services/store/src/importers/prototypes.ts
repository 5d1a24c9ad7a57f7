import { withTransaction, type Pool } from "../db.ts";
import { ImportRepository, type PrototypeStats } from "../repositories/import.repository.ts";
import { ModelVersionRepository } from "../repositories/model-version.repository.ts";
import { ImportUsageError } from "./errors.ts";
import { parseModelRef } from "./embeddings.importer.ts";

/** (Re)computes the taxon prototypes of one model version ("name@version"); idempotent. */
export async function recomputePrototypesFor(pool: Pool, modelRef: string): Promise<PrototypeStats & { modelVersionId: number }> {
  const { name, version } = parseModelRef(modelRef);
  const model = (await new ModelVersionRepository(pool).getAll()).find((row) => row.name === name && row.version === version);
  if (!model) throw new ImportUsageError(`no model version ${modelRef}`);
  const repository = new ImportRepository(pool);
  const stats = await withTransaction(pool, (client) => repository.recomputePrototypes(client, model.id));
  return { ...stats, modelVersionId: model.id };
}
