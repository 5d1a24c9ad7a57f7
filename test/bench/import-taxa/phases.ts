import type { ImporterRun } from "./importer-runner.ts";

/**
 * The importer's wall time split into the steps its README describes, from the profiler's passes
 * and repository-call totals. The rows are disjoint parts of the import's wall time.
 */
export interface PhaseRow {
  phase: string;
  ms: number;
}

export function phaseBreakdown(run: ImporterRun): PhaseRow[] {
  const call = (path: string) => run.calls.find((c) => c.path === path)?.ms ?? 0;
  const phaseMs = (prefix: string) => run.phases.filter((p) => p.name.startsWith(prefix)).reduce((sum, p) => sum + p.ms, 0);

  const stage = call("stageTaxa");
  // Keyed formats COPY straight into import_taxon_staging (stageKeyedBatch); lineage files, DwC-A
  // with extra names and a batch with a repeated key go through a temp table (stageTaxa>bulkLoad).
  const stageCopy = call("stageTaxa>stageKeyedBatch>bulkLoad") + call("stageTaxa>bulkLoad");
  const resolve = call("resolveStagedTaxa");
  const names = call("resolveStagedTaxa>writeNamesAndIds");
  const childCounts = call("resolveStagedTaxa>refreshChildCounts");
  const ginMerge = call("resolveStagedTaxa>mergeGinPendingLists");
  const match = call("resolveStagedTaxa>matchReady");
  const insert = call("resolveStagedTaxa>insertUnmatched");
  const move = call("resolveStagedTaxa>moveUnderMoreSpecificParents");
  const orphans = call("linkExternalParents") + call("findOrphans");
  const cleanup = call("clearStaging");
  const finish = phaseMs("finish");

  return [
    { phase: "hash (sha256) + checkpoint lookup", ms: phaseMs("hash") + phaseMs("between") },
    { phase: "check pass: parse every row", ms: phaseMs("check pass") },
    { phase: "write pass: COPY of each batch (into import_taxon_staging, or a temp table)", ms: stageCopy },
    { phase: "write pass: staging SQL (savepoint; temp-table path: duplicate check, INSERT … ON CONFLICT)", ms: stage - stageCopy },
    { phase: "write pass: parse again, batch checkpoints, commits", ms: phaseMs("write pass") - stage },
    { phase: "finish: orphan check (linkExternalParents, findOrphans)", ms: orphans },
    { phase: "finish: resolution, level loop (ready sets, placeholders, ANALYZE)", ms: resolve - names - childCounts - ginMerge - match - insert - move },
    { phase: "finish: resolution, matchReady (merge candidates)", ms: match },
    { phase: "finish: resolution, moveUnderMoreSpecificParents", ms: move },
    { phase: "finish: resolution, insertUnmatched (new taxa, the level's _node rows)", ms: insert },
    { phase: "finish: names + external ids (writeNamesAndIds)", ms: names },
    { phase: "finish: child counts (refreshChildCounts)", ms: childCounts },
    { phase: "finish: GIN pending lists merged (mergeGinPendingLists)", ms: ginMerge },
    { phase: "finish: staging cleanup (clearStaging)", ms: cleanup },
    { phase: "finish: checkpoint, COMMIT, prototype check", ms: finish - orphans - resolve - cleanup },
  ];
}

export interface LevelTiming {
  level: number;
  /** Staged nodes resolved at this level. */
  nodes: number | null;
  ms: number;
}

/**
 * The level loop of resolveStagedTaxa from the statement timeline: a level starts at its
 * `ANALYZE _ready` and holds every statement up to the next one (its matching, inserts and the
 * INSERT INTO _ready that collects the next level); the loop ends at the synonyms' INSERT INTO _node.
 */
export function resolutionLevels(run: ImporterRun): LevelTiming[] {
  const levels: LevelTiming[] = [];
  let current: LevelTiming | undefined;
  let readyRows: number | null = null;
  for (const entry of run.timeline) {
    if (!entry.context.startsWith("resolveStagedTaxa")) continue;
    if (entry.context === "resolveStagedTaxa" && entry.sql.includes(", -1, COALESCE(n.taxon_id")) break;
    if (entry.context === "resolveStagedTaxa" && entry.sql === "ANALYZE _ready") {
      current = { level: levels.length, nodes: readyRows, ms: 0 };
      levels.push(current);
    }
    if (entry.context === "resolveStagedTaxa" && entry.sql.startsWith("INSERT INTO _ready")) readyRows = entry.rows;
    if (current) current.ms += entry.ms;
  }
  return levels;
}
