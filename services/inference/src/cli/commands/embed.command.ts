import { CliError } from '../errors.ts';
import { HELP_ENTRY, optionLines } from '../help.ts';
import type { Command } from './command.ts';
import { EMBED_OUTPUT_HELP, EMBED_OUTPUT_OPTIONS, embedOutputTarget, writeEmbeddings } from './embed-output-options.ts';
import { MODE_OPTION, MODE_OPTION_HELP, MODEL_OPTIONS, MODEL_OPTIONS_HELP, modeOption, openModel } from './model-options.ts';

export const embedImagesCommand: Command = {
  name: 'embed',
  summary: 'image embeddings (L2-normalised) as JSON or Parquet',
  help: `Usage: arbor embed [options] IMAGE...

Embeds each image file with the model's image encoder and writes one L2-normalised vector per file, in
the order given (like pybioclip's 'bioclip embed'). JSON: {model, preprocessing, normalization, dim,
embeddings: [{file, embedding}]}. Parquet: columns file, model, embedding (list of float32), with the
model description in the file metadata (arbor.model). A stand-in model is flagged in both and on stderr.

Options:
${optionLines([...EMBED_OUTPUT_HELP, MODE_OPTION_HELP, ...MODEL_OPTIONS_HELP, HELP_ENTRY])}`,
  options: { ...MODEL_OPTIONS, ...MODE_OPTION, ...EMBED_OUTPUT_OPTIONS },

  async run({ args, stdout, env, reporter: makeReporter }) {
    const files = args.positionals;
    if (files.length === 0) throw new CliError('USAGE', "no image given (see 'arbor embed --help')");
    const target = embedOutputTarget(args, stdout);
    const mode = modeOption(args);
    const reporter = makeReporter(args.values.quiet === true);
    const model = await openModel(args, env, reporter, 'embeddings', mode);
    try {
      const embeddings = await model.embedImageFiles(files, reporter);
      await writeEmbeddings(
        {
          source: 'file',
          model: model.info,
          dim: model.embeddingDim,
          preprocessing: model.mode,
          items: files.map((file, i) => ({ source: file, embedding: embeddings[i] })),
        },
        target,
        stdout,
      );
    } finally {
      await model.close();
    }
    return 0;
  },
};
