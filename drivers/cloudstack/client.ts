/**
 * The CloudStack query API: `GET {endpoint}?command=…&apiKey=…&response=json
 * &signatureVersion=3&expires=…&signature=…`, signed as CloudStack's ApiServer
 * verifies it: parameters sorted by name, values URL-encoded as Java's
 * URLEncoder does (space as %20), the whole string lower-cased, HMAC-SHA1 with
 * the secret key, base64.
 *
 * Every backend error becomes a Fault here and nowhere else: 431 (bad
 * parameter) → 400, 401 → 401, 432 (command not available) and 531 (account
 * error) → 403, 536/537 (in use, rule conflict) → 409, 530 and other codes →
 * 502, timeouts → 504, unreachable or reset → 503. Read-only commands
 * (list*, query*) are retried a bounded number of times; commands that change
 * something never are. Keys never appear in a fault, its cause or a log line.
 */
import { createHmac } from 'node:crypto';
import got, { HTTPError, RequestError } from 'got';
import type { Logger } from 'pino';
import { Fault } from '../../src/faults.js';
import type { CircuitBreaker } from '../../src/breaker.js';

/** What a token carries for CloudStack (sealed by the gateway, never logged). */
export interface CloudStackCredential {
  apiKey: string;
  secretKey: string;
  /** The CloudStack account and its domain, as listUsers named them at login (who owns what). */
  account?: string;
  domainId?: string;
}

export function isCloudStackCredential(v: unknown): v is CloudStackCredential {
  const c = v as CloudStackCredential | null;
  return typeof c === 'object' && c !== null && typeof c.apiKey === 'string' && typeof c.secretKey === 'string';
}

export interface CloudStackClientOptions {
  /** API endpoint, e.g. http://cloudstack:8080/client/api */
  endpoint: string;
  timeoutMs: number;
  /** Retries of a read-only command after a timeout, reset or 5xx. */
  retries: number;
  /** Lifetime of a signed request (the `expires` parameter). */
  signatureTtlSeconds: number;
  logger?: Logger;
  /** The backend's circuit breaker (src/breaker.ts), shared by the gateway's calls to it. */
  breaker?: CircuitBreaker;
}

export type Params = Record<string, string | number | boolean | undefined | null>;

/** queryAsyncJobResult / listAsyncJobs: 0 pending, 1 succeeded, 2 failed. */
export const JOB = { PENDING: 0, SUCCEEDED: 1, FAILED: 2 } as const;

export interface CsJob {
  jobid: string;
  jobstatus: number;
  jobresultcode?: number;
  jobresulttype?: string;
  jobresult?: Record<string, unknown> & { errorcode?: number; errortext?: string };
  cmd?: string;
  jobinstancetype?: string;
  jobinstanceid?: string;
  created?: string;
}

/**
 * Java's URLEncoder.encode(s, "UTF-8") with '+' then replaced by %20, as
 * CloudStack re-encodes each value before checking a signature: unreserved are
 * letters, digits and `.-*_`; encodeURIComponent also leaves `!~'()` alone.
 */
export function csEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!~'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The string CloudStack signs: sorted `name=value` pairs (signature left out), lower-cased. */
export function signingString(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k.toLowerCase() !== 'signature')
    .sort() // String order (UTF-16 code units), as Collections.sort on the names
    .map((k) => `${k}=${csEncode(params[k]!)}`)
    .join('&')
    .toLowerCase();
}

export function signature(params: Record<string, string>, secretKey: string): string {
  return createHmac('sha1', secretKey).update(signingString(params), 'utf8').digest('base64');
}

/** `yyyy-MM-dd'T'HH:mm:ssZ` in UTC (+0000), the format CloudStack parses `expires` with. */
export function expiresAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** A command that only reads: safe to retry. */
export function isReadOnly(command: string): boolean {
  return /^(list|query)[A-Z]/.test(command);
}

/** CloudStack error codes (ApiErrorCode) → the fault a caller sees. */
function faultOf(code: number, text: string, call: string, cause: Error): Fault {
  const msg = text || `${call} failed (CloudStack error ${code}).`;
  switch (code) {
    case 401: return Fault.unauthorized('CloudStack refused the API key or signature of this token.', { cause });
    case 431: return Fault.badRequest(msg, { cause });
    case 432: case 531: return Fault.forbidden(msg, { cause });
    case 536: case 537: return Fault.conflict(msg, { cause });
    default: return new Fault('backendError', `${call} failed: CloudStack error ${code}.`, { cause: new Error(`${cause.message}: ${text}`) });
  }
}

export class CloudStackClient {
  constructor(private readonly opts: CloudStackClientOptions) {}

