/**
 * Validation with Kubernetes field errors (k8s.io/apimachinery `field.Error`), so the
 * server's 422 Invalid Status reads as kube-apiserver's:
 * `Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767`.
 * The helpers every kind's validation uses (names, metadata, labels, addresses); each kind's
 * own rules live in its module in control/resources.
 */
import type { LabelSelector, ObjectMeta, StatusCause } from './types.ts';
import { validateLabelKey, validateLabelValue } from './selectors.ts';

export type FieldErrorType =
  | 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueDuplicate'
  | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound' | 'FieldValueTypeInvalid';

export interface FieldError {
  readonly type: FieldErrorType;
  readonly field: string;
  /** Detail text (after the value). */
  readonly detail: string;
  readonly value?: unknown;
}

/** Go's `%#v`-ish rendering used in "Invalid value: …": strings quoted, numbers bare. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`;
  if (typeof v === 'object') return `map[string]string{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  return String(v);
}

/** The error's text without the field: `Invalid value: 80: provided …`. */
export function fieldErrorBody(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueInvalid': case 'FieldValueTypeInvalid': return `Invalid value: ${formatValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueRequired': return `Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueNotSupported': return `Unsupported value: ${formatValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueDuplicate': return `Duplicate value: ${formatValue(e.value)}`;
    case 'FieldValueForbidden': return `Forbidden${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueTooLong': return `Too long: ${e.detail}`;
    case 'FieldValueNotFound': return `Not found: ${formatValue(e.value)}`;
  }
  return e.detail;
}

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** `Kind "name" is invalid: err` or `…: [err1, err2]`, as apierrors.NewInvalid. */
export function invalidMessage(kind: string, name: string, errs: readonly FieldError[]): string {
  const list = errs.map(formatFieldError);
  return `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
}

export function fieldErrorCauses(errs: readonly FieldError[]): StatusCause[] {
  return errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
}

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
export const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError =>
  ({ type: 'FieldValueNotSupported', field, value, detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` });
export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, detail: '' });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail });
export const tooLong = (field: string, detail: string): FieldError => ({ type: 'FieldValueTooLong', field, detail });
export const typeInvalid = (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, value, detail });

// ---------------------------------------------------------------- names

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** Problems with a DNS-1123 label (namespaces, container names): empty list when valid. */
export function isDns1123Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(v)) out.push(DNS1123_LABEL_MSG);
  return out;
}
export function isDns1123Subdomain(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(v)) out.push(DNS1123_SUBDOMAIN_MSG);
  return out;
}
export function isDns1035Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(v)) out.push(DNS1035_LABEL_MSG);
  return out;
}

export type NameRule = 'dns1123-label' | 'dns1123-subdomain' | 'dns1035-label';

export function validateName(rule: NameRule, v: string): string[] {
  return rule === 'dns1123-label' ? isDns1123Label(v) : rule === 'dns1035-label' ? isDns1035Label(v) : isDns1123Subdomain(v);
}

const IANA_SVC_NAME = /^[-a-z0-9]+$/;
/** Port names (IANA_SVC_NAME): at most 15 chars, lower-case alphanumerics and '-', at least one letter. */
export function isValidPortName(v: string): string[] {
  const out: string[] = [];
  if (v.length > 15) out.push('must be no more than 15 characters');
  if (!IANA_SVC_NAME.test(v)) out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (v.includes('--')) out.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(v)) out.push('must contain at least one letter (a-z)');
  if (v.startsWith('-') || v.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

export function isValidIPv4(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')));
}
export function isValidIP(v: string): boolean {
  return isValidIPv4(v) || (/^[0-9a-fA-F:.]+$/.test(v) && v.includes(':') && v.split('::').length <= 2);
}
export function isValidCIDR(v: string): boolean {
  const [ip, len, extra] = v.split('/');
  if (extra !== undefined || ip === undefined || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  return isValidIPv4(ip) ? Number(len) <= 32 : isValidIP(ip) && Number(len) <= 128;
}

/** An IP network as Go's `net.IPNet`: the masked address, its prefix length and the family's width. */
export interface IPNet {
  readonly bits: 32 | 128;
  readonly addr: bigint;
  readonly prefix: number;
}

function ipv4Sloppy(s: string): bigint | undefined {
  // netutils.ParseIPSloppy: four decimal octets, leading zeros allowed (read as decimal).
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n);
}

function ipv6(s: string): bigint | undefined {
  // Go's parseIPv6: hex groups of 1-4 digits, at most one `::`, an IPv4 tail allowed last.
  let tail: bigint | undefined;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tail = ipv4Sloppy(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    text = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] | undefined => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest || ![...head, ...rest].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const n = head.length + rest.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  const all = [...head, ...Array<string>(8 - n).fill('0'), ...rest];
  let v = all.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tail !== undefined) v = (v & ~0xffffffffn) | tail;
  return v;
}

/**
 * netutils.ParseCIDRSloppy (k8s.io/utils/net, Go's old net.ParseCIDR): `ip/len` with the
 * host bits allowed and dropped, leading zeros allowed; undefined when it is not a CIDR.
 */
export function parseCIDRSloppy(s: string): IPNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ipText = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,10}$/.test(lenText)) return undefined;
  const v4 = ipText.includes(':') ? undefined : ipv4Sloppy(ipText);
  const v6 = v4 === undefined ? ipv6(ipText) : undefined;
  const bits = v4 !== undefined ? 32 : 128;
  const ip = v4 ?? v6;
  const prefix = Number(lenText);
  if (ip === undefined || prefix > bits) return undefined;
  const host = (1n << BigInt(bits - prefix)) - 1n;
  return { bits, addr: ip & ~host, prefix };
}

/** IPNet.Contains of another network's address: same family and the same leading `net.prefix` bits. */
export function ipNetContains(net: IPNet, ip: { readonly bits: 32 | 128; readonly addr: bigint }): boolean {
  if (net.bits !== ip.bits) return false;
  const shift = BigInt(net.bits - net.prefix);
  return (net.addr >> shift) === (ip.addr >> shift);
}

// ---------------------------------------------------------------- metadata

/** Bytes of `s` in UTF-8 (Go's len of a string). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) { n += 4; i++; } else n += 3;
  }
  return n;
}

/** ValidateAnnotationsSize: keys and values together (apimachinery's TotalAnnotationSizeLimitB, 256 KiB). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameRule: NameRule): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta) return [required('metadata')];
  if (meta.name === undefined || meta.name === '') {
    if (!meta.generateName) errs.push(required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of validateName(nameRule, meta.name)) errs.push(invalid('metadata.name', meta.name, msg));
  }
  if (namespaced) {
    if (!meta.namespace) errs.push(required('metadata.namespace'));
    else for (const msg of isDns1123Label(meta.namespace)) errs.push(invalid('metadata.namespace', meta.namespace, msg));
  } else if (meta.namespace) {
    errs.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  if (meta.annotations !== undefined && (typeof meta.annotations !== 'object' || meta.annotations === null)) errs.push(invalid('metadata.annotations', meta.annotations, 'must be a map'));
  else {
    let size = 0;
    for (const [k, v] of Object.entries(meta.annotations ?? {})) {
      const e = validateLabelKey(k);
      if (e) errs.push(invalid('metadata.annotations', k, e));
      if (typeof v !== 'string') errs.push(invalid(`metadata.annotations[${k}]`, v, 'must be a string'));
      else size += utf8Length(k) + utf8Length(v);
    }
    if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong('metadata.annotations', `must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`));
  }
  return errs;
}

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (typeof labels !== 'object' || Array.isArray(labels)) return [invalid(path, labels, 'must be a map of string to string')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    const ke = validateLabelKey(k);
    if (ke) errs.push(invalid(path, k, ke));
    if (typeof v !== 'string') errs.push(invalid(`${path}[${k}]`, v, 'must be a string'));
    else {
      const ve = validateLabelValue(v);
      if (ve) errs.push(invalid(path, v, ve));
    }
  }
  return errs;
}

/**
 * ValidateLabelSelector (apimachinery pkg/apis/meta/v1/validation): matchLabels as labels,
 * each matchExpressions requirement's operator, values and key.
 */
export function validateLabelSelector(sel: LabelSelector | undefined | null, path: string): FieldError[] {
  if (sel === undefined || sel === null) return [];
  if (typeof sel !== 'object' || Array.isArray(sel)) return [invalid(path, sel, 'must be an object')];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).forEach((r, i) => {
    const rp = `${path}.matchExpressions[${i}]`;
    if (r === null || typeof r !== 'object') { errs.push(invalid(rp, r, 'must be an object')); return; }
    const values = Array.isArray(r.values) ? r.values : [];
    switch (r.operator) {
      case 'In': case 'NotIn':
        if (values.length === 0) errs.push(required(`${rp}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists': case 'DoesNotExist':
        if (values.length > 0) errs.push(forbidden(`${rp}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(`${rp}.operator`, r.operator, 'not a valid selector operator'));
    }
    const ke = validateLabelKey(typeof r.key === 'string' ? r.key : '');
    if (ke) errs.push(invalid(`${rp}.key`, r.key, ke));
    values.forEach((v, j) => {
      const ve = typeof v === 'string' ? validateLabelValue(v) : 'must be a string';
      if (ve) errs.push(invalid(`${rp}.values[${j}]`, v, ve));
    });
  });
  return errs;
}
