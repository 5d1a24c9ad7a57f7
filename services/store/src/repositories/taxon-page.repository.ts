import { hotStatement, type Pool } from "../db.ts";
import { type ImageRow, NO_IMAGE_ID, subtreeImagesPageSql } from "./image.repository.ts";
import { childrenPageSql, lineageSql, taxonColumns, type TaxonRow } from "./taxon.repository.ts";
import { traitsOfSql, type TraitRow } from "./trait.repository.ts";

/** Which relations to fetch with the taxon; a page window is `limit` rows after an optional key. */
export interface TaxonPageInclude {
  ancestors?: boolean;
  children?: { limit: number; after: { name: string; id: number } | null };
  traits?: boolean;
  images?: { limit: number; after: { createdAt: Date; id: string } | null };
}

/** A taxon with the relations asked for; a relation not asked for is undefined. */
export interface TaxonPage {
  taxon: TaxonRow;
  ancestors?: TaxonRow[];
  children?: TaxonRow[];
  traits?: TraitRow[];
  /** ownerTaxonId: the page's taxon, as ImageRepository.getForTaxa gives it. */
  images?: Array<ImageRow & { ownerTaxonId: number }>;
}

type JsonImageRow = Omit<ImageRow, "createdAt"> & { createdAt: string | Date; ownerTaxonId: number };

/**
 * A taxon and the relations of its page (lineage, a window of children, traits, a window of the
 * subtree's images) in ONE statement, the relations built as JSON by PostgreSQL: the same rows,
 * in the same order, as the per-relation repositories (it reuses their SQL), without the four
 * further statements, the second round trip and the row-by-row parsing in Node. The GraphQL API
 * uses it when it can see a query's selection ahead (see apps/api taxon-page.prefetch.ts).
 */
export class TaxonPageRepository {
  private readonly statements = new Map<string, { name: string; text: string }>();

  constructor(
    private readonly pool: Pool,
    private readonly namedStatements = false,
  ) {}

  async getById(id: number, include: TaxonPageInclude): Promise<TaxonPage | null> {
    const values: unknown[] = [id];
    if (include.children) values.push(include.children.limit, include.children.after?.name ?? null, include.children.after?.id ?? 0);
    if (include.images) values.push(include.images.limit, include.images.after?.createdAt ?? null, include.images.after?.id ?? NO_IMAGE_ID);
    const { name, text } = this.statement(include);
    const { rows } = await this.pool.query<TaxonRow & { ancestors?: TaxonRow[]; children?: TaxonRow[]; traits?: TraitRow[]; images?: JsonImageRow[] }>(
      hotStatement(this.namedStatements, name, text, values),
    );
    const row = rows[0];
    if (!row) return null;
    const { ancestors, children, traits, images, ...taxon } = row;
    // In place: the parsed JSON objects are this call's own, and a page holds a few dozen rows.
    for (const image of images ?? []) {
      image.createdAt = new Date(image.createdAt);
      image.ownerTaxonId = id;
    }
    return { taxon, ancestors, children, traits, images: images as TaxonPage["images"] };
  }

  /** The statement for one combination of relations (at most 16 texts, each prepared once per connection). */
  private statement(include: TaxonPageInclude): { name: string; text: string } {
    const key = `${include.ancestors ? "a" : ""}${include.children ? "c" : ""}${include.traits ? "t" : ""}${include.images ? "i" : ""}`;
    let statement = this.statements.get(key);
    if (!statement) {
      const relations: string[] = [];
      let next = 2;
      const params = (n: number) => Array.from({ length: n }, () => `$${next++}`);
      const asJson = (sql: string, name: string) => `(SELECT coalesce(json_agg(r), '[]'::json) FROM (${sql}) r) AS ${name}`;
      if (include.ancestors) relations.push(asJson(lineageSql("p.ancestor_ids"), "ancestors"));
      if (include.children) {
        const [limit, afterName, afterId] = params(3);
        relations.push(asJson(childrenPageSql("p.id", limit!, afterName!, afterId!), "children"));
      }
      if (include.traits) relations.push(asJson(traitsOfSql("p.id"), "traits"));
      if (include.images) {
        const [limit, afterCreatedAt, afterId] = params(3);
        relations.push(asJson(subtreeImagesPageSql("p.id", limit!, afterCreatedAt!, afterId!), "images"));
      }
      const text = `SELECT ${[taxonColumns("p"), ...relations].join(",\n  ")}\nFROM taxon p WHERE p.id = $1`;
      statement = { name: `taxon.page.${key}`, text };
      this.statements.set(key, statement);
    }
    return statement;
  }
}
