/**
 * The passthrough's one piece of logic: forward a call, as the gateway
 * validated it, to the same operation of an upstream OpenStack, and hand its
 * answer back with the upstream's links turned into the gateway's.
 *
 * Upstream tokens come from the caller's own upstream login (`user`: the
 * `upstream-keystone` plugin sealed it in the gateway token; it is rescoped to
 * the caller's project once and cached) or from the gateway's service account
 * (`service`). Endpoints come from the upstream token's catalog.
 *
 * Bodies that are not JSON (image data) stream both ways, never buffered whole.
 * Upstream faults go back unchanged (status and body); an upstream that cannot
 * be reached is a 503 fault, one that does not answer in time a 504.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import got, { type Method } from 'got';
import type { Logger } from 'pino';
import { Reply, type RequestContext } from '../../generated/common.js';
import type { OpenStackConfig } from '../../src/config.js';
import { Fault } from '../../src/faults.js';
import { CircuitBreaker, type BreakerOptions } from '../../src/breaker.js';
import { serviceRoot, unreachable, UpstreamKeystone, type CatalogEntry, type UpstreamToken } from './keystone.js';

/** What the `upstream-keystone` plugin seals in the gateway's token. */
export interface UpstreamCredential { kind: 'upstream-keystone'; token: string }

export function isUpstreamCredential(value: unknown): value is UpstreamCredential {
  const v = value as UpstreamCredential | undefined;
  return typeof v === 'object' && v !== null && v.kind === 'upstream-keystone' && typeof v.token === 'string';
}

/** The services a passthrough forwards, by the catalog types upstream Keystones use for them. */
export type ForwardedService = 'identity' | 'compute' | 'image' | 'volume' | 'network' | 'placement';

const CATALOG_TYPES: Record<ForwardedService, readonly string[]> = {
  identity: ['identity'],
  compute: ['compute'],
  image: ['image'],
  volume: ['block-storage', 'volumev3', 'volume'],
  network: ['network'],
  placement: ['placement'],
};

/** A driver call as the dispatcher makes it. */
export interface ForwardRequest {
  path: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  headers: IncomingHttpHeaders;
  context: RequestContext;
}

/** Request headers that belong to the hop to the gateway, or that the gateway sets itself. */
const DROP_REQUEST = new Set([
  'host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization',
  'x-auth-token', 'x-subject-token', 'authorization', 'cookie', 'accept-encoding', 'content-length', 'expect',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-openstack-request-id',
]);

/** Response headers Koa or the gateway sets, or that only made sense on the upstream hop. */
const DROP_RESPONSE = new Set([
  'connection', 'keep-alive', 'transfer-encoding', 'date', 'server', 'set-cookie', 'content-length', 'vary',
  'www-authenticate', 'strict-transport-security',
]);

/** Largest JSON answer read into memory to rewrite its links. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

interface Session { token: UpstreamToken; roots: Map<ForwardedService, string>; service: boolean }

export interface OpenStackCloudOptions {
  config: OpenStackConfig;
  authUrl: string;
  /** Service account password (read from the environment by the module). */
  servicePassword?: string;
  logger: Logger;
  /** Region name, for messages. */
  region: string;
  breaker: BreakerOptions;
}

export class OpenStackCloud {
  readonly keystone: UpstreamKeystone;
  private serviceSession: Promise<Session> | undefined;
  /** Rescoped user tokens by sha256(upstream token) + project; never the token itself as a key. */
  private readonly userSessions = new Map<string, Promise<Session>>();

  constructor(private readonly opts: OpenStackCloudOptions) {
    this.keystone = new UpstreamKeystone(opts.authUrl, Math.min(opts.config.timeoutMs, 60_000), opts.logger);
  }

  /** One breaker per upstream service: an unreachable or silent Glance need not stop Nova. */
  private readonly breakers = new Map<ForwardedService, CircuitBreaker>();

  private breaker(service: ForwardedService): CircuitBreaker {
    let b = this.breakers.get(service);
    if (!b) {
      b = new CircuitBreaker(`The upstream ${service} service of region ${this.opts.region}`, this.opts.breaker, this.opts.logger);
      this.breakers.set(service, b);
    }
    return b;
  }

  /** Forwards one call to the service's upstream endpoint. */
  async forward(service: ForwardedService, req: ForwardRequest): Promise<Reply> {
    const ctx = req.context;
    const replayable = !(req.body instanceof Readable);
    let session = await this.session(ctx);
    // Upstream answers, faults included, pass through; the breaker counts only an upstream that cannot be reached or is silent.
    let res = await this.breaker(service).run(() => this.send(service, session, req));
    // A service token the upstream no longer takes: log in again, once, if the body can be sent again.
    if (res.statusCode === 401 && session.service && replayable) {
      res.destroy();
      this.serviceSession = undefined;
      session = await this.session(ctx);
      res = await this.breaker(service).run(() => this.send(service, session, req));
    }
    return this.reply(service, session, req, res);
  }

