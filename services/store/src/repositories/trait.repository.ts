import type { Pool } from "../db.ts";

export interface TraitRow {
  taxonId: number;
  name: string;
  numericValue: number | null;
  textValue: string | null;
  unit: string | null;
  source: string;
  reference: string | null;
}

export class TraitRepository {
  constructor(private readonly pool: Pool) {}

  async getForTaxa(taxonIds: readonly number[]): Promise<TraitRow[]> {
    if (taxonIds.length === 0) return [];
    const { rows } = await this.pool.query<TraitRow>(
      `SELECT taxon_id AS "taxonId", name, numeric_value AS "numericValue", text_value AS "textValue", unit, source, reference
       FROM trait WHERE taxon_id = ANY($1::int[]) ORDER BY taxon_id, source, name`,
      [taxonIds],
    );
    return rows;
  }
}
