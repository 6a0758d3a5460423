/**
 * Token issue and validate through the real HTTP API, driven by wrk with 8
 * connections in flight, against a bare Koa route (validate) and Debian's
 * Keystone 22 on loopback (both), each side in its own process, in turn.
 *
 *   validate      GET /v3/auth/tokens?nocatalog with X-Auth-Token and
 *                 X-Subject-Token (the same token), as keystonemiddleware asks
 *   issue, repeat POST /v3/auth/tokens with the same user's password again and
 *                 again: the openstack CLI's login on every command, which the
 *                 verified-password cache answers without scrypt after the first
 *   issue, first  the same with identity.passwordCacheSeconds 0 (a second
 *                 gateway process on the same data dir): every login pays
 *                 scrypt (N=2^14), as a user's first login does
 *
 * Keystone checks bcrypt (cost 12, its default) on every login: it has no
 * such cache, so its one issue rate stands for both.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { BENCH_PASSWORD, startGateway, type BenchGateway } from './gateway.js';
import { BARE_KOA, log, median, round, start } from './lib.js';
import { alternate, wrk, type WrkRequest, type WrkResult } from './wrk.js';
import { startUpstreamOpenStack, upstreamAvailable, type UpstreamOpenStack } from '../../test/helpers/upstream-openstack.js';

export interface TokenBenchOptions {
  dir: string;
  config: string;
  /** Alternating rounds, and seconds of each wrk run. */
  rounds: number;
  seconds: number;
}

const CONNECTIONS = 8;

function passwordBody(user: string, password: string, project: string): string {
  return JSON.stringify({ auth: {
    identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
    scope: { project: { name: project, domain: { id: 'default' } } },
  } });
}

/** Keystone's paths under `prefix` ('/identity' on the gateway, '' on Keystone). */
const issueRequest = (prefix: string, body: string): WrkRequest => ({ method: 'POST', path: `${prefix}/v3/auth/tokens`, headers: { 'Content-Type': 'application/json' }, body });
const validateRequest = (prefix: string, token: string): WrkRequest => ({ path: `${prefix}/v3/auth/tokens?nocatalog`, headers: { 'X-Auth-Token': token, 'X-Subject-Token': token } });

/** A copy of the bench config with the verified-password cache off, in the same directory (dataDir is relative to it). */
function withoutPasswordCache(config: string): string {
  const doc = (YAML.parse(readFileSync(config, 'utf8')) ?? {}) as Record<string, Record<string, unknown> | undefined>;
  doc.identity = { ...doc.identity, passwordCacheSeconds: 0 };
  const out = join(config, '..', 'stackgate-no-password-cache.yaml');
  writeFileSync(out, YAML.stringify(doc));
  return out;
}

const rate = (runs: WrkResult[]) => median(runs.map((r) => r.perSecond));

async function keystoneSide(): Promise<{ u: UpstreamOpenStack; token: string; body: string } | undefined> {
  if (!upstreamAvailable()) {
    log('tokens: Debian keystone is not installed (apt-get install keystone): no Keystone baseline');
    return undefined;
  }
  // Keystone at its production password hashing: bcrypt cost 12, its default.
  const u = await startUpstreamOpenStack({ passwordHashRounds: 12 });
  const body = passwordBody(u.admin.username, u.admin.password, u.admin.projectName);
  const res = await fetch(`${u.keystoneUrl}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`bench Keystone login: ${res.status}`);
  return { u, token, body };
}

export async function benchTokens(o: TokenBenchOptions): Promise<Record<string, unknown>> {
  const gws: BenchGateway[] = [];
  let bare: Awaited<ReturnType<typeof start>> | undefined;
  let ks: Awaited<ReturnType<typeof keystoneSide>> = undefined;
  try {
    const g = await startGateway(o.config);
    gws.push(g);
    const first = await startGateway(withoutPasswordCache(o.config));
    gws.push(first);
    bare = await start(['--input-type=module', '-e', BARE_KOA]);
    ks = await keystoneSide();
    const body = passwordBody('admin', BENCH_PASSWORD, 'admin');
    const run = (url: string, req: WrkRequest) => () => wrk({ base: url, requests: [req], seconds: o.seconds, connections: CONNECTIONS });
    const sides: Record<string, () => Promise<WrkResult>> = {
      validate: run(g.url, validateRequest('/identity', g.token)),
      bare: run(bare.url, { path: '/' }),
      issueRepeat: run(g.url, issueRequest('/identity', body)),
      issueFirst: run(first.url, issueRequest('/identity', body)),
    };
    if (ks) {
      sides.keystoneValidate = run(ks.u.keystoneUrl, validateRequest('', ks.token));
      sides.keystoneIssue = run(ks.u.keystoneUrl, issueRequest('', ks.body));
    }
    const r = await alternate(o.rounds, sides);
    const validate = rate(r.validate!), bareRate = rate(r.bare!), repeat = rate(r.issueRepeat!), firstRate = rate(r.issueFirst!);
    const tokens: Record<string, unknown> = {
      validatePerSecond: Math.round(validate), bareKoaPerSecond: Math.round(bareRate), validateVsBare: round(validate / bareRate, 2),
      repeatIssuePerSecond: Math.round(repeat), issuePerSecond: Math.round(firstRate),
      validateP50Ms: round(median(r.validate!.map((x) => x.p50Ms)), 2),
      connections: CONNECTIONS, rounds: o.rounds, secondsPerRun: o.seconds,
      note: 'wrk -c 8 -t 1 on loopback, each side its own process, runs in turn; validate: GET /identity/v3/auth/tokens?nocatalog (X-Auth-Token = X-Subject-Token); '
        + 'issue: POST /identity/v3/auth/tokens, password, project scope, with catalog. repeatIssue: the same login again and again (the verified-password cache answers it, '
        + 'identity.passwordCacheSeconds 300); issue: the first-login rate, a second gateway process with the cache off (scrypt N=2^14 per login)',
    };
    log(`tokens: validate ${Math.round(validate)}/s  bare Koa ${Math.round(bareRate)}/s  ratio ${round(validate / bareRate, 2)}`);
    log(`tokens: issue, repeat login (password cache) ${Math.round(repeat)}/s   first login (scrypt) ${Math.round(firstRate)}/s`);
    if (ks) {
      const kv = rate(r.keystoneValidate!), ki = rate(r.keystoneIssue!);
      Object.assign(tokens, {
        keystoneValidatePerSecond: round(kv), keystoneIssuePerSecond: round(ki),
        validateVsKeystone: round(validate / kv), repeatIssueVsKeystone: round(repeat / ki), issueVsKeystone: round(firstRate / ki),
        keystone: 'Debian keystone 22, keystone-wsgi-public (one process), sqlite WAL, fernet, bcrypt cost 12 (its default) on every login, in-memory cache',
        keystoneTarget: 10,
      });
      log(`tokens: Keystone validate ${round(kv)}/s (stackgate ×${round(validate / kv)})  issue ${round(ki)}/s (stackgate ×${round(repeat / ki)} repeat login, ×${round(firstRate / ki)} first login)  (target ≥ 10)`);
    }
    return { tokens };
  } finally {
    for (const g of gws) await g.stop();
    await bare?.stop();
    await ks?.u.stop();
  }
}
