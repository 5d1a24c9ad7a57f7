import { readFile, stat } from 'node:fs/promises';

import { parseCsv } from '../csv.ts';
import { CliError, fileReadError } from '../errors.ts';

/**
 * pybioclip's --cls: a comma-separated list ("cat,dog,bird"), or the path of a text file with one class per line.
 * Classes are trimmed; empty ones are dropped; a class given twice is an error (it would split its probability).
 */
export async function readClasses(value: string): Promise<string[]> {
  let classes: string[];
  if (await isFile(value)) {
    let text: string;
    try {
      text = await readFile(value, 'utf8');
    } catch (error) {
      throw fileReadError('class file', value, error);
    }
    classes = text.split('\n');
  } else {
    classes = value.split(',');
  }
  return checkedLabels(classes.map((c) => c.trim()).filter((c) => c !== ''), `--cls ${value}`);
}

export interface BinnedClass {
  readonly label: string;
  readonly bin: string;
}

/** pybioclip's --bins: a CSV whose first row is a header (names ignored), first column the class, second its bin. */
export async function readBins(file: string): Promise<BinnedClass[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw fileReadError('bins file', file, error);
  }
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (error) {
    throw new CliError('INVALID_INPUT', `bins file '${file}': ${(error as Error).message}`, { cause: error });
  }
  const binned = rows
    .slice(1)
    .filter((row) => row.some((value) => value.trim() !== ''))
    .map((row, i) => {
      const label = (row[0] ?? '').trim();
      const bin = (row[1] ?? '').trim();
      if (label === '' || bin === '') throw new CliError('INVALID_INPUT', `bins file '${file}', row ${i + 2}: needs a class and a bin`);
      return { label, bin };
    });
  checkedLabels(binned.map((b) => b.label), `bins file '${file}'`);
  return binned;
}

function checkedLabels(labels: string[], where: string): string[] {
  if (labels.length === 0) throw new CliError('INVALID_INPUT', `${where}: no class given`);
  const seen = new Set<string>();
  for (const label of labels) {
    if (seen.has(label)) throw new CliError('INVALID_INPUT', `${where}: class '${label}' is given twice`);
    seen.add(label);
  }
  return labels;
}

async function isFile(value: string): Promise<boolean> {
  try {
    return (await stat(value)).isFile();
  } catch {
    return false;
  }
}