  /** The upstream session for this caller: the service account's, or the caller's rescoped to their project. */
  private session(ctx: RequestContext): Promise<Session> {
    const cred = ctx.auth?.backendCredential;
    // `service`, or a caller who did not log in upstream where a service account stands in.
    if (this.opts.config.credentials === 'service' || (!isUpstreamCredential(cred) && this.opts.config.serviceAccount)) {
      const current = this.serviceSession;
      if (current) {
        return current.then((s) => (s.token.expiresAt - 60_000 > Date.now() ? s : this.newServiceSession()), () => this.newServiceSession());
      }
      return this.newServiceSession();
    }
    if (!isUpstreamCredential(cred)) {
      throw new Fault('forbidden', `Region ${this.opts.region} acts with your own upstream OpenStack credentials: log in with a user of the upstream Keystone to use it.`);
    }
    const projectId = ctx.auth?.projectId;
    if (!projectId) throw new Fault('forbidden', `Region ${this.opts.region} needs a project-scoped token.`);
    const key = `${createHash('sha256').update(cred.token).digest('hex')}:${projectId}`;
    const cached = this.userSessions.get(key);
    if (cached) {
      return cached.then((s) => {
        if (s.token.expiresAt - 30_000 > Date.now()) return s;
        this.userSessions.delete(key);
        return this.session(ctx);
      });
    }
    const made = this.keystone.rescope(cred.token, { id: projectId }).then((t) => this.sessionOf(t, false));
    made.catch(() => this.userSessions.delete(key));
    this.userSessions.set(key, made);
    this.pruneUserSessions();
    return made;
  }

  private newServiceSession(): Promise<Session> {
    const account = this.opts.config.serviceAccount!;
    const made = this.keystone.password(
      { name: account.username, domain: { name: account.userDomainName } },
      this.opts.servicePassword ?? '',
      { name: account.projectName, domain: { name: account.projectDomainName } },
    ).then((t) => this.sessionOf(t, true));
    this.serviceSession = made;
    made.catch(() => { if (this.serviceSession === made) this.serviceSession = undefined; });
    return made;
  }

  /** The map stays bounded: past 1,000 sessions the oldest go (expired ones are dropped when next used). */
  private pruneUserSessions(): void {
    if (this.userSessions.size < 1000) return;
    for (const key of [...this.userSessions.keys()].slice(0, this.userSessions.size - 900)) this.userSessions.delete(key);
  }

  private sessionOf(token: UpstreamToken, service: boolean): Session {
    const roots = new Map<ForwardedService, string>();
    const { upstreamRegion, endpoints } = this.opts.config;
    const iface = this.opts.config.interface;
    for (const service of Object.keys(CATALOG_TYPES) as ForwardedService[]) {
      const override = service === 'identity' ? this.keystone.authUrl : endpoints[service];
      if (override) {
        roots.set(service, serviceRoot(override));
        continue;
      }
      const url = pickEndpoint(token.catalog, CATALOG_TYPES[service], iface, upstreamRegion);
      if (url) roots.set(service, serviceRoot(url));
    }
    return { token, roots, service };
  }

