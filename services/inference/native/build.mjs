#!/usr/bin/env node
// Builds the classify kernels addon (classify_kernels.c → build/Release/arbor_classify_kernels.node) with node-gyp
// against this Node's own headers, offline. Skips the build when the addon is newer than its sources.
// Without a compiler, headers or node-gyp it warns and exits 0: classification then runs its TypeScript kernels,
// with the same results, slower. `--required` (CI) makes that an error.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.argv.includes('--required');
const addon = join(here, 'build', 'Release', 'arbor_classify_kernels.node');
const sources = ['classify_kernels.c', 'screening_kernel.c', 'napi_args.h', 'parallel_for.h', 'binding.gyp'].map((file) => join(here, file));

const log = (message) => console.error(`[native] ${message}`);
function give_up(message) {
  log(`${message}; classification uses its TypeScript kernels (same results, slower)`);
  process.exit(required ? 1 : 0);
}

const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs));
if (existsSync(addon) && statSync(addon).mtimeMs >= newest) {
  log(`classify kernels up to date (${addon})`);
  process.exit(0);
}

// npm sets npm_config_node_gyp for its scripts; otherwise npm's own copy next to this Node.
const prefix = resolve(dirname(process.execPath), '..');
const nodeGyp = [process.env.npm_config_node_gyp, join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (path) => path && existsSync(path),
);
if (!nodeGyp) give_up('node-gyp not found (it comes with npm)');
// This Node's headers: npm's configured nodedir, else the installation prefix (Debian: /usr/include/node).
const nodedir = [process.env.npm_config_nodedir, prefix].find((dir) => dir && existsSync(join(dir, 'include', 'node', 'node_api.h')));
if (!nodedir) give_up(`Node's headers (include/node/node_api.h) not found under ${prefix}`);

log(`building the classify kernels with ${nodeGyp} against ${nodedir}/include/node …`);
const started = Date.now();
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
if (result.status !== 0 || !existsSync(addon)) give_up(`node-gyp failed (exit ${result.status})`);
log(`built ${addon} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
