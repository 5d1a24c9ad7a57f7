import { basename } from "node:path";
import { readCsv } from "./csv.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { cleanName, normaliseHigherName, normaliseSpeciesName } from "./names.ts";
import type { ParsedItem } from "./parsed-item.ts";
import { INAT_RANK_LEVELS, parseRank, TAXON_RANKS, type TaxonRank } from "./ranks.ts";
import { emptyToNull, pickColumn, type TaxonRowValue } from "./taxon-row.ts";

export interface ParentChildOptions {
  /**
   * Rows without a name become pass-through nodes (their children hang from the nearest named
   * ancestor) instead of row errors. iNaturalist's Seek taxonomy masks 29 nodes this way.
   */
  allowUnnamed?: boolean;
  /** Language of the common-name column; default "en". */
  language?: string;
}

const PARENT_COLUMNS = ["parent_taxon_id", "parent_id", "parentTaxonId", "parentNameUsageID"];
const ID_COLUMNS = ["taxon_id", "id", "taxonID", "taxonId"];
const RANK_LEVEL_COLUMNS = ["rank_level", "rankLevel"];
const RANK_COLUMNS = ["rank", "taxonRank"];
const NAME_COLUMNS = ["name", "scientific_name", "scientificName"];
const COMMON_COLUMNS = ["common_name", "commonName", "preferred_common_name", "vernacularName"];
const AUTHORSHIP_COLUMNS = ["authorship", "scientificNameAuthorship"];

/**
 * iNaturalist-style parent/child CSV: parent_taxon_id, taxon_id, rank_level or rank, name (+ optional
 * common name and authorship). Parents may come after their children; the resolution step orders them.
 */
export async function* parseParentChild(path: string, options: ParentChildOptions = {}): AsyncGenerator<ParsedItem<TaxonRowValue>> {
  const file = basename(path);
  let columns: { parent: string; id: string; rankLevel?: string; rank?: string; name: string; common?: string; authorship?: string } | undefined;
  for await (const record of readCsv(path, file)) {
    if (!columns) {
      const parent = pickColumn(record, PARENT_COLUMNS);
      const id = pickColumn(record, ID_COLUMNS);
      const name = pickColumn(record, NAME_COLUMNS);
      const rankLevel = pickColumn(record, RANK_LEVEL_COLUMNS);
      const rank = pickColumn(record, RANK_COLUMNS);
      if (!parent || !id || !name || (!rankLevel && !rank)) {
        throw new ImportFileError(file, `a parent/child taxonomy needs columns ${PARENT_COLUMNS[0]}, ${ID_COLUMNS[0]}, rank_level or rank, and name`);
      }
      columns = { parent, id, name, rankLevel, rank, common: pickColumn(record, COMMON_COLUMNS), authorship: pickColumn(record, AUTHORSHIP_COLUMNS) };
    }
    const fail = (field: string, message: string): ParsedItem<TaxonRowValue> => ({
      index: record.index,
      line: record.line,
      error: new ImportRowError(file, record.line, field, message),
    });
    const id = record.get(columns.id).trim();
    if (id === "") {
      yield fail(columns.id, "empty taxon id");
      continue;
    }
    const parentId = emptyToNull(record.get(columns.parent));
    if (parentId === id) {
      yield fail(columns.parent, `taxon ${id} is its own parent`);
      continue;
    }
    let rank: TaxonRank | null;
    let rankField: string;
    if (columns.rank && record.get(columns.rank).trim() !== "") {
      rankField = columns.rank;
      rank = parseRank(record.get(columns.rank));
      if (!rank) {
        yield fail(rankField, `unknown rank "${record.get(columns.rank)}" (expected one of ${TAXON_RANKS.join(", ")})`);
        continue;
      }
    } else if (columns.rankLevel) {
      rankField = columns.rankLevel;
      const text = record.get(columns.rankLevel).trim();
      const level = Number(text);
      rank = text !== "" && Number.isInteger(level) ? (INAT_RANK_LEVELS.get(level) ?? null) : null;
      if (!rank) {
        yield fail(rankField, `unknown rank level "${text}" (expected one of ${[...INAT_RANK_LEVELS.keys()].join(", ")})`);
        continue;
      }
    } else {
      yield fail(columns.rank ?? "rank", "empty rank");
      continue;
    }
    const rawName = cleanName(record.get(columns.name));
    if (rawName === "" && !options.allowUnnamed) {
      yield fail(columns.name, "empty name (use --allow-unnamed to keep unnamed nodes as pass-through)");
      continue;
    }
    const name = rawName === "" ? null : isSpeciesOrBelow(rank) ? normaliseSpeciesName(rawName) : normaliseHigherName(rawName);
    const common = columns.common ? emptyToNull(record.get(columns.common)) : null;
    yield {
      index: record.index,
      line: record.line,
      value: {
        nodes: [
          {
            sourceKey: id,
            parentSourceKey: parentId,
            acceptedSourceKey: null,
            rank,
            scientificName: name,
            authorship: columns.authorship ? emptyToNull(record.get(columns.authorship)) : null,
            commonName: name ? common : null,
            commonNameLanguage: common ? (options.language ?? "en") : null,
            externalId: name ? id : null,
            lineNo: record.line,
          },
        ],
        names: [],
      },
    };
  }
  if (!columns) throw new ImportFileError(file, "no data rows");
}

function isSpeciesOrBelow(rank: TaxonRank): boolean {
  return TAXON_RANKS.indexOf(rank) >= TAXON_RANKS.indexOf("species");
}