  private async send(service: ForwardedService, session: Session, req: ForwardRequest) {
    const ctx = req.context;
    const root = session.roots.get(service);
    if (!root) {
      throw new Fault('backendUnavailable', `The upstream OpenStack of region ${this.opts.region} lists no ${service} endpoint (${this.opts.config.interface}${this.opts.config.upstreamRegion ? `, region ${this.opts.config.upstreamRegion}` : ''}).`);
    }
    let tail = ctx.url.startsWith(ctx.endpoint) ? ctx.url.slice(ctx.endpoint.length) : new URL(ctx.url).pathname;
    // Under a service account the caller's project is, upstream, the account's: its id in the
    // path (Cinder's and Nova's `{project_id}` routes) and in query values is swapped for the
    // account's, and back in the answer (projectSwap). Keystone's project ids are data, never swapped.
    const swap = projectSwap(service, session, ctx);
    if (swap) {
      const q = tail.indexOf('?');
      const [path, query] = q < 0 ? [tail, ''] : [tail.slice(0, q), tail.slice(q)];
      tail = path.split('/').map((seg) => (seg === swap.caller ? swap.upstream : seg)).join('/')
        + query.split('&').map((kv) => (kv.endsWith(`=${swap.caller}`) ? `${kv.slice(0, -swap.caller.length)}${swap.upstream}` : kv)).join('&');
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROP_REQUEST.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-auth-token'] = session.token.token;
    // The gateway's request id goes upstream as the global request id (oslo.middleware takes `req-<uuid>`).
    headers['x-openstack-request-id'] = ctx.requestId;
    let body: Readable | string | undefined;
    if (req.body instanceof Readable) {
      body = req.body;
      if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const stream = got.stream(`${root}${tail}`, {
      method: ctx.method as Method,
      headers,
      ...(body !== undefined ? { body } : {}),
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      decompress: false,
      timeout: { connect: 10_000, response: this.opts.config.timeoutMs },
    });
    // A got stream waits for a request body on every method but GET and HEAD: end it when there is none.
    if (body === undefined && ctx.method !== 'GET' && ctx.method !== 'HEAD') stream.end();
    const onAbort = () => stream.destroy();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise<typeof stream & { statusCode: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
        stream.once('response', (res: { statusCode: number; headers: IncomingHttpHeaders }) => {
          resolve(Object.assign(stream, { statusCode: res.statusCode, headers: res.headers }));
        });
        stream.once('error', reject);
      });
    } catch (err) {
      stream.destroy();
      throw unreachable(`The upstream ${service} service of region ${this.opts.region}`, err);
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async reply(
    service: ForwardedService, session: Session, req: ForwardRequest,
    res: Readable & { statusCode: number; headers: IncomingHttpHeaders },
  ): Promise<Reply> {
    const ctx = req.context;
    const root = session.roots.get(service)!;
    const swap = projectSwap(service, session, ctx);
    const rewrite = (s: string) => {
      if (swap && s === swap.upstream) return swap.caller;
      return s.startsWith(root) ? `${ctx.endpoint}${s.slice(root.length)}` : s;
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || DROP_RESPONSE.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (headers.location) headers.location = rewrite(headers.location);
    this.opts.logger.debug({ requestId: ctx.requestId, upstreamRequestId: headers['x-openstack-request-id'], status: res.statusCode }, 'forwarded');
    const type = String(res.headers['content-type'] ?? '');
    const length = Number(res.headers['content-length'] ?? NaN);
    if (req.context.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 || length === 0) {
      res.resume();
      if (req.context.method === 'HEAD' && res.headers['content-length']) headers['content-length'] = String(res.headers['content-length']);
      return new Reply(undefined, res.statusCode, headers);
    }
    if (/json/i.test(type)) {
      const text = await readAll(res, MAX_JSON_BYTES, `the upstream ${service} answer`);
      if (text === '') return new Reply(undefined, res.statusCode, headers);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        // A fault body that is not JSON goes back as it came; a success the client cannot parse is the upstream's failure.
        if (res.statusCode >= 400) return new Reply(Buffer.from(text), res.statusCode, headers);
        throw new Fault('backendError', `The upstream ${service} service of region ${this.opts.region} answered ${res.statusCode} with a body that is not JSON.`);
      }
      return new Reply(rewriteStrings(parsed, rewrite), res.statusCode, headers);
    }
    // Image data and anything else that is not JSON streams through.
    if (res.headers['content-length']) headers['content-length'] = String(res.headers['content-length']);
    return new Reply(res, res.statusCode, headers);
  }
}

/** The caller's project and the service account's, when calls under the account stand for the caller's project. */
function projectSwap(service: ForwardedService, session: Session, ctx: RequestContext): { caller: string; upstream: string } | undefined {
  const caller = ctx.auth?.projectId;
  const upstream = session.token.project?.id;
  if (!session.service || service === 'identity' || !caller || !upstream || caller === upstream) return undefined;
  return { caller, upstream };
}

/** The URL of a service in a catalog: by type, interface and region (the first region listed when none is named). */
export function pickEndpoint(catalog: readonly CatalogEntry[], types: readonly string[], iface: string, region: string | null): string | undefined {
  for (const type of types) {
    const entry = catalog.find((c) => c.type === type);
    const ep = entry?.endpoints.find((e) => e.interface === iface && (!region || (e.region_id ?? e.region) === region));
    if (ep) return ep.url;
  }
  return undefined;
}

/** Every string in a JSON value passed through `fn` (links, `Location`-like fields). */
export function rewriteStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => rewriteStrings(v, fn));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rewriteStrings(v, fn);
    return out;
  }
  return value;
}

async function readAll(stream: Readable, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        stream.destroy();
        throw new Fault('backendError', `${what} is larger than ${limit} bytes.`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof Fault) throw err;
    throw new Fault('backendError', `${what} broke off: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}
