// Worker threads start here: load the TypeScript sources through tsx, then run worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
