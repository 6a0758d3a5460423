/**
 * A CloudStack API simulator on 127.0.0.1 for the CloudStack driver's tests
 * and for the `cs` client: `GET|POST {endpoint}?command=…&apiKey=…&signature=…`
 * (`/client/api`), `response=json`, answers in `<command>response` envelopes,
 * errors with CloudStack's HTTP status = errorcode.
 *
 * Requests are verified as CloudStack's ApiServer.verifyRequest does it:
 * parameter names sorted as sent, each value re-encoded with Java's
 * URLEncoder (+ → %20), the string lower-cased, HMAC-SHA1 with the user's
 * secret key, base64, compared with `signature`; signatureVersion=3 needs an
 * `expires` in the future. A wrong signature is a 401 with errorcode 401.
 *
 * Fault knobs: delay answers, answer 503 pages, reset connections; async job
 * failures are in SimState.jobFailures.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { COMMANDS } from './commands.js';
import { CsError, SimState, type SimUser } from './state.js';

export interface CloudStackSimulatorFaults {
  delayMs: number;
  /** Answer the next N matching calls with a 503 HTML page, as a load balancer in front of a stopped management server. */
  unavailable: number;
  /** Reset the connection of the next N matching calls. */
  reset: number;
  /** Which commands the knobs apply to; all when unset. */
  only?: RegExp;
}

export interface SimulatorCall { command: string; apiKey: string | null; verified: boolean; params: Record<string, string> }

export interface CloudStackSimulator {
  /** API endpoint, as `cs` wants it (CLOUDSTACK_ENDPOINT). */
  readonly endpoint: string;
  readonly state: SimState;
  readonly faults: CloudStackSimulatorFaults;
  /** Every call received (faulted ones too), oldest first; the signature is not recorded. */
  readonly calls: SimulatorCall[];
  addUser(apiKey: string, secretKey: string, account: string): SimUser;
  close(): Promise<void>;
}

const PATH = '/client/api';

/** java.net.URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20"). */
function javaEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!~'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** CloudStack's check of a request: sorted, re-encoded, lower-cased, HMAC-SHA1, base64. */
export function verifySignature(params: [string, string][], secretKey: string): boolean {
  const sig = params.find(([k]) => k.toLowerCase() === 'signature')?.[1];
  if (!sig) return false;
  const unsigned = params
    .filter(([k]) => k.toLowerCase() !== 'signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${javaEncode(v)}`)
    .join('&')
    .toLowerCase();
  const computed = createHmac('sha1', secretKey).update(unsigned, 'utf8').digest();
  const given = Buffer.from(sig, 'base64');
  return given.length === computed.length && timingSafeEqual(given, computed);
}

/** `yyyy-MM-dd'T'HH:mm:ssZ` (CloudStack's expires format); NaN when it does not parse. */
function parseExpires(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)([+-])(\d\d)(\d\d)$/.exec(text);
  if (!m) return NaN;
  return Date.parse(`${m[1]}${m[2]}${m[3]}:${m[4]}`);
}

function answer(ctx: Koa.Context, command: string, status: number, inner: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=UTF-8';
  ctx.body = JSON.stringify({ [`${command.toLowerCase()}response`]: inner });
}

function fail(ctx: Koa.Context, command: string, code: number, text: string): void {
  answer(ctx, command || 'error', code, { uuidList: [], errorcode: code, errortext: text });
}

export async function startCloudStackSimulator(opts: { jobMs?: number } = {}): Promise<CloudStackSimulator> {
  const state = new SimState(opts.jobMs ?? 1000);
  const faults: CloudStackSimulatorFaults = { delayMs: 0, unavailable: 0, reset: 0 };
  const calls: SimulatorCall[] = [];
  const app = new Koa();
  app.silent = true;

  app.use(async (ctx) => {
    if (ctx.path !== PATH) { ctx.status = 404; ctx.type = 'text/html'; ctx.body = '<html><body>HTTP Status 404 – Not Found</body></html>'; return; }
    // Parameters as the servlet sees them: the query string, and a form body for POST.
    const pairs: [string, string][] = [...new URLSearchParams(ctx.querystring).entries()];
    if (ctx.method === 'POST') {
      const text = await getRawBody(ctx.req, { encoding: 'utf8', limit: '1mb' });
      pairs.push(...new URLSearchParams(text).entries());
    }
    const params: Record<string, string> = {};
    for (const [k, v] of pairs) if (!(k.toLowerCase() in params)) params[k.toLowerCase()] = v;
    const command = params.command ?? '';

    const user = params.apikey ? state.users.get(params.apikey) : undefined;
    let verified = Boolean(user) && verifySignature(pairs, user!.secretKey);
    if (verified && params.signatureversion === '3') {
      const expires = params.expires ? parseExpires(params.expires) : NaN;
      if (!(expires > Date.now())) verified = false; // missing, unreadable or past: CloudStack refuses the request
    }
    const recorded = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'signature'));
    calls.push({ command, apiKey: params.apikey ?? null, verified, params: recorded });

    const matches = !faults.only || faults.only.test(command);
    if (matches && faults.delayMs > 0) await new Promise((res) => setTimeout(res, faults.delayMs));
    if (matches && faults.reset > 0) { faults.reset--; ctx.respond = false; ctx.req.socket.destroy(); return; }
    if (matches && faults.unavailable > 0) {
      faults.unavailable--;
      ctx.status = 503; ctx.type = 'text/html'; ctx.body = '<html><body><h1>503 Service Unavailable</h1></body></html>';
      return;
    }
    if (!verified) { fail(ctx, command, 401, 'unable to verify user credentials and/or request signature'); return; }
    if (params.response !== 'json') { fail(ctx, command, 431, 'The simulator answers JSON only: send response=json'); return; }
    const handler = COMMANDS[command.toLowerCase()];
    if (!handler) { fail(ctx, command, 432, `The given command:${command} does not exist or it is not available for user`); return; }
    state.tick(); // jobs whose time has come are done before anything is read
    let result;
    try {
      result = handler(state, user!, params);
    } catch (err) {
      if (err instanceof CsError) { fail(ctx, command, err.code, err.message); return; }
      throw err;
    }
    if ('list' in result) {
      const page = Number(params.page ?? 1);
      const size = Number(params.pagesize ?? 0);
      const items = size > 0 ? result.list.slice((page - 1) * size, page * size) : result.list;
      answer(ctx, command, 200, result.list.length ? { count: result.list.length, [result.key]: items } : {});
    } else {
      answer(ctx, command, 200, result.one);
    }
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${PATH}`,
    state,
    faults,
    calls,
    addUser: (k, s, a) => state.addUser(k, s, a),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
