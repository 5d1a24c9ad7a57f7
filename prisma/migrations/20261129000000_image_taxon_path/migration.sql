-- image.taxon_path: the lineage of the image's taxon, root first and ending with the taxon itself
-- (taxon.ancestor_ids || taxon.id); '{}' for an image without a taxon. Arrays sort element by
-- element with a prefix before its extensions, so the images of the subtree of taxon X are ONE range
-- of a btree: taxon_path >= X.ancestor_ids || X.id AND taxon_path < X.ancestor_ids || X.id + 1.
-- Before, a subtree's images took one index descent per taxon of the subtree (39 on average for
-- a benchmark genus) and a heap row per image to find the newest; the INCLUDE columns let the
-- newest images of a subtree be chosen from the index alone, and only the page's rows are read.
ALTER TABLE "image" ADD COLUMN "taxon_path" INTEGER[] DEFAULT ARRAY[]::INTEGER[];
UPDATE "image" i SET "taxon_path" = t."ancestor_ids" || t."id" FROM "taxon" t WHERE t."id" = i."taxon_id";
-- Not in Prisma (INCLUDE columns).
CREATE INDEX "image_taxon_path_idx" ON "image"("taxon_path") INCLUDE ("created_at", "id");

-- Not in Prisma: the path is derived, so the database keeps it, whoever writes (the API, the
-- importers, COPY). ENABLE ALWAYS: it is kept under session_replication_role = replica too, which
-- bulk loads use to skip foreign-key checks.
CREATE FUNCTION "image_set_taxon_path"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."taxon_path" := coalesce((SELECT t."ancestor_ids" || t."id" FROM "taxon" t WHERE t."id" = NEW."taxon_id"), ARRAY[]::INTEGER[]);
  RETURN NEW;
END $$;
CREATE TRIGGER "image_taxon_path" BEFORE INSERT OR UPDATE OF "taxon_id", "taxon_path" ON "image"
  FOR EACH ROW EXECUTE FUNCTION "image_set_taxon_path"();
ALTER TABLE "image" ENABLE ALWAYS TRIGGER "image_taxon_path";

-- A taxon that moves (a new ancestor_ids) carries its images' paths along.
CREATE FUNCTION "taxon_move_image_paths"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "image" SET "taxon_path" = NEW."ancestor_ids" || NEW."id" WHERE "taxon_id" = NEW."id";
  RETURN NULL;
END $$;
CREATE TRIGGER "taxon_image_paths" AFTER UPDATE OF "ancestor_ids" ON "taxon"
  FOR EACH ROW WHEN (OLD."ancestor_ids" IS DISTINCT FROM NEW."ancestor_ids") EXECUTE FUNCTION "taxon_move_image_paths"();
ALTER TABLE "taxon" ENABLE ALWAYS TRIGGER "taxon_image_paths";
