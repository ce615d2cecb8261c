/**
 * The plugin environment (SPEC.md "Parameters"): which variables each command needs,
 * and how CNI_CONTAINERID, CNI_IFNAME and CNI_ARGS are validated (containernetworking
 * pkg/skel, pkg/utils). Failures are code 4 (invalid env), CNI_ARGS syntax code 6.
 */
import { cniError } from '../errors.ts';
import { CNI_COMMANDS } from './types.ts';
import type { CniArgs, CniCommand, CniEnv } from './types.ts';

const REQUIRED: Readonly<Record<CniCommand, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

/** CNI_CONTAINERID: an alphanumeric first character, then `[A-Za-z0-9_.-]` (pkg/utils ValidateContainerID). */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_LEN = 15;

export function parseCommand(env: CniEnv): CniCommand {
  const c = env['CNI_COMMAND'];
  if (c === undefined || c === '') throw cniError('INVALID_ENV', 'required env variables [CNI_COMMAND] missing');
  if (!(CNI_COMMANDS as readonly string[]).includes(c)) throw cniError('INVALID_ENV', `unknown CNI_COMMAND: ${c}`);
  return c as CniCommand;
}

export function validateContainerId(id: string): void {
  if (id === '') throw cniError('INVALID_ENV', 'missing containerID');
  if (!CONTAINER_ID_RE.test(id)) throw cniError('INVALID_ENV', `invalid characters in containerID`, id);
}

export function validateIfName(name: string): void {
  if (name === '') throw cniError('INVALID_ENV', 'interface name is empty');
  if (name.length > MAX_IFNAME_LEN) throw cniError('INVALID_ENV', 'interface name is too long', `interface name should be less than ${MAX_IFNAME_LEN + 1} characters`);
  if (name === '.' || name === '..') throw cniError('INVALID_ENV', 'interface name is . or ..');
  if (/[/:\s]/.test(name)) throw cniError('INVALID_ENV', 'interface name contains / or : or whitespace characters');
}

/** `FOO=BAR;ABC=123` → pairs (pkg/types LoadArgs syntax). */
export function parseCniArgs(s: string): Array<[string, string]> {
  if (s === '') return [];
  return s.split(';').map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw cniError('DECODE_FAILURE', `ARGS: invalid pair "${pair}"`);
    return [pair.slice(0, i), pair.slice(i + 1)] as [string, string];
  });
}

/** Validate the environment for its command; throws code 4 (or 6 for CNI_ARGS). */
export function parseEnv(env: CniEnv): CniArgs {
  const command = parseCommand(env);
  const missing = REQUIRED[command].filter((k) => env[k] === undefined || env[k] === '');
  if (missing.length > 0) throw cniError('INVALID_ENV', `required env variables [${missing.join(',')}] missing`);
  const containerId = env['CNI_CONTAINERID'] ?? '';
  const ifName = env['CNI_IFNAME'] ?? '';
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    validateContainerId(containerId);
    validateIfName(ifName);
  }
  return {
    command, containerId, ifName,
    netns: env['CNI_NETNS'] ?? '',
    args: parseCniArgs(env['CNI_ARGS'] ?? ''),
    path: (env['CNI_PATH'] ?? '').split(':').filter((p) => p !== ''),
  };
}
