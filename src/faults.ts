/**
 * Faults: the one error type drivers and the gateway throw, and the renderers
 * that turn it into each service's own error body. Clients parse these bodies
 * (novaclient reads `itemNotFound.message`, keystoneauth reads `error.message`,
 * neutronclient reads `NeutronError.type`), so each dialect is OpenStack's.
 */
import { STATUS_CODES } from 'node:http';
import type { ServiceInfo } from '../generated/common.js';

/** Every fault kind, with its status. Names follow Nova's fault element names. */
export const FAULTS = {
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  itemNotFound: 404,
  badMethod: 405,
  notAcceptable: 406,
  conflict: 409,
  gone: 410,
  overLimit: 413,
  badMediaType: 415,
  tooManyRequests: 429,
  internal: 500,
  notImplemented: 501,
  backendError: 502,
  backendUnavailable: 503,
  backendTimeout: 504,
} as const;

export type FaultKind = keyof typeof FAULTS;

export interface FaultOptions extends ErrorOptions {
  /** Extra response headers (Retry-After, Allow, WWW-Authenticate, …). */
  headers?: Record<string, string>;
  /** Neutron's error type (`NetworkNotFound`); defaults from the status. */
  type?: string;
  /** Extra detail some dialects carry (Neutron `detail`). */
  detail?: string;
}

/**
 * Marks faults across module instances: a driver loaded through another
 * loader (ESM vs a CommonJS test runner) has its own Fault class, and its
 * faults must still render as faults, not as 500s.
 */
const FAULT = Symbol.for('stackgate.fault');

export class Fault extends Error {
  readonly [FAULT] = true;
  readonly headers: Record<string, string>;
  readonly type?: string;
  readonly detail?: string;

  constructor(readonly kind: FaultKind, message: string, opts: FaultOptions = {}) {
    super(message, opts);
    this.name = 'Fault';
    this.headers = opts.headers ?? {};
    this.type = opts.type;
    this.detail = opts.detail;
  }

  get status(): number {
    return FAULTS[this.kind];
  }

  /**
   * 4xx, 501 and the backend faults (502–504: which backend, unreachable or
   * slow; written for the caller, never with a credential) are the client's
   * to read; an internal error's text stays in the log.
   */
  get expose(): boolean {
    return this.status < 500 || this.status === 501 || this.kind === 'backendError' || this.kind === 'backendUnavailable' || this.kind === 'backendTimeout';
  }

  static badRequest(msg: string, opts?: FaultOptions) { return new Fault('badRequest', msg, opts); }
  static unauthorized(msg: string, opts?: FaultOptions) { return new Fault('unauthorized', msg, opts); }
  static forbidden(msg: string, opts?: FaultOptions) { return new Fault('forbidden', msg, opts); }
  static notFound(msg: string, opts?: FaultOptions) { return new Fault('itemNotFound', msg, opts); }
  static conflict(msg: string, opts?: FaultOptions) { return new Fault('conflict', msg, opts); }
  static notImplemented(msg: string, opts?: FaultOptions) { return new Fault('notImplemented', msg, opts); }
  static backendUnavailable(msg: string, opts?: FaultOptions) { return new Fault('backendUnavailable', msg, opts); }
}

/** Whether a thrown value is a Fault, from this module or another copy of it (a registered symbol). */
export function isFault(err: unknown): err is Fault {
  return err instanceof Fault || (typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[FAULT] === true);
}

export function toFault(err: unknown): Fault {
  if (isFault(err)) return err;
  const e = err as { status?: unknown; expose?: unknown; message?: unknown; headers?: unknown };
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 600) {
    const kind = (Object.keys(FAULTS) as FaultKind[]).find((k) => FAULTS[k] === e.status);
    if (kind) {
      const msg = e.expose === false || typeof e.message !== 'string' ? STATUS_CODES[e.status] ?? 'Error' : e.message;
      return new Fault(kind, msg, { cause: err });
    }
  }
  return new Fault('internal', 'The server has either erred or is incapable of performing the requested operation.', { cause: err });
}

/** Nova's and Cinder's fault element names (nova/api/openstack/wsgi.py Fault._fault_names). */
const NOVA_NAMES: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod',
  409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit',
  501: 'notImplemented', 503: 'serviceUnavailable',
};

/** Neutron error types for faults a driver did not name. */
const NEUTRON_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest', 401: 'HTTPUnauthorized', 403: 'HTTPForbidden', 404: 'HTTPNotFound',
  405: 'HTTPMethodNotAllowed', 406: 'HTTPNotAcceptable', 409: 'HTTPConflict', 413: 'HTTPRequestEntityTooLarge',
  415: 'HTTPUnsupportedMediaType', 429: 'HTTPTooManyRequests', 500: 'HTTPInternalServerError',
  501: 'HTTPNotImplemented', 502: 'HTTPBadGateway', 503: 'HTTPServiceUnavailable', 504: 'HTTPGatewayTimeout',
};

/** Webob's explanation line, which Glance puts under the status line. */
const WEBOB_EXPLANATION: Record<number, string> = {
  400: 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  401: 'This server could not verify that you are authorized to access the document you requested.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  405: 'The method is not allowed for this resource.',
  409: 'There was a conflict when trying to complete your request.',
  413: 'The body of your request was too large for this server.',
  415: 'The request media type is not supported by this server.',
};

export interface RenderedFault {
  status: number;
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * Renders a fault in a service's dialect.
 * `requestId` goes into Placement's body; `accept` picks Glance's JSON or text form.
 */
export function renderFault(
  fault: Fault,
  style: ServiceInfo['faultStyle'] | 'plain',
  opts: { requestId?: string; accept?: string } = {},
): RenderedFault {
  const status = fault.status;
  const title = STATUS_CODES[status] ?? 'Error';
  const message = fault.expose ? fault.message : title;
  const json = (o: unknown): RenderedFault => ({
    status, contentType: 'application/json', body: JSON.stringify(o), headers: fault.headers,
  });
  switch (style) {
    case 'nova':
      return json({ [NOVA_NAMES[status] ?? 'computeFault']: { code: status, message } });
    case 'keystone':
      return json({ error: { code: status, title, message } });
    case 'neutron':
      return json({ NeutronError: { type: fault.type ?? NEUTRON_TYPES[status] ?? 'HTTPError', message, detail: fault.detail ?? '' } });
    case 'placement':
      return json({ errors: [{ status, title, detail: message, code: 'placement.undefined_code', request_id: opts.requestId ?? '' }] });
    case 'glance': {
      // Glance answers webob's error page: JSON when asked for, plain text otherwise.
      const explanation = WEBOB_EXPLANATION[status] ?? '';
      if ((opts.accept ?? '').includes('application/json')) {
        return json({ code: `${status} ${title}`, title, message: `${explanation}<br /><br />\n${message}\n\n` });
      }
      return { status, contentType: 'text/plain; charset=UTF-8', body: `${status} ${title}\n\n${explanation}\n\n ${message}  `, headers: fault.headers };
    }
    case 'plain':
    default:
      return json({ error: { code: status, title, message } });
  }
}
