// `npm test`: the whole suite on the embedded database, then every database-backed test file
// (*.db.spec.ts) again on a real PostgreSQL + pgvector server. The server is TEST_DATABASE_URL, or
// the one scripts/postgres/start.sh runs when scripts/postgres/install.sh has been run here.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const extraArgs = process.argv.slice(2);
const PGVECTOR_LIB = "/usr/lib/postgresql/15/lib/vector.so";

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

function runVitest(label: string, env: NodeJS.ProcessEnv, args: string[]): Totals {
  console.error(`\n=== ${label} ===`);
  const reportDir = mkdtempSync(join(tmpdir(), "arbor-test-"));
  try {
    return runVitestInto(join(reportDir, "report.json"), label, env, args);
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

function runVitestInto(report: string, label: string, env: NodeJS.ProcessEnv, args: string[]): Totals {
  const result = spawnSync("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...args], {
    stdio: "inherit",
    env,
  });
  if (!existsSync(report)) {
    console.error(`${label}: vitest produced no report (exit ${result.status})`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const json = JSON.parse(readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    testResults: Array<{ status: string; assertionResults: Array<{ status: string }> }>;
  };
  // A file that fails to load (or in a hook) fails no single test: count it as one failure.
  const brokenFiles = json.testResults.filter((file) => file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")).length;
  return { passed: json.numPassedTests, failed: json.numFailedTests + brokenFiles, skipped: json.numPendingTests };
}

function realServerUrl(): string | undefined {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  if (!existsSync(PGVECTOR_LIB)) return undefined;
  const output = execFileSync("bash", ["scripts/postgres/start.sh"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return /^DATABASE_URL=(.+)$/m.exec(output)?.[1];
}

// The classify kernels addon, when it can be built here (else the TypeScript kernels run: same results).
spawnSync(process.execPath, ["services/inference/native/build.mjs"], { stdio: "inherit" });

const { TEST_DATABASE_URL: _ignored, ...embeddedEnv } = process.env;
const totals = [runVitest("all tests, embedded database (PGlite)", embeddedEnv, extraArgs)];
const url = realServerUrl();
if (url) {
  totals.push(runVitest(`database tests, real PostgreSQL (${url.replace(/\/\/[^@]*@/, "//")})`, { ...process.env, TEST_DATABASE_URL: url }, extraArgs.length ? extraArgs : [".db.spec.ts"]));
} else {
  console.error("\n!!! real-PostgreSQL pass SKIPPED: set TEST_DATABASE_URL or run `bash scripts/postgres/install.sh` (see README).");
}
const sum = totals.reduce((a, b) => ({ passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped }));
console.log(`\n${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
process.exit(sum.failed > 0 ? 1 : 0);
