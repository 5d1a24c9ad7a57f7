import { hotStatement, type Pool, type PoolClient } from "../db.ts";

export interface TraitRow {
  taxonId: number;
  name: string;
  numericValue: number | null;
  textValue: string | null;
  unit: string | null;
  source: string;
  reference: string | null;
}

const COLUMNS = `taxon_id AS "taxonId", name, numeric_value AS "numericValue", text_value AS "textValue", unit, source, reference`;

/** The traits of one taxon (an SQL expression), by source then name. */
export const traitsOfSql = (taxon: string) => `SELECT ${COLUMNS} FROM trait WHERE taxon_id = ${taxon} ORDER BY source, name`;

const FOR_TAXA = `SELECT ${COLUMNS} FROM trait WHERE taxon_id = ANY($1::int[]) ORDER BY taxon_id, source, name`;

export class TraitRepository {
  /** `namedStatements`: send the hot reads as named statements (see supportsNamedStatements). */
  constructor(
    private readonly pool: Pool,
    private readonly namedStatements = false,
  ) {}

  async getForTaxa(taxonIds: readonly number[]): Promise<TraitRow[]> {
    if (taxonIds.length === 0) return [];
    const { rows } = await this.pool.query<TraitRow>(hotStatement(this.namedStatements, "trait.for_taxa", FOR_TAXA, [taxonIds]));
    return rows;
  }

  /**
   * Import: matches species names to taxa of rank species (case-insensitive exact match on the
   * scientific name, else on a synonym; the scientific match and then the lowest id win) and
   * upserts their trait values for `source`. An unchanged value is not rewritten. When several rows
   * of one call match the same taxon, the last row wins, as it would across calls.
   */
  async upsertForSpeciesNames(client: PoolClient, input: TraitImportInput): Promise<TraitImportResult> {
    if (input.rows.length === 0) return { matched: 0, unmatched: [], written: 0 };
    const { rows: matches } = await client.query<{ row: number; taxonId: number }>(
      `SELECT DISTINCT ON (i.row) i.row, t.id AS "taxonId"
         FROM unnest($1::text[]) WITH ORDINALITY AS i(name, row)
         JOIN taxon_name n ON lower(n.name) = lower(i.name) AND n.kind IN ('scientific', 'synonym')
         JOIN taxon t ON t.id = n.taxon_id AND t.rank = 'species'
        ORDER BY i.row, (n.kind = 'scientific') DESC, (n.name = i.name) DESC, t.id`,
      [input.rows.map((row) => row.speciesName)],
    );
    const taxonByRow = new Map(matches.map((match) => [Number(match.row) - 1, match.taxonId]));
    const unmatched: Array<{ line: number; speciesName: string }> = [];
    const values = new Map<string, { taxonId: number; value: TraitValue }>();
    input.rows.forEach((row, at) => {
      const taxonId = taxonByRow.get(at);
      if (taxonId === undefined) {
        unmatched.push({ line: row.line, speciesName: row.speciesName });
        return;
      }
      for (const value of row.values) values.set(`${taxonId}\u0000${value.name}`, { taxonId, value });
    });
    const list = [...values.values()];
    const { rowCount } = await client.query(
      `INSERT INTO trait (taxon_id, name, numeric_value, text_value, unit, source, reference)
       SELECT taxon_id, name, numeric_value, text_value, unit, $6, $7
         FROM unnest($1::int[], $2::text[], $3::float8[], $4::text[], $5::text[]) AS v(taxon_id, name, numeric_value, text_value, unit)
       ON CONFLICT (taxon_id, source, name) DO UPDATE
         SET numeric_value = excluded.numeric_value, text_value = excluded.text_value, unit = excluded.unit, reference = excluded.reference
       WHERE (trait.numeric_value, trait.text_value, trait.unit, trait.reference)
             IS DISTINCT FROM (excluded.numeric_value, excluded.text_value, excluded.unit, excluded.reference)`,
      [
        list.map((entry) => entry.taxonId),
        list.map((entry) => entry.value.name),
        list.map((entry) => entry.value.numericValue),
        list.map((entry) => entry.value.textValue),
        list.map((entry) => entry.value.unit),
        input.source,
        input.reference,
      ],
    );
    return { matched: input.rows.length - unmatched.length, unmatched, written: rowCount ?? 0 };
  }
}

/** One trait value of an import row: numeric (with unit) and/or a label (categorical, or a code's meaning). */
export interface TraitValue {
  name: string;
  numericValue: number | null;
  textValue: string | null;
  unit: string | null;
}

export interface TraitImportInput {
  /** Dataset name stored on every row (e.g. "AVONET"). */
  source: string;
  /** Citation stored on every row. */
  reference: string;
  rows: ReadonlyArray<{ line: number; speciesName: string; values: readonly TraitValue[] }>;
}

export interface TraitImportResult {
  matched: number;
  unmatched: Array<{ line: number; speciesName: string }>;
  /** Trait rows inserted or changed. */
  written: number;
}
