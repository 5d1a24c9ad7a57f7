import { createProgressReporter, type ProgressReporter } from "@arbor/store";
import type { JobHandler } from "../job-handler.ts";
import { importTextEmbeddings } from "../services/import-text-embeddings.service.ts";

/** `import-text-embeddings`: the official BioCLIP 2 species text embeddings, streamed and checkpointed. */
export const importTextEmbeddingsHandler: JobHandler<"import-text-embeddings"> = {
  name: "import-text-embeddings",
  async run(payload, context) {
    // The import's own progress (rows of the write pass) is mirrored onto the job row after each
    // committed batch; the log gets a line every 10,000 rows.
    const logged = createProgressReporter({ log: context.log, bar: false });
    let step = "";
    let done = 0;
    let total = 0;
    const progress: ProgressReporter = {
      start(name, size) {
        step = name;
        total = size;
        done = 0;
        logged.start(name, size);
      },
      update(value) {
        // Called every few thousand rows, also during the long check pass: stop promptly when asked.
        context.signal.throwIfAborted();
        done = value;
        logged.update(value);
      },
      stop: () => logged.stop(),
    };
    const outcome = await importTextEmbeddings({
      pool: context.deps.store.pool,
      log: context.log,
      progress,
      npyPath: payload.npyPath,
      jsonPath: payload.jsonPath,
      model: payload.modelVersion,
      source: payload.source,
      batchSize: payload.batchSize,
      maxErrors: payload.maxErrors ?? 0,
      force: payload.force ?? false,
      afterBatch: async () => {
        context.signal.throwIfAborted();
        await context.saveProgress({ step, done, total });
      },
    });
    const result = {
      file: outcome.file,
      sha256: outcome.sha256,
      rows: outcome.rows,
      resumedFrom: outcome.resumedFrom,
      badRows: outcome.badRows.map((error) => error.toJSON()),
      stats: outcome.stats,
      seconds: outcome.seconds,
    };
    if (outcome.alreadyDone) return { status: "skipped", reason: "these files were imported completely before (force: true imports them again)", result };
    return { status: "succeeded", result };
  },
};
