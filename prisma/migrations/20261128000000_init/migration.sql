-- Arbor initial schema (mirrors prisma/schema.prisma).
-- Written by hand in Prisma's migration style because `prisma migrate` needs a schema-engine binary
-- these machines cannot download; the additions Prisma cannot express are marked "not in Prisma".

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE TYPE "taxon_rank" AS ENUM ('kingdom', 'subkingdom', 'phylum', 'subphylum', 'superclass', 'class', 'subclass', 'infraclass', 'superorder', 'order', 'suborder', 'infraorder', 'superfamily', 'family', 'subfamily', 'tribe', 'genus', 'subgenus', 'species', 'subspecies', 'variety', 'form');
CREATE TYPE "name_kind" AS ENUM ('scientific', 'synonym', 'vernacular');
CREATE TYPE "model_kind" AS ENUM ('backbone', 'derived');
CREATE TYPE "model_status" AS ENUM ('candidate', 'active', 'retired', 'failed');
CREATE TYPE "user_role" AS ENUM ('viewer', 'contributor', 'curator', 'admin');
CREATE TYPE "observation_status" AS ENUM ('pending', 'needs_id', 'verified', 'rejected');
CREATE TYPE "job_status" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');
CREATE TYPE "taxon_embedding_kind" AS ENUM ('text', 'prototype');

CREATE TABLE "taxon" (
    "id" SERIAL NOT NULL,
    "parent_id" INTEGER,
    "rank" "taxon_rank" NOT NULL,
    "scientific_name" TEXT NOT NULL,
    "authorship" TEXT,
    "common_name" TEXT,
    "ancestor_ids" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "depth" INTEGER NOT NULL DEFAULT 0,
    "child_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "taxon_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "taxon_name" (
    "id" SERIAL NOT NULL,
    "taxon_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "name_kind" NOT NULL,
    "language" TEXT,
    "is_preferred" BOOLEAN NOT NULL DEFAULT false,
    "source" TEXT,
    CONSTRAINT "taxon_name_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "taxon_external_id" (
    "source" TEXT NOT NULL,
    "external_id" TEXT NOT NULL,
    "taxon_id" INTEGER NOT NULL,
    CONSTRAINT "taxon_external_id_pkey" PRIMARY KEY ("source", "external_id")
);

CREATE TABLE "image" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "sha256" TEXT,
    "taxon_id" INTEGER,
    "observation_id" UUID,
    "source" TEXT,
    "source_id" TEXT,
    "source_url" TEXT,
    "license" TEXT,
    "rights_holder" TEXT,
    "publisher" TEXT,
    "basis_of_record" TEXT,
    "life_stage" TEXT,
    "sex" TEXT,
    "mime_type" TEXT,
    "width" INTEGER,
    "height" INTEGER,
    "byte_size" INTEGER,
    "is_reference" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "image_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "model_version" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "kind" "model_kind" NOT NULL,
    "base_id" INTEGER,
    "status" "model_status" NOT NULL DEFAULT 'candidate',
    "is_stand_in" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT,
    "dimension" INTEGER NOT NULL DEFAULT 768,
    "logit_scale" DOUBLE PRECISION,
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "artifacts" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(6),
    CONSTRAINT "model_version_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "image_embedding" (
    "image_id" UUID NOT NULL,
    "model_version_id" INTEGER NOT NULL,
    "embedding" vector(768) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "image_embedding_pkey" PRIMARY KEY ("image_id", "model_version_id")
);

CREATE TABLE "taxon_embedding" (
    "taxon_id" INTEGER NOT NULL,
    "model_version_id" INTEGER NOT NULL,
    "kind" "taxon_embedding_kind" NOT NULL,
    "embedding" vector(768) NOT NULL,
    "image_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "taxon_embedding_pkey" PRIMARY KEY ("taxon_id", "model_version_id", "kind")
);

