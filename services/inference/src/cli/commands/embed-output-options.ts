import { choiceOption, stringOption, type OptionSpecs, type ParsedArgs } from '../args.ts';
import { CliError } from '../errors.ts';
import type { HelpEntry } from '../help.ts';
import type { EmbeddingsOutput } from '../output/embeddings-output.ts';
import { writeOutput } from '../output/write-output.ts';

export const EMBED_OUTPUT_OPTIONS: OptionSpecs = {
  format: { type: 'string', short: 'f' },
  output: { type: 'string', short: 'o' },
};

export const EMBED_OUTPUT_HELP: HelpEntry[] = [
  ['-f, --format FORMAT', 'json (default) or parquet'],
  ['-o, --output FILE', 'write here instead of stdout (Parquet goes to stdout only when it\nis not a terminal)'],
];

const FORMATS = ['json', 'parquet'] as const;

/** Checks the output options before any work is done. */
export function embedOutputTarget(args: ParsedArgs, stdout: NodeJS.WritableStream): { format: (typeof FORMATS)[number]; file: string | undefined } {
  const format = choiceOption(args, 'format', FORMATS, 'json');
  const file = stringOption(args, 'output');
  if (format === 'parquet' && file === undefined && (stdout as { isTTY?: boolean }).isTTY) {
    throw new CliError('USAGE', 'Parquet is binary: give --output FILE or redirect stdout');
  }
  return { format, file };
}

export async function writeEmbeddings(output: EmbeddingsOutput, target: ReturnType<typeof embedOutputTarget>, stdout: NodeJS.WritableStream): Promise<void> {
  const { embeddingsToJson, embeddingsToParquet } = await import('../output/embeddings-output.ts');
  const data = target.format === 'parquet' ? embeddingsToParquet(output) : embeddingsToJson(output);
  await writeOutput(data, target.file, stdout);
}
