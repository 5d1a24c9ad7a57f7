#!/usr/bin/env node
// The `arbor` command. The CLI is TypeScript run as it is: register tsx's loader in this process, then
// hand over to src/cli/main.ts, which returns the exit code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
