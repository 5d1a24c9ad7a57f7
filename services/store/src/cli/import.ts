// `npm run import -- <kind> <file> [options]`: imports taxonomies, traits and embeddings into
// Arbor's store (see services/store/src/importers/README.md for every kind and option).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createPool, type Pool } from "../db.ts";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../embedded.ts";
import {
  createProgressReporter,
  importEmbeddings,
  importTaxa,
  importTraits,
  ImportAbortedError,
  ImportFileError,
  IMPORT_KINDS,
  ImportUsageError,
  recomputePrototypesFor,
  type ImportKind,
  type ImportOutcome,
} from "../importers/index.ts";
import { createLogger } from "../logger.ts";
import { migrate } from "../migrate.ts";

const USAGE = `usage: npm run import -- <kind> <file> [options]

kinds:
  taxa-parent-child <csv>    iNaturalist-style parent_taxon_id,taxon_id,rank_level|rank,name
  taxa-lineage <csv>         kingdom…genus,species|species_epithet[,common_name][,id]
  taxa-dwca <zip|dir>        Darwin Core Archive with a Taxon core (+ VernacularName extension)
  traits-avonet <csv>        AVONET dataset 1 (BirdLife)
  traits-pantheria <tsv>     PanTHERIA WR05
  traits-anage <tsv>         AnAge build
  embeddings-parquet <file>  emb-explorer Parquet (uuid, lineage, identifier, emb)   --model required
  embeddings-raw <bin>       float32 LE [rows][dim] + --metadata <csv>               --model required
  prototypes                 recompute taxon prototypes                               --model required

options:
  --database-url URL   PostgreSQL URL (default: $DATABASE_URL, else the embedded database in $DATA_DIR)
  --data-dir DIR       embedded database location (default: $DATA_DIR or .arbor/data)
  --max-errors N       bad rows to skip and report before aborting (default 0: abort on the first)
  --batch-size N       rows per transaction and checkpoint
  --force              import again a file that was imported completely
  --source NAME        source name for external ids and names (taxa, embeddings)
  --allow-unnamed      taxa-parent-child: keep unnamed rows as pass-through nodes
  --id-column NAME     taxa-lineage: column with the leaf's id in the source
  --language CODE      language of common names (default en)
  --unmatched-out FILE traits-*: write unmatched species names there
  --model NAME@VER     embeddings-*, prototypes: model version (e.g. bioclip-2@1)
  --dim N              embeddings-*: vector dimension (default: the model's, 768)
  --metadata FILE      embeddings-raw: metadata CSV whose "row" column indexes the binary file
  --no-prototypes      do not recompute prototypes after the import
  --no-progress        no progress bar (progress is then logged every 10,000 rows)
`;

const log = createLogger("import");

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "database-url": { type: "string" },
      "data-dir": { type: "string" },
      "max-errors": { type: "string" },
      "batch-size": { type: "string" },
      force: { type: "boolean" },
      source: { type: "string" },
      "allow-unnamed": { type: "boolean" },
      "id-column": { type: "string" },
      language: { type: "string" },
      "unmatched-out": { type: "string" },
      model: { type: "string" },
      dim: { type: "string" },
      metadata: { type: "string" },
      "no-prototypes": { type: "boolean" },
      "no-progress": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const kind = positionals[0] as ImportKind;
  if (!IMPORT_KINDS.includes(kind)) throw new ImportUsageError(`unknown kind "${positionals[0]}"`);
  const file = positionals[1];
  if (kind !== "prototypes" && !file) throw new ImportUsageError(`${kind} needs a file`);
  if ((kind.startsWith("embeddings-") || kind === "prototypes") && !values.model) throw new ImportUsageError(`${kind} needs --model name@version`);

  const database = await openDatabase(values["database-url"], values["data-dir"]);
  try {
    const common = {
      pool: database.pool,
      log,
      progress: createProgressReporter({ log, bar: values["no-progress"] ? false : undefined }),
      maxErrors: integerOption("max-errors", values["max-errors"]) ?? 0,
      batchSize: integerOption("batch-size", values["batch-size"]),
      force: values.force ?? false,
    };
    const path = file ? resolve(file) : "";
    let outcome: ImportOutcome | undefined;
    if (kind === "prototypes") {
      const stats = await recomputePrototypesFor(database.pool, values.model!);
      process.stdout.write(`prototypes of ${values.model}: ${stats.prototypes} taxa, ${stats.written} written, ${stats.deleted} deleted\n`);
      return 0;
    } else if (kind.startsWith("taxa-")) {
      outcome = await importTaxa(kind as "taxa-lineage", path, {
        ...common,
        source: values.source,
        allowUnnamed: values["allow-unnamed"],
        idColumn: values["id-column"],
        language: values.language,
        prototypes: !values["no-prototypes"],
      });
    } else if (kind.startsWith("traits-")) {
      outcome = await importTraits(kind as "traits-avonet", path, { ...common, unmatchedOut: values["unmatched-out"] ? resolve(values["unmatched-out"]) : undefined });
    } else {
      outcome = await importEmbeddings(kind as "embeddings-raw", path, {
        ...common,
        model: values.model!,
        dimension: integerOption("dim", values.dim),
        metadataPath: values.metadata ? resolve(values.metadata) : undefined,
        source: values.source,
        prototypes: !values["no-prototypes"],
      });
    }
    printOutcome(outcome);
    return 0;
  } finally {
    await database.close();
  }
}

function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new ImportUsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return number;
}

async function openDatabase(url: string | undefined, dataDir: string | undefined): Promise<{ pool: Pool; close(): Promise<void> }> {
  const databaseUrl = url ?? process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  if (!databaseUrl) {
    // Only one process may open a PGlite directory: stop `npm start` first, or point
    // --database-url at its wire-protocol server (postgresql://postgres@127.0.0.1:5433/postgres).
    const dir = resolve(dataDir ?? process.env.DATA_DIR ?? ".arbor/data", "pglite");
    embedded = await startEmbeddedDatabase({ dataDir: dir, port: 0 });
    log.info({ dataDir: dir }, "embedded database");
  }
  const pool = createPool(embedded?.url ?? databaseUrl!, 2);
  await migrate(pool);
  return {
    pool,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}

function printOutcome(outcome: ImportOutcome): void {
  const lines = [
    outcome.alreadyDone
      ? `${outcome.kind}: ${outcome.file} was already imported (sha256 ${outcome.sha256.slice(0, 12)}…); --force runs it again`
      : `${outcome.kind}: ${outcome.file}: ${outcome.rows} rows in ${outcome.seconds.toFixed(1)} s` +
        (outcome.resumedFrom > 0 ? ` (resumed after row ${outcome.resumedFrom})` : ""),
    ...Object.entries(outcome.stats).map(([key, value]) => `  ${key}: ${value}`),
  ];
  if (outcome.badRows.length > 0) {
    lines.push(`  bad rows skipped: ${outcome.badRows.length}`);
    for (const error of outcome.badRows.slice(0, 20)) lines.push(`    ${error.message}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ImportUsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof ImportAbortedError) {
      for (const row of error.errors) log.error({ error: row.toJSON() }, "bad row");
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof ImportFileError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    log.error({ err: error }, "import failed");
    process.exit(1);
  },
);
