/**
 * The SoftLayer REST transport: `{endpoint}/SoftLayer_Service[/{id}]/{method}.json`
 * with HTTP basic auth (username, API key), `objectMask`, `objectFilter`,
 * `resultLimit=offset,limit`; parameters go as `{"parameters": […]}` in a POST,
 * as slcli's RestTransport sends them.
 *
 * Every backend error becomes a Fault here and nowhere else: ObjectNotFound →
 * 404, SoftLayer's public (user-facing) exceptions → 400, refused credentials
 * → 401, timeouts → 504, unreachable or reset → 503, 5xx and unreadable
 * answers → 502. Read-only calls (`get*`) are retried a bounded number of
 * times; calls that change something never are. Credentials never appear in
 * a fault, its cause or a log line.
 */
import got, { HTTPError, RequestError, type Method } from 'got';
import type { Logger } from 'pino';
import { Fault } from '../../src/faults.js';
import type { CircuitBreaker } from '../../src/breaker.js';

/** What a token carries for SoftLayer (sealed by the gateway, never logged). */
export interface SoftLayerCredential {
  username: string;
  apiKey: string;
  /** The account, as SoftLayer named it at login (who owns what). */
  accountId?: number;
}

export interface SoftLayerClientOptions {
  /** REST endpoint, e.g. https://api.softlayer.com/rest/v3.1 */
  endpoint: string;
  /** Time one HTTP request may take. */
  timeoutMs: number;
  /** Retries of an idempotent call after a timeout, reset or 5xx. */
  retries: number;
  logger?: Logger;
  /** The backend's circuit breaker (src/breaker.ts), shared by the gateway's calls to it. */
  breaker?: CircuitBreaker;
}

export interface CallOptions {
  /** The init parameter (object id). */
  id?: number | string;
  /** Method parameters, positional. */
  params?: unknown[];
  mask?: string;
  filter?: Record<string, unknown>;
  limit?: number;
  offset?: number;
  signal?: AbortSignal;
}

export function isSoftLayerCredential(v: unknown): v is SoftLayerCredential {
  const c = v as SoftLayerCredential | null;
  return typeof c === 'object' && c !== null && typeof c.username === 'string' && typeof c.apiKey === 'string';
}

/** SoftLayer exception codes whose message is meant for the user: a bad request. */
const BAD_REQUEST = /^SoftLayer_Exception_(Public|MissingCreationProperty|InvalidValue|InvalidData|Validate|NotReady|.*Validation)/;
const UNAUTHORIZED = /^SoftLayer_Exception_(InvalidLegacyToken|InvalidCredentials|NotLoggedIn|Authentication)/;

/** A method that only reads: safe to retry. */
function isIdempotent(method: string): boolean {
  return /^get[A-Z]/.test(method) || method === 'getObject';
}

export class SoftLayerClient {
  private readonly endpoint: string;

  constructor(private readonly opts: SoftLayerClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
  }

  /** One call; the parsed JSON answer. */
  async call<T>(cred: SoftLayerCredential, service: string, method: string, o: CallOptions = {}): Promise<T> {
    return (await this.request<T>(cred, service, method, o)).body;
  }

  /** A list call: the items and SoftLayer's total (`SoftLayer-Total-Items`). */
  async list<T>(cred: SoftLayerCredential, service: string, method: string, o: CallOptions = {}): Promise<{ items: T[]; total: number }> {
    const r = await this.request<T[]>(cred, service, method, o);
    if (!Array.isArray(r.body)) throw new Fault('backendError', `SoftLayer ${service}::${method} answered a ${typeof r.body}, not a list.`);
    return { items: r.body, total: r.total ?? r.body.length };
  }

  /** Every page of a list, `pageSize` at a time. */
  async listAll<T>(cred: SoftLayerCredential, service: string, method: string, o: CallOptions = {}, pageSize = 100): Promise<T[]> {
    const out: T[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const { items, total } = await this.list<T>(cred, service, method, { ...o, offset, limit: pageSize });
      out.push(...items);
      if (items.length < pageSize || out.length >= total) return out;
    }
  }

  private request<T>(cred: SoftLayerCredential, service: string, method: string, o: CallOptions): Promise<{ body: T; total?: number }> {
    const breaker = this.opts.breaker;
    return breaker ? breaker.run(() => this.attempt<T>(cred, service, method, o)) : this.attempt<T>(cred, service, method, o);
  }

