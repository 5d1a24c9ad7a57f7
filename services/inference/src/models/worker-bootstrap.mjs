// Entry of every worker thread of this service. Workers do not inherit the parent's TypeScript
// loader reliably (Node 20 under vitest, for one), so register tsx here, then load the real module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
