/**
 * A SoftLayer REST API simulator on 127.0.0.1 for the SoftLayer driver's tests
 * and for slcli: `{endpoint}/SoftLayer_Service[/{id}]/{method}.json` with HTTP
 * basic auth (username, API key), `objectMask`, `objectFilter`,
 * `resultLimit=offset,limit` and the `SoftLayer-Total-Items` header, errors as
 * `{"error": …, "code": "SoftLayer_Exception_…"}`.
 *
 * Fault knobs make the next calls slow, 500, reset the connection or answer
 * malformed JSON, so the driver's error mapping can be tested.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { MaskSyntaxError, applyFilter, applyMask, parseMask, type FilterNode, type MaskTree, type View } from './mask.js';
import { SimState, SoftLayerFault, type SimUser, type Timing } from './state.js';
import { findHandler } from './services.js';

export interface SimulatorFaults {
  /** Delay every matching answer by this much. */
  delayMs: number;
  /** Answer the next N matching calls with a 500 (an HTML error page, as a load balancer would). */
  fail500: number;
  /** Reset the connection of the next N matching calls. */
  reset: number;
  /** Answer the next N matching calls with truncated JSON. */
  malformed: number;
  /** Which calls the knobs apply to (`SoftLayer_Account::getVirtualGuests`); all when unset. */
  only?: RegExp;
}

export interface SimulatorCall { service: string; method: string; id: number | null; httpMethod: string; username: string | null; mask: string | null; filter: string | null }

export interface SoftLayerSimulator {
  /** REST endpoint, as slcli's `endpoint_url` wants it (contains `/rest/`). */
  readonly endpoint: string;
  readonly state: SimState;
  readonly faults: SimulatorFaults;
  /** Every call answered, oldest first. */
  readonly calls: SimulatorCall[];
  addUser(username: string, apiKey: string, accountId: number): SimUser;
  close(): Promise<void>;
}

const PREFIX = '/rest/v3.1/';

function error(ctx: Koa.Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ error: message, code });
}

function basicAuth(header: string | undefined): { username: string; apiKey: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { username: text.slice(0, i), apiKey: text.slice(i + 1) };
}

/** `Svc/123/method.json`, `Svc/method.json`, `Svc/123.json` (getObject), `Svc.json`. */
function route(path: string, httpMethod: string): { service: string; id: number | null; method: string } | null {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || parts.length > 3) return null;
  const last = parts[parts.length - 1]!.replace(/\.json$/, '');
  parts[parts.length - 1] = last;
  const byVerb = httpMethod === 'PUT' ? 'editObject' : httpMethod === 'DELETE' ? 'deleteObject' : 'getObject';
  if (parts.length === 3) return /^\d+$/.test(parts[1]!) ? { service: parts[0]!, id: Number(parts[1]), method: parts[2]! } : null;
  if (parts.length === 2) {
    return /^\d+$/.test(parts[1]!) ? { service: parts[0]!, id: Number(parts[1]), method: byVerb } : { service: parts[0]!, id: null, method: parts[1]! };
  }
  return { service: parts[0]!, id: null, method: httpMethod === 'POST' ? 'createObject' : byVerb };
}

