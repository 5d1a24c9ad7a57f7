-- Import staging (services/store/src/repositories/import.repository.ts).
-- Every taxonomy format is normalised into import_taxon_staging, filled batch by batch (each batch
-- committed with its import_checkpoint row, so an interrupted import resumes), then resolved into
-- taxon level by level by one set-based routine. Rows are deleted when their import completes.

CREATE TABLE "import_taxon_staging" (
    "import_key" TEXT NOT NULL,
    "source_key" TEXT NOT NULL,
    "parent_source_key" TEXT,
    -- Set for a synonym: the row's name becomes a synonym of this key's taxon.
    "accepted_source_key" TEXT,
    -- NULL only for synonyms, whose rank does not matter.
    "rank" "taxon_rank",
    -- NULL for an unnamed placeholder node: its children hang from its nearest named ancestor.
    "scientific_name" TEXT,
    "authorship" TEXT,
    "common_name" TEXT,
    "common_name_language" TEXT,
    "external_id" TEXT,
    "line_no" INTEGER NOT NULL,
    -- Working columns of the resolution routine.
    "parent_taxon_id" INTEGER,
    "resolved_taxon_id" INTEGER,
    "names_done" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "import_taxon_staging_pkey" PRIMARY KEY ("import_key", "source_key")
);
CREATE INDEX "import_taxon_staging_parent_idx" ON "import_taxon_staging"("import_key", "parent_source_key");

-- Extra names of a staged node (vernacular names with language, e.g. a DwC-A VernacularName extension).
CREATE TABLE "import_name_staging" (
    "import_key" TEXT NOT NULL,
    "source_key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    -- '' when the source gives no language (NULL in taxon_name).
    "language" TEXT NOT NULL DEFAULT '',
    "is_preferred" BOOLEAN NOT NULL DEFAULT false,
    "line_no" INTEGER NOT NULL,
    CONSTRAINT "import_name_staging_pkey" PRIMARY KEY ("import_key", "source_key", "name", "language")
);

-- Merging a staged node with an existing taxon looks taxa up by name and rank.
CREATE INDEX "taxon_scientific_name_rank_idx" ON "taxon"("scientific_name", "rank");
