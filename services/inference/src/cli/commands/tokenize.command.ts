import { ClipTokenizer, CONTEXT_LENGTH } from '../../tokenizer/index.ts';
import { CliError } from '../errors.ts';
import { HELP_ENTRY, optionLines } from '../help.ts';
import { readLines } from '../input-lines.ts';
import { writeToStream } from '../output/write-output.ts';
import type { Command } from './command.ts';

// Lines tokenised and written per stdout write: large enough to amortise the write, small enough to stream.
const LINES_PER_WRITE = 256;

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'print the 77 CLIP token ids of each line of stdin, as JSON',
  help: `Usage: arbor tokenize < lines.txt

Reads text from stdin and prints, for each line, one JSON array of the ${CONTEXT_LENGTH} token ids the model
sees (open_clip / BioCLIP 2 tokenizer: sot 49406, the BPE ids, eot 49407, zero padding; longer texts are
cut to ${CONTEXT_LENGTH} keeping eot last). One output line per input line, in order; an empty line gives
[49406,49407,0,…]. Lines end at '\\n' only. Nothing else is written to stdout.

Options:
${optionLines([HELP_ENTRY])}`,

  options: {},

  async run(context) {
    const { args } = context;
    if (args.positionals.length > 0) {
      throw new CliError('USAGE', `tokenize reads stdin and takes no arguments; got '${args.positionals[0]}' (see 'arbor tokenize --help')`);
    }
    const tokenizer = await ClipTokenizer.load();
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = tokenizer.tokenize(batch, CONTEXT_LENGTH);
      batch = [];
      await writeToStream(context.stdout, rows.map((ids) => `${JSON.stringify(Array.from(ids))}\n`).join(''));
    };
    for await (const line of readLines(context.stdin)) {
      batch.push(line);
      if (batch.length >= LINES_PER_WRITE) await flush();
    }
    await flush();
    return 0;
  },
};
