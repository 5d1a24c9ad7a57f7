-- Not in Prisma (partial indexes): the rows of an import still to resolve, and those whose names are
-- still to write. The resolution routine looks for both once per batch; without these indexes each
-- look-up walked every row staged so far by the import (it keeps its resolved rows for later batches'
-- parents), so an import's cost grew with the square of its size: the official text embeddings
-- (867 K species) slowed from 2,400 to 700 species/s as the import went on.
CREATE INDEX "import_taxon_staging_unresolved_idx" ON "import_taxon_staging"("import_key") WHERE "resolved_taxon_id" IS NULL;
CREATE INDEX "import_taxon_staging_names_pending_idx" ON "import_taxon_staging"("import_key") WHERE NOT "names_done";
