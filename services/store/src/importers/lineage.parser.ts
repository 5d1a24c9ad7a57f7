import { basename } from "node:path";
import { readCsv, type CsvRecord } from "./csv.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { buildLineageNodes, type LineageValues } from "./lineage.ts";
import type { ParsedItem } from "./parsed-item.ts";
import { LINEAGE_RANKS } from "./ranks.ts";
import { emptyToNull, pickColumn, type TaxonRowValue } from "./taxon-row.ts";

export interface LineageOptions {
  /** Column holding the leaf's identifier in the source (stored in taxon_external_id). */
  idColumn?: string;
  /** Language of the common-name columns; default "en". */
  language?: string;
  delimiter?: string;
}

const SPECIES_COLUMNS = ["species", "scientific_name", "scientificName", "sciName"];
const EPITHET_COLUMNS = ["species_epithet", "specificEpithet", "epithet"];
const COMMON_COLUMNS = ["common_name", "commonName", "mainCommonName", "vernacularName"];
const OTHER_COMMON_COLUMNS = ["otherCommonNames", "other_common_names"];
const ID_COLUMNS = ["id", "taxon_id", "taxonID", "inat_taxon_id"];
const AUTHORSHIP_COLUMNS = ["authorship", "scientificNameAuthorship"];

/**
 * 7-rank lineage CSV: kingdom … genus, species (a binomial) or species_epithet / specificEpithet,
 * optional common name (+ MDD's pipe-separated otherCommonNames), authorship and id column.
 */
export async function* parseLineage(path: string, options: LineageOptions = {}): AsyncGenerator<ParsedItem<TaxonRowValue>> {
  const file = basename(path);
  let columns: ReturnType<typeof lineageColumns> | undefined;
  for await (const record of readCsv(path, file, { delimiter: options.delimiter })) {
    columns ??= lineageColumns(record, file, options.idColumn);
    const values: LineageValues = {};
    for (const rank of LINEAGE_RANKS) {
      if (rank !== "species" && columns.ranks[rank]) values[rank] = record.get(columns.ranks[rank]!);
    }
    const speciesValue = columns.species ? record.get(columns.species) : "";
    values.species = speciesValue.trim() !== "" ? speciesValue : columns.epithet ? record.get(columns.epithet) : "";
    const commonName = columns.common ? emptyToNull(record.get(columns.common)) : null;
    const language = options.language ?? "en";
    const result = buildLineageNodes(values, record.line, {
      commonName,
      commonNameLanguage: language,
      authorship: authorshipOf(record, columns),
      externalId: columns.id ? emptyToNull(record.get(columns.id)) : null,
    });
    if (result.error) {
      const field = result.error.field === "species" ? (columns.species ?? columns.epithet ?? "species") : (columns.ranks[result.error.field] ?? result.error.field);
      yield { index: record.index, line: record.line, error: new ImportRowError(file, record.line, field, result.error.message) };
      continue;
    }
    if (!result.leafKey) {
      yield { index: record.index, line: record.line, error: new ImportRowError(file, record.line, "kingdom", "no rank has a name") };
      continue;
    }
    const others = columns.otherCommon ? record.get(columns.otherCommon).split("|").map((name) => name.trim()).filter((name) => name !== "" && name !== commonName) : [];
    yield {
      index: record.index,
      line: record.line,
      value: {
        nodes: result.nodes,
        names: others.map((name) => ({ sourceKey: result.leafKey!, name, language, isPreferred: false, lineNo: record.line })),
      },
    };
  }
  if (!columns) throw new ImportFileError(file, "no data rows");
}

function lineageColumns(record: CsvRecord, file: string, idColumn?: string) {
  const ranks: Partial<Record<(typeof LINEAGE_RANKS)[number], string>> = {};
  for (const rank of LINEAGE_RANKS) if (rank !== "species" && record.has(rank)) ranks[rank] = rank;
  const species = pickColumn(record, SPECIES_COLUMNS);
  const epithet = pickColumn(record, EPITHET_COLUMNS);
  if (Object.keys(ranks).length === 0 && !species) {
    throw new ImportFileError(file, `a lineage file needs rank columns (${LINEAGE_RANKS.join(", ")}) or species_epithet`);
  }
  if (idColumn && !record.has(idColumn)) throw new ImportFileError(file, `no column "${idColumn}" (--id-column)`);
  return {
    ranks,
    species,
    epithet,
    common: pickColumn(record, COMMON_COLUMNS),
    otherCommon: pickColumn(record, OTHER_COMMON_COLUMNS),
    id: idColumn ?? pickColumn(record, ID_COLUMNS),
    authorship: pickColumn(record, AUTHORSHIP_COLUMNS),
    // MDD splits the species authority into author and year.
    mddAuthor: record.has("authoritySpeciesAuthor") ? "authoritySpeciesAuthor" : undefined,
    mddYear: record.has("authoritySpeciesYear") ? "authoritySpeciesYear" : undefined,
  };
}

function authorshipOf(record: CsvRecord, columns: ReturnType<typeof lineageColumns>): string | null {
  if (columns.authorship) return emptyToNull(record.get(columns.authorship));
  if (columns.mddAuthor) {
    const author = record.get(columns.mddAuthor).trim();
    const year = columns.mddYear ? record.get(columns.mddYear).trim() : "";
    if (author === "") return null;
    return year === "" ? author : `${author}, ${year}`;
  }
  return null;
}
