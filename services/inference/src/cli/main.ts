// `arbor`: the command-line face of the inference package (like pybioclip's `bioclip`). bin/arbor.mjs calls main().
import { ClassifyError } from '../classify/errors.ts';
import { ModelPackageError } from '../models/errors.ts';
import { ImagePreprocessError } from '../preprocess/errors.ts';
import { TokenizerError } from '../tokenizer/errors.ts';
import { flagOption, parseCommandArgs } from './args.ts';
import type { Command, CommandContext } from './commands/command.ts';
import { embedImagesCommand } from './commands/embed.command.ts';
import { embedTextCommand } from './commands/embed-text.command.ts';
import { predictCommand } from './commands/predict.command.ts';
import { tokenizeCommand } from './commands/tokenize.command.ts';
import { CliError, FAILURE_EXIT_CODE, USAGE_EXIT_CODE } from './errors.ts';
import { StderrReporter } from './progress.ts';

export const COMMANDS: readonly Command[] = [predictCommand, embedImagesCommand, embedTextCommand, tokenizeCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: arbor <command> [options]

Arbor's inference tools, run locally on a model package (default models/arbor-standin-v1, a STAND-IN with
random weights that is NOT BioCLIP 2; set MODEL_DIR or --model-dir for a real package).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'arbor <command> --help' for a command's options. The service's environment variables
(MODEL_DIR, INFERENCE_PROVIDERS, MODEL_PRECISION, MAX_BATCH, …) apply here too.`;
}

export type MainStreams = Partial<Pick<CommandContext, 'stdin' | 'stdout' | 'stderr' | 'env'>>;

/** Runs one command line; resolves with the process exit code. Never throws. */
export async function main(argv: readonly string[], streams: MainStreams = {}): Promise<number> {
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  const env = streams.env ?? process.env;
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const text = `${overview()}\n`;
    (name === undefined ? stderr : stdout).write(text);
    return name === undefined ? USAGE_EXIT_CODE : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    stderr.write(`arbor: unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')} (see 'arbor --help')\n`);
    return USAGE_EXIT_CODE;
  }
  // A reader that stops early (`arbor tokenize | head`) closes the pipe: that ends the command, it is not a failure.
  let pipeClosed = false;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') pipeClosed = true;
  };
  stdout.on('error', onStdoutError);
  try {
    const args = parseCommandArgs(command.name, command.options, rest);
    if (flagOption(args, 'help')) {
      stdout.write(`${command.help}\n`);
      return 0;
    }
    return await command.run({
      args,
      stdin: streams.stdin ?? process.stdin,
      stdout,
      stderr,
      env,
      reporter: (quiet) => new StderrReporter(stderr, quiet),
    });
  } catch (error) {
    if (pipeClosed || (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return 0;
    return report(command.name, error, stderr, env);
  } finally {
    stdout.off('error', onStdoutError);
  }
}

/** Turns a failure into one line on stderr and an exit code; a stack trace only for bugs, and only with ARBOR_DEBUG=1. */
function report(command: string, error: unknown, stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv): number {
  const prefix = `arbor ${command}: error`;
  if (error instanceof CliError) {
    stderr.write(`${prefix} [${error.code}]: ${error.message}\n`);
    return error.exitCode;
  }
  if (
    error instanceof ModelPackageError ||
    error instanceof ClassifyError ||
    error instanceof TokenizerError ||
    error instanceof ImagePreprocessError
  ) {
    stderr.write(`${prefix} [${error.code}]: ${error.message}\n`);
    return FAILURE_EXIT_CODE;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`${prefix} [INTERNAL]: ${message}\n`);
  if (env.ARBOR_DEBUG === '1' && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  else stderr.write(`(this is a bug; run with ARBOR_DEBUG=1 to see where it happened)\n`);
  return FAILURE_EXIT_CODE;
}
