import { stat } from 'node:fs/promises';

import { RANKS } from '../../classify/ranks.ts';
import { DEFAULT_K, DEFAULT_THRESHOLD } from '../../classify/tree-classifier.ts';
import { choiceOption, positiveIntegerOption, probabilityOption, stringListOption, stringOption, type ParsedArgs } from '../args.ts';
import { CliError, fileReadError } from '../errors.ts';
import { HELP_ENTRY, optionLines } from '../help.ts';
import { formatPredictions, PREDICTION_FORMATS } from '../output/predictions-output.ts';
import { writeOutput } from '../output/write-output.ts';
import { DEFAULT_CACHE_DIR, DEFAULT_SPECIES_LIST } from '../paths.ts';
import { readBins, readClasses } from '../species/custom-labels-input.ts';
import { parseTaxonName, readSubsetFile, type TaxonName } from '../species/subset.ts';
import type { Command } from './command.ts';
import { MODE_OPTION, MODE_OPTION_HELP, MODEL_OPTIONS, MODEL_OPTIONS_HELP, modeOption, openModel } from './model-options.ts';

// Options that only make sense for tree-of-life predictions, refused together with --cls / --bins.
const TREE_OPTIONS = ['rank', 'subset-taxon', 'subset-file', 'subset', 'species-embeddings', 'species-list', 'threshold'];

export const predictCommand: Command = {
  name: 'predict',
  summary: 'taxonomic (or custom-label) predictions for images, with pybioclip\'s columns',
  help: `Usage: arbor predict [options] IMAGE...

Tree-of-life predictions as pybioclip makes them: softmax of logit_scale × cosine over every candidate species,
a higher rank's score is the sum over its species, the top k at the requested rank. Columns (CSV, table, JSON):
file_name, kingdom … down to the rank, and at species rank species_epithet, species, common_name; then score.
With --cls or --bins: file_name, classification, score. A stand-in model is flagged on stderr and in the
table and JSON outputs.

Candidates:
${optionLines([
  ['--species-embeddings DIR', 'official TreeOfLife-200M files DIR/txt_emb_species.npy + .json,\nused as they are'],
  [
    '--species-list FILE',
    "CSV (kingdom … genus, species_epithet[, common_name]) embedded with\nthe model's text encoder, 80 templates per species (TreeOfLife\nmake_txt_embedding.py), cached under --cache-dir; default: the 400\nBioCLIP Rare Species (data/seed/bioclip_rare_species_400.csv)",
  ],
  ['--cache-dir DIR', 'default: $ARBOR_CACHE_DIR, else .arbor/cache in the repository'],
])}

Prediction:
${optionLines([
  ['--rank RANK', `${RANKS.join(', ')}\n(default species)`],
  ['-k, --k K', `predictions per image (default ${DEFAULT_K})`],
  [
    '--subset-taxon NAME',
    'only species under this taxon, found at whatever rank has the name\n("Aves", "Ursus arctos") or pinned ("genus:Morus"); repeatable,\ncomma-separated lists too',
  ],
  ['--subset-file FILE', "pybioclip's subset CSV (first column named after a rank, e.g.\n'order' then Artiodactyla, Rodentia) or names one per line\n(alias --subset)"],
  ['--threshold P', `also report the deepest taxon whose score is ≥ P (table, JSON;\ndefault ${DEFAULT_THRESHOLD})`],
  ['--cls LABELS', 'custom labels instead of the tree of life: "cat,dog,bird" or a file,\none per line'],
  ['--bins FILE', 'custom labels with bins: CSV with a header, class in column 1,\nbin in column 2'],
])}

Output and model:
${optionLines([
  ['-f, --format FORMAT', 'csv (default, as pybioclip), table or json'],
  ['-o, --output FILE', 'write here instead of stdout'],
  MODE_OPTION_HELP,
  ...MODEL_OPTIONS_HELP,
  HELP_ENTRY,
])}`,
  options: {
    ...MODEL_OPTIONS,
    ...MODE_OPTION,
    rank: { type: 'string' },
    k: { type: 'string', short: 'k' },
    'subset-taxon': { type: 'string', multiple: true },
    'subset-file': { type: 'string' },
    subset: { type: 'string' },
    cls: { type: 'string' },
    bins: { type: 'string' },
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    'species-embeddings': { type: 'string' },
    'species-list': { type: 'string' },
    'cache-dir': { type: 'string' },
    threshold: { type: 'string' },
  },

  async run({ args, stdout, env, reporter: makeReporter }) {
    const files = args.positionals;
    if (files.length === 0) throw new CliError('USAGE', "no image given (see 'arbor predict --help')");
    const format = choiceOption(args, 'format', PREDICTION_FORMATS, 'csv');
    const output = stringOption(args, 'output');
    const k = positiveIntegerOption(args, 'k', DEFAULT_K);
    const mode = modeOption(args);
    const cls = stringOption(args, 'cls');
    const bins = stringOption(args, 'bins');
    checkExclusive(args, cls, bins);
    await checkImagesExist(files);

    // Read every input before loading the model, so that a mistake costs no model load.
    const labels = cls !== undefined ? await readClasses(cls) : bins !== undefined ? await readBins(bins) : undefined;
    const tree = labels === undefined ? await treeRequest(args, files, k, env) : undefined;

    const reporter = makeReporter(args.values.quiet === true);
    const model = await openModel(args, env, reporter, 'predictions', mode);
    try {
      // Loaded here, not at the top: `arbor --help` and `arbor tokenize` should not pay for the classifier's imports.
      const result = tree
        ? await (await import('../predict/tree-of-life-predictions.ts')).predictTreeOfLife(model, tree, reporter)
        : await (await import('../predict/custom-label-predictions.ts')).predictCustomLabels(model, { files, k, labels: labels! }, reporter);
      await writeOutput(formatPredictions({ model: model.info, ...result }, format), output, stdout);
    } finally {
      await model.close();
    }
    return 0;
  },
};

