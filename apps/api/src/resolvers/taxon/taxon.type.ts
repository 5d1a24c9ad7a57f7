import { Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";
import type { TaxonRow } from "@arbor/store";

export enum TaxonRank {
  kingdom = "kingdom", subkingdom = "subkingdom", phylum = "phylum", subphylum = "subphylum",
  superclass = "superclass", class = "class", subclass = "subclass", infraclass = "infraclass",
  superorder = "superorder", order = "order", suborder = "suborder", infraorder = "infraorder",
  superfamily = "superfamily", family = "family", subfamily = "subfamily", tribe = "tribe",
  genus = "genus", subgenus = "subgenus", species = "species", subspecies = "subspecies",
  variety = "variety", form = "form",
}
registerEnumType(TaxonRank, { name: "TaxonRank", description: "Taxonomic rank, kingdom to form." });

@ObjectType({ simpleResolvers: true, description: "A node of the tree of life. Intermediate ranks may be missing: parent is the nearest known ancestor." })
export class Taxon {
  @Field(() => Int)
  id!: number;

  @Field(() => TaxonRank)
  rank!: TaxonRank;

  @Field(() => String)
  scientificName!: string;

  @Field(() => String, { nullable: true })
  authorship!: string | null;

  @Field(() => String, { nullable: true, description: "Preferred common name (English where known)." })
  commonName!: string | null;

  @Field(() => Int, { description: "Number of ancestors (0 for a root)." })
  depth!: number;

  @Field(() => Int, { description: "Number of direct children." })
  childCount!: number;

  parentId!: number | null;
  ancestorIds!: number[];
}

/** `rank` comes from the taxon_rank enum, whose labels are TaxonRank's values. */
export function toTaxon(row: TaxonRow): Taxon {
  return Object.assign(new Taxon(), row as TaxonRow & { rank: TaxonRank });
}

@ObjectType({ simpleResolvers: true })
export class RankCount {
  @Field(() => TaxonRank)
  rank!: TaxonRank;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ simpleResolvers: true })
export class TaxonName {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "scientific, synonym or vernacular." })
  kind!: string;

  @Field(() => String, { nullable: true, description: "Language of a vernacular name (ISO 639-1)." })
  language!: string | null;

  @Field(() => Boolean)
  isPreferred!: boolean;
}

@ObjectType({ simpleResolvers: true })
export class SimilarTaxon {
  @Field(() => Taxon)
  taxon!: Taxon;

  @Field(() => Float, { description: "Cosine similarity of the two taxa's image prototypes." })
  similarity!: number;
}
