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

/**
 * A subtree filter leaving at most this many images is searched exactly, without the index. In the
 * similar-images benchmark an exact ranking of ~1,000 candidates took ≈ 60 ms p50 (recall 1) while
 * HNSW with iterative scans missed neighbours for queries from outside a 1 % subtree (recall 0.89
 * on 100 K rows); at 10,000 candidates the exact path cost ≈ 0.5 s and HNSW reached recall 1.
 */
export const EXACT_SEARCH_CANDIDATE_LIMIT = 2_000;
/** HNSW candidate list size: recall@10 0.98 at p50 7.4 ms on 1 M vectors in the similar-images benchmark. */
export const HNSW_EF_SEARCH = 100;

/** Request bodies larger than this are refused before parsing. */
export const MAX_BODY_BYTES = 1_000_000;