function checkExclusive(args: ParsedArgs, cls: string | undefined, bins: string | undefined): void {
  if (cls !== undefined && bins !== undefined) throw new CliError('USAGE', '--cls and --bins cannot be used together');
  if (cls === undefined && bins === undefined) {
    if (args.values['species-embeddings'] !== undefined && args.values['species-list'] !== undefined) {
      throw new CliError('USAGE', '--species-embeddings and --species-list cannot be used together');
    }
    return;
  }
  const clash = TREE_OPTIONS.find((name) => args.values[name] !== undefined);
  if (clash) throw new CliError('USAGE', `--${clash} applies to tree-of-life predictions, not to ${cls !== undefined ? '--cls' : '--bins'}`);
}

async function checkImagesExist(files: readonly string[]): Promise<void> {
  for (const file of files) {
    try {
      if (!(await stat(file)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (error) {
      throw fileReadError('image', file, error);
    }
  }
}

async function treeRequest(args: ParsedArgs, files: readonly string[], k: number, env: NodeJS.ProcessEnv) {
  const subset: TaxonName[] = stringListOption(args, 'subset-taxon')
    .flatMap((value) => value.split(','))
    .filter((value) => value.trim() !== '')
    .map(parseTaxonName);
  const subsetFile = stringOption(args, 'subset-file') ?? stringOption(args, 'subset');
  if (subsetFile !== undefined) subset.push(...(await readSubsetFile(subsetFile)));
  return {
    files,
    rank: choiceOption(args, 'rank', RANKS, 'species'),
    k,
    threshold: probabilityOption(args, 'threshold', DEFAULT_THRESHOLD),
    subset,
    speciesEmbeddings: stringOption(args, 'species-embeddings'),
    speciesList: stringOption(args, 'species-list') ?? DEFAULT_SPECIES_LIST,
    cacheDir: stringOption(args, 'cache-dir') ?? (env.ARBOR_CACHE_DIR || DEFAULT_CACHE_DIR),
  };
}
