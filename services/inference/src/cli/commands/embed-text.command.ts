import { CliError } from '../errors.ts';
import { HELP_ENTRY, optionLines } from '../help.ts';
import { readLines } from '../input-lines.ts';
import type { Command } from './command.ts';
import { EMBED_OUTPUT_HELP, EMBED_OUTPUT_OPTIONS, embedOutputTarget, writeEmbeddings } from './embed-output-options.ts';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, openModel } from './model-options.ts';

export const embedTextCommand: Command = {
  name: 'embed-text',
  summary: 'text embeddings (L2-normalised) as JSON or Parquet',
  help: `Usage: arbor embed-text [options] TEXT...
       arbor embed-text [options] --stdin < lines.txt

Embeds each text with the model's text encoder (CLIP tokenizer, 77 tokens) and writes one L2-normalised
vector per text, in order. The texts are used as given: no prompt template is added. JSON: {model,
normalization, dim, embeddings: [{text, embedding}]}. Parquet: columns text, model, embedding.

Options:
${optionLines([['--stdin', 'read the texts from stdin, one per line (instead of arguments)'], ...EMBED_OUTPUT_HELP, ...MODEL_OPTIONS_HELP, HELP_ENTRY])}`,
  options: { ...MODEL_OPTIONS, ...EMBED_OUTPUT_OPTIONS, stdin: { type: 'boolean' } },

  async run({ args, stdin, stdout, env, reporter: makeReporter }) {
    const fromStdin = args.values.stdin === true;
    if (fromStdin && args.positionals.length > 0) throw new CliError('USAGE', 'give texts as arguments or with --stdin, not both');
    const texts: string[] = [];
    if (fromStdin) for await (const line of readLines(stdin)) texts.push(line);
    else texts.push(...args.positionals);
    if (texts.length === 0) throw new CliError('USAGE', "no text given (see 'arbor embed-text --help')");
    const target = embedOutputTarget(args, stdout);
    const reporter = makeReporter(args.values.quiet === true);
    const model = await openModel(args, env, reporter, 'embeddings');
    try {
      const progress = reporter.task('embedding texts', texts.length, 'texts');
      const embeddings = await model.embedTexts(texts, (done) => progress.update(done));
      progress.finish();
      await writeEmbeddings(
        { source: 'text', model: model.info, dim: model.embeddingDim, items: texts.map((text, i) => ({ source: text, embedding: embeddings[i] })) },
        target,
        stdout,
      );
    } finally {
      await model.close();
    }
    return 0;
  },
};