  /** The query string of a signed request (names and values encoded as they were signed). */
  signedQuery(cred: CloudStackCredential, command: string, params: Params, now = Date.now()): string {
    const all: Record<string, string> = { command, response: 'json', apiKey: cred.apiKey, signatureVersion: '3', expires: expiresAt(now + this.opts.signatureTtlSeconds * 1000) };
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) all[k] = String(v);
    all.signature = signature(all, cred.secretKey);
    return Object.entries(all).map(([k, v]) => `${encodeURIComponent(k)}=${csEncode(v)}`).join('&');
  }

  /** One command; the object inside `<command>response`. */
  call<T = Record<string, unknown>>(cred: CloudStackCredential, command: string, params: Params = {}): Promise<T> {
    const breaker = this.opts.breaker;
    return breaker ? breaker.run(() => this.attempt<T>(cred, command, params)) : this.attempt<T>(cred, command, params);
  }

  private async attempt<T>(cred: CloudStackCredential, command: string, params: Params): Promise<T> {
    const call = `CloudStack ${command}`;
    const started = Date.now();
    const retries = isReadOnly(command) ? this.opts.retries : 0;
    try {
      const res = await got(`${this.opts.endpoint}?${this.signedQuery(cred, command, params)}`, {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'stackgate-cloudstack' },
        timeout: { request: this.opts.timeoutMs },
        retry: {
          limit: retries,
          methods: ['GET'],
          statusCodes: [500, 502, 503, 504],
          errorCodes: ['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN'],
          backoffLimit: 1000,
          calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : Math.min(computedValue, 200)),
        },
        responseType: 'text',
      });
      this.opts.logger?.debug({ cloudstack: command, status: res.statusCode, ms: Date.now() - started, retries: res.retryCount }, 'cloudstack call');
      return this.unwrap<T>(res.body, command);
    } catch (err) {
      if (err instanceof Fault) throw err;
      const ms = Date.now() - started;
      if (err instanceof HTTPError) {
        const status = err.response.statusCode;
        let code = status;
        let text = '';
        let envelope = false;
        try {
          const inner = this.envelope(String(err.response.body));
          envelope = true;
          if (typeof inner.errorcode === 'number') code = inner.errorcode;
          if (typeof inner.errortext === 'string') text = inner.errortext;
        } catch { /* not CloudStack's JSON (a proxy's page): the HTTP status decides */ }
        this.opts.logger?.warn({ cloudstack: command, status, code, ms }, 'cloudstack call failed');
        const cause = new Error(`${command}: HTTP ${status} errorcode ${code} after ${ms} ms`);
        // A proxy's 502/503/504 page: the management server behind it is down or restarting.
        if (!envelope && status >= 502 && status <= 504) throw Fault.backendUnavailable(`The CloudStack API is unavailable (HTTP ${status}).`, { cause });
        throw faultOf(code, text, call, cause);
      }
      if (err instanceof RequestError) {
        const cause = new Error(`${command}: ${err.code} after ${ms} ms`);
        this.opts.logger?.warn({ cloudstack: command, code: err.code, ms }, 'cloudstack call failed');
        if (err.code === 'ETIMEDOUT') throw new Fault('backendTimeout', `${call} did not answer in time.`, { cause });
        throw Fault.backendUnavailable(`The CloudStack API is unreachable (${err.code}).`, { cause });
      }
      throw new Fault('backendError', `${call} failed.`, { cause: new Error(`${command}: ${(err as Error)?.name ?? 'error'}`) });
    }
  }

  /** Every page of a list command (`page`, `pagesize`), the items under `key`. */
  async list<T>(cred: CloudStackCredential, command: string, key: string, params: Params = {}, pageSize = 500): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const r = await this.call<Record<string, unknown>>(cred, command, { ...params, page, pagesize: pageSize });
      const items = Array.isArray(r[key]) ? r[key] as T[] : [];
      out.push(...items);
      const count = typeof r.count === 'number' ? r.count : out.length;
      if (items.length < pageSize || out.length >= count) return out;
    }
  }

  /** One look at an async job (never waits: the caller reads its state lazily). */
  job(cred: CloudStackCredential, jobid: string): Promise<CsJob> {
    return this.call<CsJob>(cred, 'queryAsyncJobResult', { jobid });
  }

  private envelope(text: string): Record<string, unknown> {
    const body = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(body);
    if (keys.length !== 1 || !keys[0]!.endsWith('response') || typeof body[keys[0]!] !== 'object' || body[keys[0]!] === null) {
      throw new Error('not a CloudStack envelope');
    }
    return body[keys[0]!] as Record<string, unknown>;
  }

  private unwrap<T>(text: string, command: string): T {
    try {
      return this.envelope(text) as T;
    } catch {
      throw new Fault('backendError', `CloudStack ${command} answered malformed JSON.`, { cause: new Error(`malformed answer to ${command} (${text.length} bytes)`) });
    }
  }
}
