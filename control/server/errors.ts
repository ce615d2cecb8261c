/**
 * API errors as Kubernetes `Status` objects (k8s.io/apimachinery/pkg/api/errors):
 * one table of reasons and HTTP codes; constructors produce kube-apiserver's messages.
 */
import type { ResourceInfo, Status, StatusCause, StatusDetails, StatusReason } from '../api/index.ts';
import { fieldErrorCauses, invalidMessage, qualifiedResource } from '../api/index.ts';
import type { FieldError } from '../api/index.ts';

/** Reason → HTTP status code (metav1.StatusReason*). */
export const REASON_CODES: Readonly<Record<Exclude<StatusReason, ''>, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  UnsupportedMediaType: 415,
  Expired: 410,
  Gone: 410,
  RequestEntityTooLarge: 413,
  Unauthorized: 401,
  Forbidden: 403,
  Timeout: 504,
  ServerTimeout: 500,
  InternalError: 500,
  ServiceUnavailable: 503,
  TooManyRequests: 429,
};

export class ApiError extends Error {
  readonly code: number;
  /** `options.cause`: the store failure behind a 503/500, so a front end can still name it. */
  constructor(readonly reason: Exclude<StatusReason, ''>, message: string, readonly details?: StatusDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiError';
    this.code = REASON_CODES[reason];
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

export function statusOf(reason: Exclude<StatusReason, ''>, message: string, details?: StatusDetails): Status {
  return new ApiError(reason, message, details).toStatus();
}

function det(r: ResourceInfo, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: r.resource };
  if (r.group) d.group = r.group;
  return d;
}

export const errNotFound = (r: ResourceInfo, name: string): ApiError =>
  new ApiError('NotFound', `${qualifiedResource(r)} "${name}" not found`, det(r, name));
export const errAlreadyExists = (r: ResourceInfo, name: string): ApiError =>
  new ApiError('AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, det(r, name));
export const errConflict = (r: ResourceInfo, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError =>
  new ApiError('Conflict', `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`, det(r, name));
/**
 * The NamespaceLifecycle admission plugin's refusal of a create in a terminating namespace:
 * Forbidden with a NamespaceTerminating cause.
 */
export const errNamespaceTerminating = (r: ResourceInfo, name: string, ns: string): ApiError =>
  new ApiError('Forbidden', `${qualifiedResource(r)}${name ? ` "${name}"` : ''} is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    { ...det(r, name), causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] });
export const errBadRequest = (message: string): ApiError => new ApiError('BadRequest', message);
export const errMethodNotAllowed = (): ApiError => new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
export const errPathNotFound = (): ApiError => new ApiError('NotFound', 'the server could not find the requested resource', {});

export function errInvalid(r: ResourceInfo, name: string, errs: readonly FieldError[]): ApiError {
  const details: StatusDetails = { name, kind: r.kind, causes: fieldErrorCauses(errs) };
  if (r.group) details.group = r.group;
  // apierrors.NewInvalid names the GroupKind: `Deployment.apps "web" is invalid: …`.
  return new ApiError('Invalid', invalidMessage(r.group ? `${r.kind}.${r.group}` : r.kind, name, errs), details);
}

export function errExpired(message: string): ApiError {
  return new ApiError('Expired', message);
}

export function causes(errs: readonly FieldError[]): StatusCause[] {
  return fieldErrorCauses(errs);
}
