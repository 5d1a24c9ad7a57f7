/** One option in a help text: its flags, and a description whose '\n' starts an indented continuation line. */
export type HelpEntry = readonly [flags: string, description: string];

// Column where descriptions start: wide enough for the longest flags ("--species-embeddings DIR").
const DESCRIPTION_COLUMN = 29;

/** Option lines aligned in one column, as every `arbor <command> --help` prints them. */
export function optionLines(entries: readonly HelpEntry[]): string {
  return entries
    .map(([flags, description]) => {
      const [first, ...rest] = description.split('\n');
      const head = `  ${flags}`.padEnd(DESCRIPTION_COLUMN);
      return [head + first, ...rest.map((line) => ' '.repeat(DESCRIPTION_COLUMN) + line)].join('\n');
    })
    .join('\n');
}

export const HELP_ENTRY: HelpEntry = ['-h, --help', 'show this help'];
