import { ImageResolver } from "./image/image.resolver.ts";
import { ModelVersionResolver } from "./model/model-version.resolver.ts";
import { SearchResolver } from "./search/search.resolver.ts";
import { TaxonResolver } from "./taxon/taxon.resolver.ts";
import { TreeResolver } from "./tree/tree.resolver.ts";

/** Every resolver of the schema; a new resource is one folder plus one line here. */
export const resolvers = [TaxonResolver, SearchResolver, TreeResolver, ImageResolver, ModelVersionResolver] as const;
