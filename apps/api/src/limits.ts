// What a client may ask of the API, in one place. Each limit sits where its cost is paid.

/** Page sizes of every connection (children, images, search results). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Neighbours per similarity query: each costs an index probe and k loaded images. */
export const DEFAULT_K = 10;
export const MAX_K = 100;

/** Nesting of a query document; deep enough for a taxon page, shallow enough to stop abuse. */
export const MAX_QUERY_DEPTH = 12;
/** Estimated fields resolved per request (a connection multiplies its children by `first`). */
export const MAX_QUERY_COMPLEXITY = 20_000;

/** Levels a single tree() call may expand. */
export const MAX_TREE_DEPTH = 3;
/** Children listed per node in tree(); the node's childCount tells if there are more. */
export const TREE_CHILDREN_PER_NODE = 200;

export const MAX_SEARCH_QUERY_LENGTH = 200;
/** Trigram similarity below which a name does not count as a typo-tolerant match. */
export const MIN_NAME_SIMILARITY = 0.3;

/** A subtree filter leaving at most this many images is searched exactly, without the index. */
export const EXACT_SEARCH_CANDIDATE_LIMIT = 20_000;
/** HNSW candidate list size; recall@10 ≥ 0.95 at this setting in the similar-images benchmark. */
export const HNSW_EF_SEARCH = 100;

/** Request bodies larger than this are refused before parsing. */
export const MAX_BODY_BYTES = 1_000_000;
