import type { OptionSpecs, ParsedArgs } from '../args.ts';
import type { Reporter } from '../progress.ts';

/** What a command gets from main: its parsed arguments and the process streams (tests pass their own). */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Made by the command once it knows whether --quiet was given. */
  reporter(quiet: boolean): Reporter;
}

export interface Command {
  readonly name: string;
  /** One line for `arbor --help`. */
  readonly summary: string;
  /** The text of `arbor <name> --help`. */
  readonly help: string;
  /** Options besides -h/--help, which main handles. */
  readonly options: OptionSpecs;
  /** Runs the command; resolves with the exit code. Failures are thrown (main turns them into messages). */
  run(context: CommandContext): Promise<number>;
}
