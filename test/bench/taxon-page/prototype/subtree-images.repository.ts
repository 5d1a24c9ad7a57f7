import { ImageRepository, type ImageRow } from "@arbor/store";

// Copied from services/store/src/repositories/image.repository.ts (not exported there).
const COLUMNS = `i.id, i.sha256, i.taxon_id AS "taxonId", i.observation_id AS "observationId", i.source,
  i.source_id AS "sourceId", i.source_url AS "sourceUrl", i.license, i.rights_holder AS "rightsHolder",
  i.publisher, i.basis_of_record AS "basisOfRecord", i.life_stage AS "lifeStage", i.sex, i.width, i.height,
  i.created_at AS "createdAt"`;

/**
 * Proposed fix of ImageRepository.getForTaxa / countForTaxa (prototype, measured by
 * `npm run bench -- taxon-page --prototype`): the subtree is collected into an array first,
 * `i.taxon_id = ANY(ARRAY(SELECT … p.id …))`, instead of `i.taxon_id IN (SELECT … p.id …)`.
 * Inside the LATERAL over unnest($1) the planner cannot see p.id, estimates the subtree at 0.5 %
 * of all taxa (5,000 at 1 M) and hash-joins a sequential scan of the whole image table for every
 * owner; with the array it probes image_taxon_id_idx once per subtree taxon. Same rows, same order.
 */
const IN_SUBTREE = `i.taxon_id = ANY(ARRAY(SELECT x.id FROM taxon x WHERE x.id = $TAXON OR x.ancestor_ids @> ARRAY[$TAXON::int]))`;
const inSubtree = (param: string) => IN_SUBTREE.replaceAll("$TAXON", param);

export class SubtreeArrayImageRepository extends ImageRepository {
  constructor(private readonly db: ConstructorParameters<typeof ImageRepository>[0]) {
    super(db);
  }

  override async getForTaxa(
    taxonIds: readonly number[],
    limit: number,
    after: { createdAt: Date; id: string } | null,
  ): Promise<Array<ImageRow & { ownerTaxonId: number }>> {
    if (taxonIds.length === 0) return [];
    const { rows } = await this.db.query<ImageRow & { ownerTaxonId: number }>(
      `SELECT p.id AS "ownerTaxonId", c.* FROM unnest($1::int[]) AS p(id)
       CROSS JOIN LATERAL (
         SELECT ${COLUMNS} FROM image i
         WHERE ${inSubtree("p.id")}
           AND ($3::timestamptz IS NULL OR (i.created_at, i.id) < ($3::timestamptz, $4::uuid))
         ORDER BY i.created_at DESC, i.id DESC LIMIT $2
       ) c`,
      [taxonIds, limit, after?.createdAt ?? null, after?.id ?? "00000000-0000-0000-0000-000000000000"],
    );
    return rows;
  }

  override async countForTaxa(taxonIds: readonly number[]): Promise<Map<number, number>> {
    const { rows } = await this.db.query<{ ownerTaxonId: number; count: number }>(
      `SELECT p.id AS "ownerTaxonId", (SELECT count(*) FROM image i WHERE ${inSubtree("p.id")})::int AS count
       FROM unnest($1::int[]) AS p(id)`,
      [taxonIds],
    );
    return new Map(rows.map((row) => [row.ownerTaxonId, row.count]));
  }
}