export async function startSoftLayerSimulator(opts: Partial<Timing> & { users?: { username: string; apiKey: string; accountId: number }[] } = {}): Promise<SoftLayerSimulator> {
  const state = new SimState({ provisionMs: opts.provisionMs ?? 1500, transactionMs: opts.transactionMs ?? 500, cancelMs: opts.cancelMs ?? 500 });
  for (const u of opts.users ?? []) state.addUser(u.username, u.apiKey, u.accountId);
  const faults: SimulatorFaults = { delayMs: 0, fail500: 0, reset: 0, malformed: 0 };
  const calls: SimulatorCall[] = [];
  const app = new Koa();
  app.silent = true;

  app.use(async (ctx) => {
    if (!ctx.path.startsWith(PREFIX)) { error(ctx, 404, 'SoftLayer_Exception_Public', `Unknown path ${ctx.path}`); return; }
    const r = route(ctx.path.slice(PREFIX.length), ctx.method);
    if (!r) { error(ctx, 404, 'SoftLayer_Exception_Public', `Unknown path ${ctx.path}`); return; }
    const service = r.service.startsWith('SoftLayer_') ? r.service : `SoftLayer_${r.service}`;
    const creds = basicAuth(ctx.get('authorization'));
    const query = ctx.query as Record<string, string | undefined>;
    calls.push({ service, method: r.method, id: r.id, httpMethod: ctx.method, username: creds?.username ?? null, mask: query.objectMask ?? null, filter: query.objectFilter ?? null });

    const matches = !faults.only || faults.only.test(`${service}::${r.method}`);
    if (matches && faults.delayMs > 0) await new Promise((res) => setTimeout(res, faults.delayMs));
    if (matches && faults.reset > 0) {
      faults.reset--;
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    if (matches && faults.fail500 > 0) {
      faults.fail500--;
      ctx.status = 500;
      ctx.type = 'text/html';
      ctx.body = '<html><body><h1>500 Internal Server Error</h1></body></html>';
      return;
    }

    const user = creds ? state.users.get(creds.username) : undefined;
    if (!creds || !user || user.apiKey !== creds.apiKey) {
      error(ctx, 401, 'SoftLayer_Exception_Public', 'Access Denied. ');
      return;
    }
    const handler = findHandler(service, r.method);
    if (!handler) {
      error(ctx, 404, 'SoftLayer_Exception_Public', `Function ("${r.method}") is not a valid method for this service.`);
      return;
    }
    let params: unknown[] = [];
    if (ctx.method === 'POST' || ctx.method === 'PUT') {
      const text = await getRawBody(ctx.req, { encoding: 'utf8', limit: '1mb' });
      if (text.trim()) {
        try {
          const body = JSON.parse(text) as { parameters?: unknown };
          params = Array.isArray(body.parameters) ? body.parameters : [];
        } catch {
          error(ctx, 500, 'SoftLayer_Exception_Public', 'Unable to parse the request body as JSON.');
          return;
        }
      }
    }
    let mask: MaskTree | null = null;
    let filter: FilterNode | null = null;
    try {
      if (query.objectMask) mask = parseMask(query.objectMask);
      if (query.objectFilter) filter = JSON.parse(query.objectFilter) as FilterNode;
    } catch (err) {
      const msg = err instanceof MaskSyntaxError ? err.message : 'Unable to parse object filter.';
      error(ctx, 500, 'SoftLayer_Exception_Public', msg);
      return;
    }
    state.tick();
    let answer;
    try {
      answer = handler(state, { user, id: r.id, params });
    } catch (err) {
      if (err instanceof SoftLayerFault) { error(ctx, err.status, err.code, err.message); return; }
      throw err;
    }
    let body: unknown;
    if ('list' in answer) {
      // Account::getVirtualGuests filters are keyed by the relation (`virtualGuests`).
      const relation = r.method.replace(/^get/, '').replace(/^./, (ch) => ch.toLowerCase());
      const scoped = filter && Object.keys(filter).length === 1 && filter[relation] && typeof filter[relation] === 'object' ? filter[relation] as FilterNode : filter;
      const all = applyFilter(answer.list, scoped);
      let page: View[] = all;
      const limit = /^(\d+),(\d+)$/.exec(query.resultLimit ?? '');
      if (limit) {
        const offset = Number(limit[1]);
        const count = Number(limit[2]);
        page = all.slice(offset, count > 0 ? offset + count : undefined);
      }
      ctx.set('SoftLayer-Total-Items', String(all.length));
      body = page.map((v) => applyMask(v, mask));
    } else if ('one' in answer) {
      body = applyMask(answer.one, mask);
    } else {
      body = answer.raw;
    }
    ctx.status = 200;
    ctx.type = 'application/json';
    const text = JSON.stringify(body);
    if (matches && faults.malformed > 0) {
      faults.malformed--;
      ctx.body = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
      return;
    }
    ctx.body = text;
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/rest/v3.1`,
    state,
    faults,
    calls,
    addUser: (u, k, a) => state.addUser(u, k, a),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
