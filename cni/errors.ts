/**
 * CNI error codes (SPEC.md 1.1.0, "Error"), as a typed table, and the error a plugin
 * or the runtime raises. A plugin turns a CniError into the spec's error JSON
 * `{"cniVersion","code","msg","details"}` on stdout with a non-zero exit.
 */

/** The spec's reserved codes (0-99) plus the code the reference plugins use for everything else. */
export const CNI_ERROR_CODES = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in network configuration. */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist. */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables, like CNI_COMMAND, CNI_CONTAINERID, etc. */
  INVALID_ENV: 4,
  /** I/O failure, e.g. failed to read network config bytes from stdin. */
  IO_FAILURE: 5,
  /** Failed to decode content, e.g. failed to unmarshal network config or CNI_ARGS. */
  DECODE_FAILURE: 6,
  /** Invalid network config. */
  INVALID_NETWORK_CONFIG: 7,
  /** Try again later: the plugin detected a transient condition. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin is not available (e.g. no IPs left in the pool). */
  PLUGIN_NOT_AVAILABLE: 50,
  /** STATUS: the plugin is not available, existing containers may be damaged. */
  PLUGIN_NOT_AVAILABLE_LIMITED: 51,
  /** containernetworking/cni types.ErrInternal: any error without a more specific code. */
  INTERNAL: 999,
} as const;

export type CniErrorName = keyof typeof CNI_ERROR_CODES;
export type CniErrorCode = (typeof CNI_ERROR_CODES)[CniErrorName];

/** The short message the reference implementation (libcni / skel) uses for each code. */
export const CNI_ERROR_MESSAGES: Readonly<Record<CniErrorCode, string>> = {
  1: 'incompatible CNI versions',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid environment variables',
  5: 'I/O failure',
  6: 'decoding failure',
  7: 'invalid network config',
  11: 'try again later',
  50: 'plugin not available',
  51: 'plugin not available, existing containers may be damaged',
  999: 'internal error',
};

/** The error JSON a plugin prints on failure. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  constructor(readonly code: number, readonly msg: string, readonly details: string = '') {
    super(details === '' ? msg : `${msg}: ${details}`);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): CniErrorJson {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details !== '' ? { details: this.details } : {}) };
  }

  /** Rebuild an error from a plugin's error JSON (what libcni does with a failed exec). */
  static fromJson(j: unknown): CniError {
    if (typeof j === 'object' && j !== null && typeof (j as CniErrorJson).code === 'number' && typeof (j as CniErrorJson).msg === 'string') {
      const e = j as CniErrorJson;
      return new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : '');
    }
    return new CniError(CNI_ERROR_CODES.DECODE_FAILURE, 'error parsing its diagnostic message', JSON.stringify(j));
  }
}

export function cniError(name: CniErrorName, msg?: string, details = ''): CniError {
  const code = CNI_ERROR_CODES[name];
  return new CniError(code, msg ?? CNI_ERROR_MESSAGES[code], details);
}
