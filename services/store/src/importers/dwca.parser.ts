import { basename } from "node:path";
import type { StagedName, StagedTaxonNode } from "../repositories/import.repository.ts";
import { readCsv, type CsvRecord } from "./csv.ts";
import { openArchive } from "./dwca-archive.ts";
import { parseDwcaMeta, TAXON_ROW_TYPE, VERNACULAR_ROW_TYPE, type DwcaFileLayout } from "./dwca-meta.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { buildLineageNodes } from "./lineage.ts";
import { cleanName } from "./names.ts";
import type { ParsedItem } from "./parsed-item.ts";
import { LINEAGE_RANKS, parseRank } from "./ranks.ts";
import type { TaxonRowValue } from "./taxon-row.ts";

export interface DwcaOptions {
  /** Language of a vernacularName in the core (the extension names its own); default "en". */
  language?: string;
}

/**
 * Darwin Core Archive (zip or directory) with a Taxon core, e.g. a GBIF backbone or Catalogue of Life
 * export. Reads meta.xml for the core's file, delimiter, quoting, header lines and terms; rows whose
 * acceptedNameUsageID names another taxon (or whose taxonomicStatus is a synonym) become synonyms of
 * it; a VernacularName extension adds vernacular names with their language. A core without
 * parentNameUsageID is placed by its kingdom … genus columns instead.
 * Records are numbered core first, then the vernacular extension (the resume position).
 */
export async function* parseDwca(path: string, options: DwcaOptions = {}): AsyncGenerator<ParsedItem<TaxonRowValue>> {
  const file = basename(path);
  const archive = await openArchive(path, file);
  try {
    if (!archive.has("meta.xml")) throw new ImportFileError(file, "not a Darwin Core Archive: no meta.xml");
    const meta = parseDwcaMeta(await archive.readText("meta.xml"), file);
    if (meta.core.rowType !== TAXON_ROW_TYPE) throw new ImportFileError(file, `the core is ${meta.core.rowType || "untyped"}, not ${TAXON_ROW_TYPE}`);
    const core = meta.core;
    const coreFile = `${file}/${core.location}`;
    if (!core.fields.has("scientificName") && !core.fields.has("canonicalName")) throw new ImportFileError(coreFile, "the core has no scientificName term");
    if (core.idIndex === undefined && !core.fields.has("taxonID")) throw new ImportFileError(coreFile, "the core has neither <id> nor taxonID");
    let index = 0;
    for await (const record of readCsv(await archive.openStream(core.location), coreFile, layoutCsvOptions(core))) {
      yield withIndex(parseCoreRow(record, core, coreFile, options.language ?? "en"), index++);
    }
    const vernacular = meta.extensions.find((extension) => extension.rowType === VERNACULAR_ROW_TYPE);
    if (vernacular) {
      const extensionFile = `${file}/${vernacular.location}`;
      for await (const record of readCsv(await archive.openStream(vernacular.location), extensionFile, layoutCsvOptions(vernacular))) {
        yield withIndex(parseVernacularRow(record, vernacular, extensionFile), index++);
      }
    }
  } finally {
    archive.close();
  }
}

function withIndex(result: RowResult, index: number): ParsedItem<TaxonRowValue> {
  return result.error ? { index, line: result.line, error: result.error } : { index, line: result.line, value: result.value };
}

function layoutCsvOptions(layout: DwcaFileLayout) {
  return {
    delimiter: layout.delimiter,
    quote: layout.quote,
    headerLines: layout.headerLines,
    columns: Array.from({ length: layout.width }, (_, at) => `c${at}`),
  };
}

function termGetter(record: CsvRecord, layout: DwcaFileLayout) {
  return (term: string): string => {
    const at = layout.fields.get(term);
    const value = at === undefined ? (layout.defaults.get(term) ?? "") : (record.values[at] ?? "");
    return value.trim();
  };
}

type RowResult = { line: number; value: TaxonRowValue; error?: undefined } | { line: number; value?: undefined; error: ImportRowError };

