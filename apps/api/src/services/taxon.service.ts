import type { Store, TaxonPage, TaxonPageInclude, TaxonRow, TaxonSearchHit } from "@arbor/store";
import { BadInputError, NotFoundError } from "../errors.ts";
import { HNSW_EF_SEARCH, MAX_SEARCH_QUERY_LENGTH, MIN_NAME_SIMILARITY } from "../limits.ts";
import type { ModelService } from "./model.service.ts";

export interface TreeNodeRow {
  taxon: TaxonRow;
  children: TreeNodeRow[];
}

export class TaxonService {
  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
  ) {}

  async findOne(id: number | null | undefined, scientificName: string | null | undefined): Promise<TaxonRow | null> {
    if ((id == null) === (scientificName == null)) {
      throw new BadInputError("id", "give exactly one of id or scientificName");
    }
    if (id != null) return (await this.store.taxa.getByIds([id]))[0] ?? null;
    return this.store.taxa.getByScientificName(scientificName!);
  }

  /** A taxon by id with the relations of its page that `include` names, in one statement; null when unknown. */
  findPage(id: number, include: TaxonPageInclude): Promise<TaxonPage | null> {
    return this.store.taxonPages.getById(id, include);
  }

  search(query: string, rank: string | undefined, limit: number, offset: number): Promise<TaxonSearchHit[]> {
    if (query.trim().length === 0) throw new BadInputError("query", "must not be empty");
    if (query.length > MAX_SEARCH_QUERY_LENGTH) {
      throw new BadInputError("query", `must be at most ${MAX_SEARCH_QUERY_LENGTH} characters`);
    }
    return this.store.taxa.search(query, { rank, limit, offset, minSimilarity: MIN_NAME_SIMILARITY });
  }

  /**
   * The tree below `rootId` (or below the roots) to `depth` levels, `childrenPerNode` each; one
   * statement per level whatever the number of nodes.
   */
  async tree(rootId: number | null | undefined, depth: number, childrenPerNode: number): Promise<TreeNodeRow[]> {
    let top: TaxonRow[];
    if (rootId == null) {
      top = await this.store.taxa.getRoots();
    } else {
      const root = (await this.store.taxa.getByIds([rootId]))[0];
      if (!root) throw new NotFoundError("taxon", rootId);
      top = [root];
    }
    const nodes = top.map((taxon) => ({ taxon, children: [] as TreeNodeRow[] }));
    let level = nodes;
    for (let d = 0; d < depth && level.length > 0; d++) {
      const parents = level.filter((node) => node.taxon.childCount > 0);
      const children = await this.store.taxa.getChildren(parents.map((node) => node.taxon.id), childrenPerNode, null);
      const byParent = new Map(parents.map((node) => [node.taxon.id, node]));
      const next: TreeNodeRow[] = [];
      for (const child of children) {
        const node = { taxon: child, children: [] };
        byParent.get(child.parentId!)?.children.push(node);
        next.push(node);
      }
      level = next;
    }
    return nodes;
  }

  async similarTaxa(taxonId: number, k: number, modelVersionId?: number | null) {
    const model = await this.models.resolve(modelVersionId);
    return this.store.taxonEmbeddings.findSimilarByPrototype(taxonId, model.id, k, HNSW_EF_SEARCH);
  }
}
