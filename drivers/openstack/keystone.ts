/**
 * A client of an upstream Keystone v3: password and token logins, rescoping,
 * the projects a token may use, revocation. Used by the `upstream-keystone`
 * auth plugin and by the passthrough backend to get upstream tokens. Tokens
 * and passwords never reach a log line.
 */
import got, { RequestError } from 'got';
import type { Logger } from 'pino';
import { Fault } from '../../src/faults.js';

export interface NamedRef { id: string; name: string; domain?: { id: string; name: string } }

export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: Array<{ interface: string; region?: string | null; region_id?: string | null; url: string }>;
}

/** An upstream token and what Keystone said about it. */
export interface UpstreamToken {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
  user: NamedRef;
  project?: NamedRef;
  roles: Array<{ id: string; name: string }>;
  catalog: CatalogEntry[];
}

export interface UpstreamProject { id: string; name: string; domain_id: string; enabled: boolean }

export type PasswordUser = { id: string } | { name: string; domain: { id: string } | { name: string } };

export type ProjectScope = { id: string } | { name: string; domain: { id: string } | { name: string } };

interface TokenBody {
  token: {
    expires_at: string;
    user: NamedRef;
    project?: NamedRef;
    roles?: Array<{ id: string; name: string }>;
    catalog?: CatalogEntry[];
  };
}

/** The root of a versioned URL: `http://h:5000/v3` → `http://h:5000`, `http://h/compute/v2.1` → `http://h/compute`. */
export function serviceRoot(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname.replace(/\/v\d+(\.\d+)?(\/.*)?$/, '');
  return u.toString().replace(/\/+$/, '');
}

/** A got failure as the fault a caller of the gateway should see. */
export function unreachable(what: string, err: unknown): Fault {
  const e = err as RequestError;
  if (e.code === 'ETIMEDOUT') {
    return new Fault('backendTimeout', `${what} did not answer in time.`, { headers: { 'Retry-After': '5' }, cause: err });
  }
  if (err instanceof RequestError || ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(String(e.code))) {
    return new Fault('backendUnavailable', `${what} is unreachable (${e.code ?? e.message}).`, { headers: { 'Retry-After': '5' }, cause: err });
  }
  return new Fault('backendError', `${what} failed: ${(err as Error).message}`, { cause: err });
}

export class UpstreamKeystone {
  /** `http://keystone:5000/v3`, no trailing slash. */
  readonly authUrl: string;

  constructor(authUrl: string, private readonly timeoutMs: number, private readonly logger?: Logger) {
    this.authUrl = authUrl.replace(/\/+$/, '');
    if (!/\/v3$/.test(this.authUrl)) this.authUrl = `${this.authUrl}/v3`;
  }

  async password(user: PasswordUser, password: string, scope?: ProjectScope): Promise<UpstreamToken> {
    return this.issue({ methods: ['password'], password: { user: { ...user, password } } }, scope);
  }

  /** A token for another scope, from a token the user already has. */
  async rescope(token: string, scope: ProjectScope): Promise<UpstreamToken> {
    return this.issue({ methods: ['token'], token: { id: token } }, scope);
  }

  /** The projects a token's user may scope to. */
  async projects(token: string): Promise<UpstreamProject[]> {
    const res = await this.call('GET', '/auth/projects', token);
    if (res.statusCode !== 200) throw this.refused(res.statusCode, res.body, 'list the projects of a token');
    return (JSON.parse(res.body) as { projects: UpstreamProject[] }).projects;
  }

  /** Revokes an upstream token; a token already gone is fine. */
  async revoke(token: string): Promise<void> {
    const res = await this.call('DELETE', '/auth/tokens', token, undefined, { 'X-Subject-Token': token });
    if (res.statusCode >= 400 && res.statusCode !== 404 && res.statusCode !== 401) throw this.refused(res.statusCode, res.body, 'revoke a token');
  }

  private async issue(identity: Record<string, unknown>, scope?: ProjectScope): Promise<UpstreamToken> {
    const body = { auth: { identity, ...(scope ? { scope: { project: scope } } : {}) } };
    const res = await this.call('POST', '/auth/tokens', undefined, body);
    if (res.statusCode !== 201 && res.statusCode !== 200) throw this.refused(res.statusCode, res.body, 'issue a token');
    const token = res.headers['x-subject-token'];
    if (typeof token !== 'string' || !token) throw new Fault('backendError', 'The upstream Keystone issued a token without X-Subject-Token.');
    const t = (JSON.parse(res.body) as TokenBody).token;
    return {
      token,
      expiresAt: Date.parse(t.expires_at),
      user: t.user,
      ...(t.project ? { project: t.project } : {}),
      roles: t.roles ?? [],
      catalog: t.catalog ?? [],
    };
  }

  /** Keystone's own refusal as a fault: 401 stays 401, its 4xx stay theirs, the rest is the backend's failure. */
  private refused(status: number, body: string, what: string): Fault {
    let message = `The upstream Keystone refused to ${what} (HTTP ${status}).`;
    try {
      const m = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
      if (m) message = `The upstream Keystone refused to ${what}: ${m}`;
    } catch { /* not JSON: keep the status line */ }
    if (status === 401) return new Fault('unauthorized', message);
    if (status === 403) return new Fault('forbidden', message);
    if (status === 404) return Fault.notFound(message);
    if (status >= 400 && status < 500) return Fault.badRequest(message);
    return new Fault('backendError', message);
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, token?: string, json?: unknown, extra: Record<string, string> = {}) {
    const started = Date.now();
    try {
      const res = await got(`${this.authUrl}${path}`, {
        method,
        headers: { Accept: 'application/json', ...(token ? { 'X-Auth-Token': token } : {}), ...extra },
        ...(json !== undefined ? { json } : {}),
        throwHttpErrors: false,
        retry: { limit: method === 'GET' ? 1 : 0 },
        timeout: { request: this.timeoutMs },
      });
      this.logger?.debug({ method, path, status: res.statusCode, ms: Date.now() - started }, 'upstream keystone');
      return res;
    } catch (err) {
      throw unreachable('The upstream Keystone', err);
    }
  }
}