CREATE TABLE "trait" (
    "id" SERIAL NOT NULL,
    "taxon_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "numeric_value" DOUBLE PRECISION,
    "text_value" TEXT,
    "unit" TEXT,
    "source" TEXT NOT NULL,
    "reference" TEXT,
    CONSTRAINT "trait_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "app_user" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "display_name" TEXT,
    "role" "user_role" NOT NULL DEFAULT 'contributor',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "app_user_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "api_key" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "key_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(6),
    "revoked_at" TIMESTAMPTZ(6),
    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "observation" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "observed_at" TIMESTAMPTZ(6),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "notes" TEXT,
    "status" "observation_status" NOT NULL DEFAULT 'pending',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "observation_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "identification" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "observation_id" UUID NOT NULL,
    "taxon_id" INTEGER NOT NULL,
    "user_id" UUID,
    "is_verified" BOOLEAN NOT NULL DEFAULT false,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "withdrawn_at" TIMESTAMPTZ(6),
    CONSTRAINT "identification_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "prediction" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "observation_id" UUID,
    "image_id" UUID,
    "model_version_id" INTEGER NOT NULL,
    "taxon_id" INTEGER,
    "score" DOUBLE PRECISION NOT NULL,
    "ranked" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "prediction_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "training_run" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "status" "job_status" NOT NULL DEFAULT 'queued',
    "config" JSONB NOT NULL DEFAULT '{}',
    "seed" INTEGER NOT NULL,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "base_model_version_id" INTEGER,
    "result_model_version_id" INTEGER,
    "requested_by" UUID,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "finished_at" TIMESTAMPTZ(6),
    CONSTRAINT "training_run_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "job" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "status" "job_status" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 3,
    "run_after" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "locked_at" TIMESTAMPTZ(6),
    "locked_by" TEXT,
    "progress" JSONB NOT NULL DEFAULT '{}',
    "result" JSONB,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),
    CONSTRAINT "job_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "import_checkpoint" (
    "kind" TEXT NOT NULL,
    "file_sha256" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "rows_done" INTEGER NOT NULL DEFAULT 0,
    "completed" BOOLEAN NOT NULL DEFAULT false,
    "stats" JSONB NOT NULL DEFAULT '{}',
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "import_checkpoint_pkey" PRIMARY KEY ("kind", "file_sha256")
);

-- Unique keys. Not in Prisma: NULLS NOT DISTINCT, so roots (parent NULL) and names without a
-- language are deduplicated too; this is what makes imports idempotent.
CREATE UNIQUE INDEX "taxon_parent_rank_name_key" ON "taxon"("parent_id", "rank", "scientific_name") NULLS NOT DISTINCT;
CREATE UNIQUE INDEX "taxon_name_unique_key" ON "taxon_name"("taxon_id", "kind", "name", "language") NULLS NOT DISTINCT;
CREATE UNIQUE INDEX "image_sha256_key" ON "image"("sha256");
CREATE UNIQUE INDEX "image_source_key" ON "image"("source", "source_id");
CREATE UNIQUE INDEX "model_version_name_version_key" ON "model_version"("name", "version");
CREATE UNIQUE INDEX "trait_taxon_source_name_key" ON "trait"("taxon_id", "source", "name");
CREATE UNIQUE INDEX "app_user_email_key" ON "app_user"("email");
CREATE UNIQUE INDEX "api_key_key_hash_key" ON "api_key"("key_hash");

