// Lockstep worker threads start here: load the TypeScript sources through tsx, then run lockstep-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./lockstep-worker.ts');
