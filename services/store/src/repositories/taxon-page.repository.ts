import DataLoader from "dataloader";
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

/** Pages asked for while the event loop handled one round of I/O, merged into one statement (see getById). */
export interface TaxonPageBatching {
  /** Most pages in one statement. */
  maxPages: number;
}

const DEFAULT_BATCHING: TaxonPageBatching = { maxPages: 32 };

type JsonImageRow = Omit<ImageRow, "createdAt"> & { createdAt: string | Date; ownerTaxonId: number };
type PageRow = TaxonRow & { pageIndex: number; ancestors?: TaxonRow[]; children?: TaxonRow[]; traits?: TraitRow[]; images?: JsonImageRow[] };

interface PageRequest {
  id: number;
  include: TaxonPageInclude;
}

/** The statement of one combination of relations. */
interface PageSql {
  name: string;
  text: string;
}

/** That statement, and the pages waiting for it. */
interface PageStatement {
  sql: PageSql;
  pending: DataLoader<PageRequest, TaxonPage | null>;
}

/**
 * A taxon and the relations of its page (lineage, a window of children, traits, a window of the
 * subtree's images) in ONE statement, the relations built as JSON by PostgreSQL: the same rows,
 * in the same order, as the per-relation repositories (it reuses their SQL), without the four
 * further statements, the second round trip and the row-by-row parsing in Node. The GraphQL API
 * uses it when it can see a query's selection ahead (see apps/api taxon-page.prefetch.ts).
 *
 * Under load, pages asked for by different requests in the same turn of the event loop share
 * that statement: each page's taxon id and windows are a row of `unnest` over parameter arrays.
 * One statement for N pages costs PostgreSQL and the pg client less per page than N statements
 * (one round trip, one executor start-up, one backend wake-up). Nothing is cached: every call
 * reads the database. A failed batch is retried page by page, so a page that cannot be read
 * fails its own call only.
 */
export class TaxonPageRepository {
  private readonly statements = new Map<string, PageStatement>();

  constructor(
    private readonly pool: Pool,
    private readonly namedStatements = false,
    private readonly batching: TaxonPageBatching = DEFAULT_BATCHING,
  ) {}

  getById(id: number, include: TaxonPageInclude): Promise<TaxonPage | null> {
    return this.statement(include).pending.load({ id, include });
  }

  private async read(sql: PageSql, requests: readonly PageRequest[]): Promise<Array<TaxonPage | null>> {
    const { rows } = await this.pool.query<PageRow>(hotStatement(this.namedStatements, sql.name, sql.text, pageParameters(requests)));
    const pages: Array<TaxonPage | null> = requests.map(() => null);
    for (const row of rows) {
      const { pageIndex, ancestors, children, traits, images, ...taxon } = row;
      // In place: the parsed JSON objects are this call's own, and a page holds a few dozen rows.
      for (const image of images ?? []) {
        image.createdAt = new Date(image.createdAt);
        image.ownerTaxonId = taxon.id;
      }
      pages[pageIndex - 1] = { taxon, ancestors, children, traits, images: images as TaxonPage["images"] };
    }
    return pages;
  }

  private async readBatch(sql: PageSql, requests: readonly PageRequest[]): Promise<Array<TaxonPage | null | Error>> {
    try {
      return await this.read(sql, requests);
    } catch (error) {
      if (requests.length === 1) throw error;
      return Promise.all(requests.map((request) => this.read(sql, [request]).then((pages) => pages[0]!, (e: Error) => e)));
    }
  }

  /** The statement for one combination of relations (at most 16 texts, each prepared once per connection). */
  private statement(include: TaxonPageInclude): PageStatement {
    const key = `${include.ancestors ? "a" : ""}${include.children ? "c" : ""}${include.traits ? "t" : ""}${include.images ? "i" : ""}`;
    let statement = this.statements.get(key);
    if (!statement) {
      const sql = { name: `taxon.pages.${key}`, text: pageStatementText(include) };
      const pending = new DataLoader<PageRequest, TaxonPage | null>((requests) => this.readBatch(sql, requests), {
        cache: false,
        maxBatchSize: this.batching.maxPages,
        // After the poll phase, so that every request read in this turn of the loop has asked.
        batchScheduleFn: (dispatch) => setImmediate(dispatch),
      });
      statement = { sql, pending };
      this.statements.set(key, statement);
    }
    return statement;
  }
}

/** Parameter arrays, one element per page: $1 taxon ids, then each window's limit and key (pageStatementText's order). */
function pageParameters(requests: readonly PageRequest[]): unknown[] {
  const { include } = requests[0]!;
  const values: unknown[] = [requests.map((r) => r.id)];
  if (include.children) {
    values.push(
      requests.map((r) => r.include.children!.limit),
      requests.map((r) => r.include.children!.after?.name ?? null),
      requests.map((r) => r.include.children!.after?.id ?? 0),
    );
  }
  if (include.images) {
    values.push(
      requests.map((r) => r.include.images!.limit),
      requests.map((r) => r.include.images!.after?.createdAt ?? null),
      requests.map((r) => r.include.images!.after?.id ?? NO_IMAGE_ID),
    );
  }
  return values;
}

function pageStatementText(include: TaxonPageInclude): string {
  const arrays = ["$1::int[]"];
  const columns = ["id"];
  const param = (name: string, type: string) => {
    arrays.push(`$${arrays.length + 1}::${type}[]`);
    columns.push(name);
    return `k.${name}`;
  };
  const asJson = (sql: string, name: string) => `(SELECT coalesce(json_agg(r), '[]'::json) FROM (${sql}) r) AS ${name}`;
  const relations: string[] = [];
  if (include.ancestors) relations.push(asJson(lineageSql("p.ancestor_ids"), "ancestors"));
  if (include.children) {
    const window = [param("children_limit", "int"), param("children_after_name", "text"), param("children_after_id", "int")] as const;
    relations.push(asJson(childrenPageSql("p.id", ...window), "children"));
  }
  if (include.traits) relations.push(asJson(traitsOfSql("p.id"), "traits"));
  if (include.images) {
    const window = [param("images_limit", "int"), param("images_after_at", "timestamptz"), param("images_after_id", "uuid")] as const;
    relations.push(asJson(subtreeImagesPageSql("p.id", ...window), "images"));
  }
  // The arrays go through a sub-select that is not pulled up (OFFSET 0): the planner then cannot
  // count their elements, so a custom plan costs what the generic one does and PostgreSQL settles
  // on the generic plan after five runs. Counted, every call would be planned afresh (≈ 0.4 ms).
  return `SELECT k.n::int AS "pageIndex", ${[taxonColumns("p"), ...relations].join(",\n  ")}
FROM (SELECT ${arrays.map((array, i) => `${array} AS ${columns[i]}`).join(", ")} OFFSET 0) a
CROSS JOIN LATERAL unnest(${columns.map((c) => `a.${c}`).join(", ")}) WITH ORDINALITY AS k(${columns.join(", ")}, n)
JOIN taxon p ON p.id = k.id`;
}