CREATE INDEX "taxon_parent_id_idx" ON "taxon"("parent_id");
CREATE INDEX "taxon_rank_idx" ON "taxon"("rank");
CREATE INDEX "taxon_name_taxon_id_idx" ON "taxon_name"("taxon_id");
CREATE INDEX "taxon_external_id_taxon_id_idx" ON "taxon_external_id"("taxon_id");
CREATE INDEX "image_taxon_id_idx" ON "image"("taxon_id");
CREATE INDEX "image_observation_id_idx" ON "image"("observation_id");
CREATE INDEX "image_embedding_model_version_id_idx" ON "image_embedding"("model_version_id");
CREATE INDEX "taxon_embedding_model_version_id_kind_idx" ON "taxon_embedding"("model_version_id", "kind");
CREATE INDEX "trait_name_idx" ON "trait"("name");
CREATE INDEX "observation_user_id_idx" ON "observation"("user_id");
CREATE INDEX "observation_status_idx" ON "observation"("status");
CREATE INDEX "identification_observation_id_idx" ON "identification"("observation_id");
CREATE INDEX "identification_taxon_id_idx" ON "identification"("taxon_id");
CREATE INDEX "prediction_observation_id_idx" ON "prediction"("observation_id");
CREATE INDEX "prediction_image_id_idx" ON "prediction"("image_id");
CREATE INDEX "job_status_run_after_idx" ON "job"("status", "run_after");

-- Not in Prisma: lineage. Descendants of X are the rows whose ancestor_ids contain X.
CREATE INDEX "taxon_ancestor_ids_gin_idx" ON "taxon" USING GIN ("ancestor_ids");
-- Not in Prisma: name search. Prefix matches use the btree (text_pattern_ops), typo-tolerant
-- matches the trigram GIN index; both on lower(name) as the search lower-cases the query.
CREATE INDEX "taxon_name_prefix_idx" ON "taxon_name"(lower("name") text_pattern_ops);
CREATE INDEX "taxon_name_trgm_idx" ON "taxon_name" USING GIN (lower("name") gin_trgm_ops);
-- Not in Prisma: keep 768-d vectors (3 KB) inline rather than in TOAST, so the planner sees the
-- table's real size and builds HNSW indexes with parallel workers.
ALTER TABLE "image_embedding" ALTER COLUMN "embedding" SET STORAGE PLAIN;
ALTER TABLE "taxon_embedding" ALTER COLUMN "embedding" SET STORAGE PLAIN;
-- Not in Prisma: cosine HNSW indexes over the embeddings (pgvector defaults m=16, ef_construction=64).
CREATE INDEX "image_embedding_hnsw_idx" ON "image_embedding" USING hnsw ("embedding" vector_cosine_ops);
CREATE INDEX "taxon_embedding_hnsw_idx" ON "taxon_embedding" USING hnsw ("embedding" vector_cosine_ops);

ALTER TABLE "taxon" ADD CONSTRAINT "taxon_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "taxon"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "taxon_name" ADD CONSTRAINT "taxon_name_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "taxon_external_id" ADD CONSTRAINT "taxon_external_id_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "image" ADD CONSTRAINT "image_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "image" ADD CONSTRAINT "image_observation_id_fkey" FOREIGN KEY ("observation_id") REFERENCES "observation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_base_id_fkey" FOREIGN KEY ("base_id") REFERENCES "model_version"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "image_embedding" ADD CONSTRAINT "image_embedding_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "image"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "image_embedding" ADD CONSTRAINT "image_embedding_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "taxon_embedding" ADD CONSTRAINT "taxon_embedding_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "taxon_embedding" ADD CONSTRAINT "taxon_embedding_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "trait" ADD CONSTRAINT "trait_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "observation" ADD CONSTRAINT "observation_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "identification" ADD CONSTRAINT "identification_observation_id_fkey" FOREIGN KEY ("observation_id") REFERENCES "observation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "identification" ADD CONSTRAINT "identification_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "identification" ADD CONSTRAINT "identification_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_observation_id_fkey" FOREIGN KEY ("observation_id") REFERENCES "observation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_image_id_fkey" FOREIGN KEY ("image_id") REFERENCES "image"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_taxon_id_fkey" FOREIGN KEY ("taxon_id") REFERENCES "taxon"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "training_run" ADD CONSTRAINT "training_run_base_model_version_id_fkey" FOREIGN KEY ("base_model_version_id") REFERENCES "model_version"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "training_run" ADD CONSTRAINT "training_run_requested_by_fkey" FOREIGN KEY ("requested_by") REFERENCES "app_user"("id") ON DELETE SET NULL ON UPDATE CASCADE;
