/**
 * CNI spec versions: which exist, comparison, and which features need which version
 * (SPEC.md 1.1.0 "Version considerations"; ecosystem.md §6).
 */
import { cniError } from '../errors.ts';

/** Every version this implementation speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** The spec version of this implementation. */
export const SPEC_VERSION: CniVersion = '1.1.0';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compare two dotted versions; throws a decode error (code 6) for malformed ones, as libcni's version parser does. */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (pa === null) throw cniError('DECODE_FAILURE', `invalid version "${a}": the version is empty or not of the form major.minor.micro`);
  if (pb === null) throw cniError('DECODE_FAILURE', `invalid version "${b}": the version is empty or not of the form major.minor.micro`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** Code 1 unless `v` is one of the supported versions. */
export function requireSupported(v: string, supported: readonly string[] = SUPPORTED_VERSIONS): void {
  if (!supported.includes(v)) {
    throw cniError('INCOMPATIBLE_VERSION', 'incompatible CNI versions', `config is "${v}", plugin supports [${supported.map((s) => `"${s}"`).join(' ')}]`);
  }
}

/** The VERSION command's answer. */
export function versionInfo(cniVersion: string, supported: readonly string[] = SUPPORTED_VERSIONS): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion, supportedVersions: [...supported] };
}
