-- Jobs are claimed in enqueue order. created_at cannot decide it: two jobs enqueued within one clock tick
-- (PGlite's clock is coarser than PostgreSQL's) tie, and the uuid then picked either. A sequence number
-- is assigned in insertion order and never ties.
ALTER TABLE "job" ADD COLUMN "seq" BIGSERIAL NOT NULL;

DROP INDEX "job_status_run_after_idx";
CREATE INDEX "job_status_run_after_seq_idx" ON "job"("status", "run_after", "seq");