function parseCoreRow(record: CsvRecord, layout: DwcaFileLayout, file: string, language: string): RowResult {
  const term = termGetter(record, layout);
  const fail = (field: string, message: string): RowResult => ({ line: record.line, error: new ImportRowError(file, record.line, field, message) });
  const id = layout.idIndex !== undefined ? (record.values[layout.idIndex] ?? "").trim() : term("taxonID");
  if (id === "") return fail("taxonID", "empty taxon id");
  const name = canonicalNameOf(term("canonicalName"), term("scientificName"), term("scientificNameAuthorship"));
  if (name === "") return fail("scientificName", "empty scientific name");
  const accepted = term("acceptedNameUsageID");
  const status = term("taxonomicStatus").toLowerCase();
  const isSynonym = (accepted !== "" && accepted !== id) || status.includes("synonym") || status === "misapplied";
  const authorship = term("scientificNameAuthorship") || null;
  if (isSynonym) {
    if (accepted === "" || accepted === id) return fail("acceptedNameUsageID", `synonym "${name}" does not name its accepted taxon`);
    return {
      line: record.line,
      value: {
        nodes: [{ sourceKey: id, parentSourceKey: null, acceptedSourceKey: accepted, rank: null, scientificName: name, authorship, commonName: null, commonNameLanguage: null, externalId: id, lineNo: record.line }],
        names: [],
      },
    };
  }
  const rankText = term("taxonRank");
  const rank = parseRank(rankText);
  if (!rank) return fail("taxonRank", rankText === "" ? "empty rank" : `unknown rank "${rankText}"`);
  const common = term("vernacularName") || null;
  const node: StagedTaxonNode = {
    sourceKey: id,
    parentSourceKey: null,
    acceptedSourceKey: null,
    rank,
    scientificName: name,
    authorship,
    commonName: common,
    commonNameLanguage: common ? language : null,
    externalId: id,
    lineNo: record.line,
  };
  if (layout.fields.has("parentNameUsageID")) {
    const parent = term("parentNameUsageID");
    if (parent === id) return fail("parentNameUsageID", `taxon ${id} is its own parent`);
    node.parentSourceKey = parent === "" ? null : parent;
    return { line: record.line, value: { nodes: [node], names: [] } };
  }
  // No parent links: hang the taxon under the lineage its classification columns spell out.
  const higher = Object.fromEntries(LINEAGE_RANKS.filter((r) => r !== "species" && r !== rank).map((r) => [r, term(r)]));
  const lineage = buildLineageNodes(higher, record.line);
  if (lineage.error) return fail(lineage.error.field, lineage.error.message);
  node.parentSourceKey = lineage.leafKey;
  return { line: record.line, value: { nodes: [...lineage.nodes, node], names: [] } };
}

function parseVernacularRow(record: CsvRecord, layout: DwcaFileLayout, file: string): RowResult {
  const term = termGetter(record, layout);
  const coreId = layout.idIndex !== undefined ? (record.values[layout.idIndex] ?? "").trim() : "";
  if (coreId === "") return { line: record.line, error: new ImportRowError(file, record.line, "coreid", "empty core id") };
  const name = cleanName(term("vernacularName"));
  if (name === "") return { line: record.line, error: new ImportRowError(file, record.line, "vernacularName", "empty vernacular name") };
  const preferred = term("isPreferredName").toLowerCase();
  const names: StagedName[] = [{ sourceKey: coreId, name, language: normaliseLanguage(term("language")), isPreferred: preferred === "true" || preferred === "1" || preferred === "yes", lineNo: record.line }];
  return { line: record.line, value: { nodes: [], names } };
}

/** The name without authorship: GBIF's canonicalName, else scientificName minus a trailing authorship. */
function canonicalNameOf(canonical: string, scientific: string, authorship: string): string {
  if (canonical !== "") return cleanName(canonical);
  const name = cleanName(scientific);
  if (authorship !== "" && name.endsWith(authorship) && name.length > authorship.length) return name.slice(0, -authorship.length).trim();
  return name;
}

const LANGUAGE_CODES: Record<string, string> = { eng: "en", english: "en", fra: "fr", fre: "fr", french: "fr", deu: "de", ger: "de", german: "de", spa: "es", spanish: "es", por: "pt", portuguese: "pt", nld: "nl", dut: "nl", dutch: "nl" };

/** ISO 639-1 where the archive writes a 639-2 code or an English language name. */
function normaliseLanguage(value: string): string | null {
  const key = value.trim().toLowerCase();
  if (key === "") return null;
  return LANGUAGE_CODES[key] ?? key;
}
