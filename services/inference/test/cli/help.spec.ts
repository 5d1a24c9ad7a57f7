import { spawn } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO_ROOT, runArbor, SPAWNING_TEST_TIMEOUT_MS } from './run-arbor.ts';

const COMMANDS = ['predict', 'embed', 'embed-text', 'tokenize'];

describe('arbor help and dispatch', { timeout: SPAWNING_TEST_TIMEOUT_MS }, () => {
  it('--help lists every command; each command has its own --help', async () => {
    const overview = await runArbor(['--help']);
    expect(overview.code).toBe(0);
    for (const name of COMMANDS) expect(overview.text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(overview.text).toMatch(/STAND-IN/);
    for (const name of COMMANDS) {
      const help = await runArbor([name, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.text).toMatch(new RegExp(`^Usage: arbor ${name} `));
      expect(help.text).toMatch(/-h, --help +show this help/);
    }
  });

  it('no command, or an unknown one, is a usage error (exit 2)', async () => {
    const none = await runArbor([]);
    expect(none.code).toBe(2);
    expect(none.stdout.length).toBe(0);
    expect(none.stderr).toMatch(/^Usage: arbor <command>/);
    const unknown = await runArbor(['classify', 'x.jpg']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'classify'/);
  });

  it('is linked as node_modules/.bin/arbor (what npx runs), executable', async () => {
    const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'arbor');
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(bin, ['--help'], { cwd: REPO_ROOT });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: arbor <command>/);
  });
});
