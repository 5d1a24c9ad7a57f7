import { appendFile, writeFile } from "node:fs/promises";
import { TraitRepository } from "../repositories/trait.repository.ts";
import { runImport, type ImportOutcome, type ImportRunOptions } from "./import-runner.ts";
import { parseTraits } from "./trait.parser.ts";
import { TRAIT_DATASETS, type TraitRecord } from "./trait-datasets.ts";

export type TraitsKind = "traits-avonet" | "traits-pantheria" | "traits-anage";

export interface TraitsImportOptions extends ImportRunOptions {
  /** Write the species names that matched no taxon to this file (one "line<TAB>name" per row). */
  unmatchedOut?: string;
}

const TRAITS_BATCH_SIZE = 2_000;

/**
 * Imports a species-level trait table. Names are matched to taxa of rank species (case-insensitive,
 * also through synonyms); matched and unmatched rows are counted, unmatched names optionally
 * written out. Import the taxonomy first: rows that match nothing are not kept for later.
 */
export async function importTraits(kind: TraitsKind, path: string, options: TraitsImportOptions): Promise<ImportOutcome> {
  const dataset = TRAIT_DATASETS[kind.replace("traits-", "") as keyof typeof TRAIT_DATASETS];
  const traits = new TraitRepository(options.pool);
  if (options.unmatchedOut) await writeFile(options.unmatchedOut, "line\tspecies\n");
  return runImport<TraitRecord>(
    {
      kind,
      inputs: [path],
      source: () => parseTraits(path, dataset),
      defaultBatchSize: TRAITS_BATCH_SIZE,
      async writeBatch(client, items) {
        const result = await traits.upsertForSpeciesNames(client, {
          source: dataset.source,
          reference: dataset.reference,
          rows: items.map((item) => ({ line: item.line, speciesName: item.value.speciesName, values: item.value.values })),
        });
        if (options.unmatchedOut && result.unmatched.length > 0) {
          await appendFile(options.unmatchedOut, result.unmatched.map((row) => `${row.line}\t${row.speciesName}\n`).join(""));
        }
        return { matched: result.matched, unmatched: result.unmatched.length, traitRowsWritten: result.written };
      },
    },
    options,
  );
}
