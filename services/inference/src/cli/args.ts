import { parseArgs } from 'node:util';

import { CliError } from './errors.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
}

/** Parses one subcommand's arguments strictly; `--help`/`-h` is always accepted. Mistakes become USAGE errors. */
export function parseCommandArgs(command: string, options: OptionSpecs, argv: readonly string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    // node:util reports e.g. "Unknown option '--foo'. To specify a positional argument starting with a '-'…"
    const message = error instanceof Error ? error.message.split('. ')[0] : String(error);
    throw new CliError('USAGE', `${message} (see 'arbor ${command} --help')`, { cause: error });
  }
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value.at(-1) as string | undefined;
  return typeof value === 'string' ? value : undefined;
}

export function stringListOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function flagOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const value = stringOption(args, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new CliError('USAGE', `--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  }
  return value as T;
}

export function positiveIntegerOption(args: ParsedArgs, name: string, fallback: number): number {
  const value = stringOption(args, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new CliError('USAGE', `--${name} must be a positive integer; got '${value}'`);
  }
  return n;
}

/** A number in (0, 1]. */
export function probabilityOption(args: ParsedArgs, name: string, fallback: number): number {
  const value = stringOption(args, name);
  if (value === undefined) return fallback;
  const p = Number(value);
  if (value.trim() === '' || !(p > 0 && p <= 1)) throw new CliError('USAGE', `--${name} must be a number in (0, 1]; got '${value}'`);
  return p;
}
