/**
 * The programs a pod has on its PATH, by name: a registry, so adding a tool is one
 * file and one line here (dig and nslookup live with the cluster DNS in apps/dns).
 */
import type { Program } from './program.ts';
import { curl } from './curl.ts';
import { ping } from './ping.ts';
import { nc } from './nc.ts';
import { cat, ip, ss } from './iproute.ts';
import { dig, nslookup } from '../dns/tools.ts';

export const PROGRAMS: ReadonlyMap<string, Program> = new Map<string, Program>([
  ['curl', curl],
  ['ping', ping],
  ['nc', nc],
  ['ip', ip],
  ['ss', ss],
  ['cat', cat],
  ['dig', dig],
  ['nslookup', nslookup],
]);
