import { basename } from "node:path";
import { readCsv } from "./csv.ts";
import { ImportFileError, ImportRowError } from "./errors.ts";
import { normaliseSpeciesName } from "./names.ts";
import type { ParsedItem } from "./parsed-item.ts";
import type { TraitColumn, TraitDataset, TraitRecord } from "./trait-datasets.ts";
import type { TraitValue } from "../repositories/trait.repository.ts";

/**
 * Streams a species-level trait table (AVONET, PanTHERIA, AnAge): one record per species with its
 * non-missing values. A value that does not parse (text in a numeric column, an unknown code) is a
 * row error naming its column.
 */
export async function* parseTraits(path: string, dataset: TraitDataset): AsyncGenerator<ParsedItem<TraitRecord>> {
  const file = basename(path);
  let columns: TraitColumn[] | undefined;
  for await (const record of readCsv(path, file, { delimiter: dataset.delimiter })) {
    if (!columns) {
      for (const column of dataset.nameColumns) {
        if (!record.has(column)) throw new ImportFileError(file, `no column "${column}": is this a ${dataset.source} file?`);
      }
      columns = dataset.columns(record.columns);
      if (columns.length === 0) throw new ImportFileError(file, `no ${dataset.source} trait columns found`);
    }
    const name = normaliseSpeciesName(dataset.speciesName(record.get));
    if (!name.includes(" ")) {
      yield { index: record.index, line: record.line, error: new ImportRowError(file, record.line, dataset.nameColumns.join("+"), `"${name}" is not a species name`) };
      continue;
    }
    const values: TraitValue[] = [];
    let error: ImportRowError | undefined;
    for (const column of columns) {
      const text = record.get(column.column).trim();
      if (dataset.missing.has(text)) continue;
      const parsed = parseValue(column, text);
      if (typeof parsed === "string") {
        error = new ImportRowError(file, record.line, column.column, parsed);
        break;
      }
      values.push(parsed);
    }
    if (error) yield { index: record.index, line: record.line, error };
    else yield { index: record.index, line: record.line, value: { speciesName: name, values } };
  }
  if (!columns) throw new ImportFileError(file, "no data rows");
}

/** The value, or a message saying why it is not one. */
function parseValue(column: TraitColumn, text: string): TraitValue | string {
  if (column.kind === "categorical") return { name: column.name, numericValue: null, textValue: text, unit: column.unit };
  const number = Number(text);
  if (!Number.isFinite(number)) return `"${text}" is not a number`;
  if (column.kind === "coded") {
    const label = column.labels?.[String(number)];
    if (label === undefined) return `"${text}" is not one of the codes ${Object.keys(column.labels ?? {}).join(", ")}`;
    return { name: column.name, numericValue: number, textValue: label, unit: null };
  }
  return { name: column.name, numericValue: number, textValue: null, unit: column.unit };
}
