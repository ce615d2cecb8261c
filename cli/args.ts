/**
 * Option-value parsers shared by every command: each refuses what the option cannot
 * mean (a port outside 1–65535, a seed beyond the spec's uint32) with commander's
 * InvalidArgumentError, which the command line reports as one line naming the
 * option and exit code 2 — never a wrapped value run silently.
 */
import { InvalidArgumentError } from 'commander';

/** An integer in [min, max], written in decimal. */
export function intInRange(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`}, got ${v}`);
    return n;
  };
}

/** The cluster spec's seed range (`seed: integer 0…4294967295`, cluster/spec.ts). */
export const seedArg = (name = '--seed'): ((v: string) => number) => intInRange(name, 0, 0xffffffff);
/** A TCP/UDP port a packet can carry: 1–65535 (0 is no port a server listens on). */
export const portArg = (name = '--port'): ((v: string) => number) => intInRange(name, 1, 65535);
/** A count of at least 1. */
export const positiveArg = (name: string): ((v: string) => number) => intInRange(name, 1, Number.MAX_SAFE_INTEGER);

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** A wall-clock duration of at least 1 ms, as Kubernetes flags write them (`500ms`, `10s`, `1m`), in ms. */
export function durationMsArg(name: string) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
    const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
    if (!(ms >= 1)) throw new InvalidArgumentError(`${name} must be a duration like 500ms, 10s or 1m, got "${v}"`);
    return Math.round(ms);
  };
}