  private async attempt<T>(cred: SoftLayerCredential, service: string, method: string, o: CallOptions): Promise<{ body: T; total?: number }> {
    const where = `${service}${o.id !== undefined ? `/${o.id}` : ''}/${method}`;
    const url = `${this.endpoint}/${service}${o.id !== undefined ? `/${encodeURIComponent(String(o.id))}` : ''}/${method}.json`;
    const searchParams: Record<string, string> = {};
    if (o.mask) searchParams.objectMask = o.mask.startsWith('mask') || o.mask.startsWith('filteredMask') ? o.mask : `mask[${o.mask}]`;
    if (o.filter) searchParams.objectFilter = JSON.stringify(o.filter);
    if (o.limit !== undefined || o.offset !== undefined) searchParams.resultLimit = `${o.offset ?? 0},${o.limit ?? 0}`;
    const hasParams = o.params !== undefined && o.params.length > 0;
    const httpMethod: Method = hasParams || method === 'createObject' ? 'POST' : method === 'editObject' ? 'PUT' : 'GET';
    const retries = isIdempotent(method) ? this.opts.retries : 0;
    const started = Date.now();
    try {
      const res = await got(url, {
        method: httpMethod,
        username: cred.username,
        password: cred.apiKey,
        searchParams,
        ...(hasParams ? { json: { parameters: o.params } } : {}),
        headers: { accept: 'application/json', 'user-agent': 'stackgate-softlayer' },
        timeout: { request: this.opts.timeoutMs },
        retry: {
          limit: retries,
          methods: ['GET', 'POST', 'PUT'],
          statusCodes: [500, 502, 503, 504],
          errorCodes: ['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN'],
          backoffLimit: 1000,
          calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : Math.min(computedValue, 200)),
        },
        responseType: 'text',
        ...(o.signal ? { signal: o.signal } : {}),
      });
      this.opts.logger?.debug({ softlayer: where, status: res.statusCode, ms: Date.now() - started, retries: res.retryCount }, 'softlayer call');
      let body: T;
      try {
        body = JSON.parse(res.body) as T;
      } catch {
        throw new Fault('backendError', `SoftLayer ${service}::${method} answered malformed JSON.`, { cause: new Error(`malformed JSON from ${where} (${res.body.length} bytes)`) });
      }
      const total = res.headers['softlayer-total-items'];
      return { body, ...(typeof total === 'string' && /^\d+$/.test(total) ? { total: Number(total) } : {}) };
    } catch (err) {
      if (err instanceof Fault) throw err;
      throw this.toFault(err, service, method, where, Date.now() - started);
    }
  }

  /** Maps a got error to a Fault; the cause is a plain Error naming the call, never the request options. */
  private toFault(err: unknown, service: string, method: string, where: string, ms: number): Fault {
    const call = `SoftLayer ${service}::${method}`;
    if (err instanceof HTTPError) {
      const status = err.response.statusCode;
      let code = '';
      let message = '';
      try {
        const b = JSON.parse(String(err.response.body)) as { error?: unknown; code?: unknown };
        code = typeof b.code === 'string' ? b.code : '';
        message = typeof b.error === 'string' ? b.error.trim() : '';
      } catch { /* an HTML error page: no SoftLayer code */ }
      const cause = new Error(`${where}: HTTP ${status}${code ? ` ${code}` : ''} after ${ms} ms`);
      this.opts.logger?.warn({ softlayer: where, status, code, ms }, 'softlayer call failed');
      if (code === 'SoftLayer_Exception_ObjectNotFound' || (status === 404 && code === '')) return Fault.notFound(message || `${call}: not found.`, { cause });
      if (status === 401 || UNAUTHORIZED.test(code)) return Fault.unauthorized('The SoftLayer API refused the credentials of this token.', { cause });
      if (status === 403 || /PermissionDenied|Forbidden/.test(code)) return Fault.forbidden(message || `${call}: permission denied by SoftLayer.`, { cause });
      if (BAD_REQUEST.test(code)) return Fault.badRequest(message || `${call} refused the request.`, { cause });
      return new Fault('backendError', `${call} failed: HTTP ${status}${code ? ` ${code}` : ''}.`, { cause });
    }
    if (err instanceof RequestError) {
      const cause = new Error(`${where}: ${err.code} after ${ms} ms`);
      this.opts.logger?.warn({ softlayer: where, code: err.code, ms }, 'softlayer call failed');
      if (err.code === 'ETIMEDOUT') return new Fault('backendTimeout', `${call} did not answer in time.`, { cause });
      if (err.code === 'ERR_ABORTED' || err.name === 'AbortError') return new Fault('backendUnavailable', `${call} was abandoned: the client went away.`, { cause });
      return Fault.backendUnavailable(`The SoftLayer API is unreachable (${err.code}).`, { cause });
    }
    return new Fault('backendError', `${call} failed.`, { cause: new Error(`${where}: ${(err as Error)?.name ?? 'error'}`) });
  }
}
