import type { PageKey } from "../../loaders/page.loader.ts";
import { isImageId } from "../../services/image.service.ts";
import { decodeCursor } from "../common/connection.ts";
import { type PaginationArgs, pageSize } from "../common/pagination.args.ts";

export type ChildrenPageKey = PageKey<number, { name: string; id: number }>;
export type ImagesPageKey = PageKey<number, { createdAt: Date; id: string }>;

const isNameKey = (v: unknown): v is [string, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && Number.isInteger(v[1]);
const isImageKey = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === "string" && isImageId(v[1]);

/**
 * The loader key of a page of a taxon's children (one row more than the page, to know whether
 * another follows); throws BAD_USER_INPUT for a bad size or cursor. The prefetch builds its keys
 * with these functions too, so what it primes is what the field resolvers then load.
 */
export function childrenPageKey(taxonId: number, page: PaginationArgs): ChildrenPageKey {
  const after = page.after ? decodeCursor(page.after, isNameKey) : null;
  return { owner: taxonId, limit: pageSize(page) + 1, after: after && { name: after[0], id: after[1] } };
}

/** The loader key of a page of the images of a taxon's subtree (see childrenPageKey). */
export function imagesPageKey(taxonId: number, page: PaginationArgs): ImagesPageKey {
  const after = page.after ? decodeCursor(page.after, isImageKey) : null;
  return { owner: taxonId, limit: pageSize(page) + 1, after: after && { createdAt: new Date(after[0]), id: after[1] } };
}
