/**
 * The programs a pod has on its PATH, by name: a registry, so adding a tool is one
 * file and one line here (nslookup and dig join from apps/dns once wired).
 */
import type { Program } from './program.ts';
import { curl } from './curl.ts';
import { ping } from './ping.ts';
import { nc } from './nc.ts';
import { cat, ip, ss } from './iproute.ts';

export const PROGRAMS: ReadonlyMap<string, Program> = new Map<string, Program>([
  ['curl', curl],
  ['ping', ping],
  ['nc', nc],
  ['ip', ip],
  ['ss', ss],
  ['cat', cat],
]);
