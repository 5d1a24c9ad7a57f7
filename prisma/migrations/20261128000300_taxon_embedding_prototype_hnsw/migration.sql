-- Not in Prisma: the HNSW index over taxon embeddings covers image prototypes only. Similar-taxa
-- search (the one nearest-neighbour query on this table) asks for kind = 'prototype'; text embeddings
-- (≈ 867 K species from the official BioCLIP 2 files, per model version) are read whole into the
-- classifier, never searched in the database, and each indexed row cost an HNSW insertion on import.
DROP INDEX "taxon_embedding_hnsw_idx";
CREATE INDEX "taxon_embedding_prototype_hnsw_idx" ON "taxon_embedding" USING hnsw ("embedding" vector_cosine_ops) WHERE "kind" = 'prototype';
