import type { ModelInfo } from '../../client.ts';
import type { TaxonAnswer } from '../../classify/index.ts';
import { formatCsvRow } from '../csv.ts';
import { standInNotice } from '../stand-in-notice.ts';

/** One output row: pybioclip's columns, with file_name first. */
export type OutputRow = Readonly<Record<string, string | number | undefined>>;

export interface PredictionsOutput {
  readonly model: ModelInfo;
  /** pybioclip's columns for this run, in order (file_name … score). */
  readonly columns: readonly string[];
  readonly rows: readonly OutputRow[];
  /** Everything about the run besides the rows (rank, k, candidates, threshold answers …), for JSON. */
  readonly run: Readonly<Record<string, unknown>>;
  /** Per image, the deepest taxon at or above the threshold (tree-of-life predictions only). */
  readonly answers?: readonly { readonly file_name: string; readonly answer: TaxonAnswer | null }[];
}

export const PREDICTION_FORMATS = ['csv', 'table', 'json'] as const;
export type PredictionFormat = (typeof PREDICTION_FORMATS)[number];

function cell(row: OutputRow, column: string): string | number {
  return row[column] ?? '';
}

/** pybioclip's CSV: a header, then one line per prediction. Scores are written in full (shortest exact form). */
export function predictionsToCsv(output: PredictionsOutput): string {
  return formatCsvRow(output.columns) + output.rows.map((row) => formatCsvRow(output.columns.map((c) => cell(row, c)))).join('');
}

/**
 * A bordered text table (as pybioclip's --format table prints), headed by the stand-in notice when there is one, and
 * followed by the threshold answers.
 */
export function predictionsToTable(output: PredictionsOutput): string {
  const lines: string[] = [];
  const notice = standInNotice(output.model, 'predictions');
  if (notice) lines.push(`NOTE: ${notice}`, '');
  lines.push(...drawTable(output.columns, output.rows.map((row) => output.columns.map((c) => String(cell(row, c))))));
  if (output.answers) {
    const threshold = output.run.threshold;
    lines.push('', `Deepest taxon with probability ≥ ${String(threshold)}:`);
    lines.push(
      ...drawTable(
        ['file_name', 'rank', 'taxon', 'common_name', 'score'],
        output.answers.map(({ file_name, answer }) =>
          answer ? [file_name, answer.rank, answer.name, answer.commonName ?? '', String(answer.score)] : [file_name, '—', '(none)', '', ''],
        ),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

function drawTable(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]) => `| ${cells.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  return [rule, line(header), rule, ...body.map(line), rule];
}

/** One JSON document: the model (stand-in flag and notice), the run's settings, the rows, and the answers. */
export function predictionsToJson(output: PredictionsOutput): string {
  const notice = standInNotice(output.model, 'predictions');
  const document = {
    model: output.model,
    ...(notice ? { notice } : {}),
    ...output.run,
    columns: output.columns,
    predictions: output.rows.map((row) => Object.fromEntries(output.columns.map((c) => [c, cell(row, c)]))),
    ...(output.answers ? { answers: output.answers } : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

export function formatPredictions(output: PredictionsOutput, format: PredictionFormat): string {
  if (format === 'json') return predictionsToJson(output);
  if (format === 'table') return predictionsToTable(output);
  return predictionsToCsv(output);
}
