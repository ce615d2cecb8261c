/** Durations in experiment files (virtual time), shared by the file parser and the event kinds. */

/** `50us`, `2ms`, `1.5s`, `2m` → virtual nanoseconds. */
export function parseExperimentDuration(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m)$/.exec(s);
  if (m === null) throw new RangeError(`bad duration "${s}" (use e.g. 50us, 2ms, 1s, 2m)`);
  const unit = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9 }[m[2] as 'ns'];
  return Math.round(Number(m[1]) * unit);
}
