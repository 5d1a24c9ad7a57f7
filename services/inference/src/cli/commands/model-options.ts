import { PREPROCESS_MODES, type PreprocessMode } from '../../preprocess/constants.ts';
import { choiceOption, stringOption, type OptionSpecs, type ParsedArgs } from '../args.ts';
import type { HelpEntry } from '../help.ts';
import type { LocalModel } from '../local-model.ts';
import type { Reporter } from '../progress.ts';
import { standInNotice } from '../stand-in-notice.ts';

/** Options shared by every command that runs the model. */
export const MODEL_OPTIONS: OptionSpecs = {
  'model-dir': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export const MODEL_OPTIONS_HELP: HelpEntry[] = [
  ['--model-dir DIR', 'model package (default: $MODEL_DIR, else models/arbor-standin-v1)'],
  ['-q, --quiet', 'no progress lines (notices about the model are still printed)'],
];

export const MODE_OPTION: OptionSpecs = { mode: { type: 'string' } };

export const MODE_OPTION_HELP: HelpEntry = [
  '--mode MODE',
  "image preprocessing: open_clip (resize shortest side, centre crop) or\npybioclip (squash to 224×224, as pybioclip does); default: the manifest's",
];

export function modeOption(args: ParsedArgs): PreprocessMode | undefined {
  return stringOption(args, 'mode') === undefined ? undefined : choiceOption(args, 'mode', PREPROCESS_MODES, 'open_clip');
}

/** Loads the package and says on stderr when it is a stand-in (every output that follows also carries the flag). */
export async function openModel(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  output: 'embeddings' | 'predictions',
  mode?: PreprocessMode,
): Promise<LocalModel> {
  // Imported on use: ONNX Runtime, sharp and the worker pool are not needed for help or tokenize.
  const { LocalModel } = await import('../local-model.ts');
  const model = await LocalModel.open({ modelDir: stringOption(args, 'model-dir'), mode, env });
  const notice = standInNotice(model.info, output);
  if (notice) reporter.note(notice);
  return model;
}
