#!/usr/bin/env node
// The `netsim` command: loads the TypeScript sources through tsx (a runtime
// dependency), so `npx netsim …` works straight from a checkout after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
