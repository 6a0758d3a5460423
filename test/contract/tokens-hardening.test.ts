/**
 * Sealed tokens, from the outside: a valid project-scoped token, damaged in
 * every way we can think of, must be a 401 on every service (never a 200,
 * never a 500), in that service's own fault dialect, with Keystone's
 * WWW-Authenticate header; and as an X-Subject-Token on GET /v3/auth/tokens
 * it is a 404 in Keystone's `{"error": …}` shape, as real Keystone answers
 * for a subject token it cannot open, an expired or a revoked one
 * ("Could not recognize Fernet token (HTTP 404)", "Failed to validate token
 * (HTTP 404)": keystone.token.provider validate_token turns every failure into
 * TokenNotFound).
 *
 * Bounded: about 1,500 requests against one in-process gateway, 8 at a time.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRepository } from '../../src/identity/keys.js';
import { TokenSealer, newAuditId, type TokenClaims } from '../../src/identity/tokens.js';
import { startGateway, type Harness, type TestResponse } from '../helpers/gateway.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Style = 'keystone' | 'nova' | 'glance' | 'neutron' | 'placement';
/** `good`: what the untouched token gets (placement is 501 on the sandbox: authenticated, then not implemented). */
interface Endpoint { service: string; path: string; style: Style; good: number }

/** Why a response is not the 401 it should be, or undefined when it is. */
function not401(res: TestResponse, style: Style): string | undefined {
  if (res.status !== 401) return `status ${res.status}: ${res.text.slice(0, 160)}`;
  if (!/^Keystone uri="http:\/\/[^"]+\/identity"$/.test(res.headers.get('www-authenticate') ?? '')) {
    return `WWW-Authenticate ${JSON.stringify(res.headers.get('www-authenticate'))}`;
  }
  const j = res.json as Record<string, any> | undefined;
  const ok = (() => {
    switch (style) {
      case 'keystone': return j?.error?.code === 401 && j.error.title === 'Unauthorized' && typeof j.error.message === 'string';
      case 'nova': return j?.unauthorized?.code === 401 && typeof j.unauthorized.message === 'string' && Object.keys(j).length === 1;
      case 'glance': return j?.code === '401 Unauthorized' && j.title === 'Unauthorized' && typeof j.message === 'string';
      case 'neutron': return typeof j?.NeutronError?.type === 'string' && typeof j.NeutronError.message === 'string';
      case 'placement': return j?.errors?.[0]?.status === 401 && typeof j.errors[0].detail === 'string';
    }
  })();
  return ok ? undefined : `not a ${style} 401 body: ${res.text.slice(0, 160)}`;
}

/** Why a validate answer is not Keystone's 404 "could not find token", or undefined. */
function not404(res: TestResponse): string | undefined {
  const j = res.json as Record<string, any> | undefined;
  if (res.status !== 404) return `status ${res.status}: ${res.text.slice(0, 160)}`;
  if (!(j?.error?.code === 404 && j.error.title === 'Not Found' && /token/i.test(String(j.error.message)))) return `not a Keystone 404 body: ${res.text.slice(0, 160)}`;
  if (res.headers.get('x-subject-token') !== null) return 'a 404 echoes X-Subject-Token';
  return undefined;
}

/** Runs fn over items, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

/** One request written byte for byte on a socket (headers fetch would refuse to send); the status line's code, or the socket's fate. */
function rawRequest(url: string, path: string, headerName: string, value: Buffer): Promise<{ status: number | null; text: string }> {
  const u = new URL(url);
  return new Promise((ok) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let out = Buffer.alloc(0);
    const done = (note = '') => {
      const text = out.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      ok({ status: m ? Number(m[1]) : null, text: text + note });
    };
    socket.setTimeout(10_000, () => { socket.destroy(); done(' [timeout]'); });
    socket.on('data', (d: Buffer) => { out = Buffer.concat([out, d]); });
    socket.on('close', () => done());
    socket.on('error', (e) => done(` [${e.message}]`));
    socket.write(Buffer.concat([
      Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nAccept: application/json\r\nConnection: close\r\n${headerName}: `, 'latin1'),
      value, Buffer.from('\r\n\r\n', 'latin1'),
    ]));
  });
}

/** Every way we damage a token: label → damaged token string. */
function damaged(token: string): [string, string][] {
  const out: [string, string][] = [];
  const raw = Buffer.from(token, 'base64url');
  // Each byte of the sealed bytes flipped (version, key id, IV, ciphertext, tag).
  for (let i = 0; i < raw.length; i++) {
    const b = Buffer.from(raw);
    b[i] = b[i]! ^ 0x01;
    out.push([`raw byte ${i} ^ 0x01`, b.toString('base64url')]);
  }
  for (let i = 0; i < token.length; i++) {
    // Each character's low bit flipped (mostly still base64url, sometimes not: '-' → ',').
    out.push([`char ${i} ^ 0x01`, token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ 0x01) + token.slice(i + 1)]);
    // Each character changed to the next base64url character: a valid encoding
    // of other bytes, or, on the last character's unused low bits, a second
    // spelling of the same bytes, which must not be accepted either.
    const sub = B64URL[(B64URL.indexOf(token[i]!) + 1) % 64]!;
    out.push([`char ${i} ${token[i]}→${sub}`, token.slice(0, i) + sub + token.slice(i + 1)]);
  }
  // Truncated at every length (0: the header sent empty).
  for (let n = 0; n < token.length; n++) out.push([`truncated to ${n}`, token.slice(0, n)]);
  // Padded and extended.
  for (const [label, t] of [
    ['padded =', token + '='], ['padded ==', token + '=='], ['extended A', token + 'A'], ['extended AAAA', token + 'AAAA'],
    ['extended 3 bytes', Buffer.concat([raw, Buffer.from([0, 0, 0])]).toString('base64url')], ['doubled', token + token],
    ['prefixed A', 'A' + token], ['standard base64', raw.toString('base64')], ['dot appended', token + '.'],
    ['tag dropped', raw.subarray(0, raw.length - 16).toString('base64url')], ['tag only', raw.subarray(raw.length - 16).toString('base64url')],
    ['version 2', Buffer.concat([Buffer.from([2]), raw.subarray(1)]).toString('base64url')],
    ['key id 0', Buffer.concat([raw.subarray(0, 1), Buffer.alloc(4), raw.subarray(5)]).toString('base64url')],
    ['key id 2^32-1', Buffer.concat([raw.subarray(0, 1), Buffer.from([255, 255, 255, 255]), raw.subarray(5)]).toString('base64url')],
    ['all A, same length', 'A'.repeat(token.length)], ['4096 chars', 'A'.repeat(4096)], ['4097 chars', 'A'.repeat(4097)],
    ['12000 chars', (token + '_').repeat(Math.ceil(12_000 / (token.length + 1))).slice(0, 12_000)],
    ['Bearer prefix', `Bearer ${token}`], ['uuid', '8e3b6c6a5a8f4b8f9f0d2d6f3c1b2a10'], ['json', '{"u":"x"}'],
  ] as const) out.push([label, t]);
  return out;
}

describe('token hardening: damaged, foreign, expired and revoked tokens are 401 everywhere', function () {
  this.timeout(120_000);
  let h: Harness;
  let other: Harness | undefined;
  let token: string;
  let claims: TokenClaims;
  let endpoints: Endpoint[];
  const tmp: string[] = [];

  before(async () => {
    h = await startGateway();
    token = h.adminToken;
    // The gateway's own key repository (only `init` makes keys: keyDir defaults to <dataDir>/keys).
    claims = new TokenSealer(new KeyRepository(join(h.dataDir, 'keys')).load()).open(token);
    expect(claims.p, 'a project-scoped token').to.be.a('string');
    endpoints = [
      { service: 'identity', good: 200, path: '/identity/v3/projects', style: 'keystone' },
      { service: 'compute', good: 200, path: '/compute/v2.1/servers', style: 'nova' },
      { service: 'block-storage', good: 200, path: `/volume/v3/${claims.p}/volumes`, style: 'nova' },
      { service: 'image', good: 200, path: '/image/v2/images', style: 'glance' },
      { service: 'network', good: 200, path: '/network/v2.0/networks', style: 'neutron' },
      { service: 'placement', good: 501, path: '/placement/resource_providers', style: 'placement' },
    ];
  });

  after(async () => {
    await h?.close();
    await other?.close();
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  const call = (ep: Endpoint, t: string) => h.request('GET', ep.path, { token: null, headers: { 'x-auth-token': t } });
  const validate = (subject: string) => h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': subject } });

  /** Sends each token to every endpoint (or, when `rotate`, to one endpoint each, in turn) and lists what was not a 401. */
  async function expectAll401(tokens: [string, string][], rotate = false): Promise<void> {
    const jobs = tokens.flatMap(([label, t], i) => (rotate ? [endpoints[i % endpoints.length]!] : endpoints).map((ep) => ({ label, t, ep })));
    const failures: string[] = [];
    await pool(jobs, 8, async ({ label, t, ep }) => {
      const why = not401(await call(ep, t), ep.style);
      if (why) failures.push(`${label} on ${ep.service}: ${why}`);
    });
    expect(failures.sort(), `${failures.length} of ${jobs.length} not a 401`).to.deep.equal([]);
  }

  it('the untouched token is good on every service (the baseline the rest is measured against)', async () => {
    for (const ep of endpoints) expect((await call(ep, token)).status, ep.path).to.equal(ep.good);
    const v = await validate(token);
    expect(v.status).to.equal(200);
    expect(v.headers.get('x-subject-token')).to.equal(token);
  });

  it('every byte flipped, every character changed, every truncation, padding and extension: 401 in each service\'s dialect', async () => {
    const variants = damaged(token).filter(([, t]) => t !== token);
    expect(variants.length).to.be.greaterThan(3 * token.length);
    // Each variant to one service in turn: every service sees about a sixth of every kind of damage.
    await expectAll401(variants, true);
  });

  it('no header, and a header that is only whitespace: 401 on every service', async () => {
    const failures: string[] = [];
    for (const ep of endpoints) {
      const why = not401(await h.request('GET', ep.path, { token: null }), ep.style);
      if (why) failures.push(`no token on ${ep.service}: ${why}`);
    }
    expect(failures).to.deep.equal([]);
    await expectAll401([['empty', ''], ['spaces', '   '], ['tab', '\t']]);
  });

  it('non-ASCII tokens (UTF-8 and Latin-1 bytes on the wire): 401, never 500', async () => {
    const values: [string, Buffer][] = [
      ['utf-8 inside', Buffer.from(token.slice(0, 100) + 'é☃' + token.slice(100), 'utf8')],
      ['utf-8 appended', Buffer.from(token + '🔑', 'utf8')],
      ['latin-1 appended', Buffer.concat([Buffer.from(token, 'latin1'), Buffer.from([0xe9])])],
      ['only high bytes', Buffer.alloc(300, 0xff)],
      ['utf-8 whole', Buffer.from('токен'.repeat(40), 'utf8')],
    ];
    const failures: string[] = [];
    for (const [label, value] of values) {
      for (const ep of endpoints) {
        const res = await rawRequest(h.url, ep.path, 'X-Auth-Token', value);
        // 400 is a fair answer from the HTTP layer to bytes it will not take; a 2xx or 5xx is not.
        if (res.status !== 401 && res.status !== 400) failures.push(`${label} on ${ep.service}: ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status === 401 && !res.text.includes('WWW-Authenticate: Keystone uri=')) failures.push(`${label} on ${ep.service}: 401 without WWW-Authenticate`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('a 64 KB token header: 431 (or 400/401), never 500, and the gateway keeps serving', async () => {
    for (const ep of endpoints) {
      const res = await rawRequest(h.url, ep.path, 'X-Auth-Token', Buffer.from('A'.repeat(64 * 1024)));
      expect([400, 401, 431], `${ep.service}: ${res.text.slice(0, 200)}`).to.include(res.status);
    }
    const res = await rawRequest(h.url, '/identity/v3/auth/tokens', 'X-Subject-Token', Buffer.from('A'.repeat(64 * 1024)));
    expect([400, 404, 431], res.text.slice(0, 200)).to.include(res.status);
    expect((await call(endpoints[1]!, token)).status).to.equal(200);
  });

  it('a token sealed with another key (same key id, and an id the gateway has not got): 401', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-otherkeys-'));
    tmp.push(dir);
    const keys = new KeyRepository(join(dir, 'keys')).ensure();
    const foreign = new TokenSealer(keys);
    const sameId = foreign.seal({ ...claims, e: Date.now() + 3600_000 });
    expect(Buffer.from(sameId, 'base64url').readUInt32BE(1)).to.equal(1);
    keys.rotate(5);
    const newId = foreign.seal({ ...claims, e: Date.now() + 3600_000 });
    expect(Buffer.from(newId, 'base64url').readUInt32BE(1)).to.equal(2);
    await expectAll401([['foreign key, id 1', sameId], ['foreign key, id 2', newId]]);
    for (const t of [sameId, newId]) expect(not404(await validate(t))).to.equal(undefined);
  });

  it('a token sealed with the gateway\'s own key: good until its expiry, 401 after', async () => {
    const own = new TokenSealer(new KeyRepository(join(h.dataDir, 'keys')).load());
    // The forging path is right: the same claims with a future expiry pass…
    const fresh = own.seal({ ...claims, a: [newAuditId()], i: Date.now(), e: Date.now() + 600_000 });
    expect((await call(endpoints[1]!, fresh)).status).to.equal(200);
    // …and with a past expiry (just gone, and long gone) do not.
    const expired = [
      own.seal({ ...claims, a: [newAuditId()], i: Date.now() - 7200_000, e: Date.now() - 1000 }),
      own.seal({ ...claims, a: [newAuditId()], i: 0, e: 1 }),
    ];
    await expectAll401(expired.map((t, i) => [`expired ${i}`, t]));
    const res = await call(endpoints[0]!, expired[0]!);
    expect((res.json as { error: { message: string } }).error.message).to.match(/expired/i);
    for (const t of expired) expect(not404(await validate(t))).to.equal(undefined);
    // Claims that authenticate but make no sense (no user, wrong types) are a 401 too, not a 500.
    await expectAll401([
      ['unknown user', own.seal({ ...claims, u: 'no-such-user', a: [newAuditId()], e: Date.now() + 600_000 })],
      ['unknown project', own.seal({ ...claims, p: 'no-such-project', a: [newAuditId()], e: Date.now() + 600_000 })],
      ['expiry a string', own.seal({ ...claims, a: [newAuditId()], e: 'tomorrow' as unknown as number })],
    ], true);
  });

  it('a revoked token: 401 on every service, 404 on validate, and its revocation cannot be repeated', async () => {
    const t = await h.login('admin', h.adminPassword, 'admin');
    expect((await call(endpoints[1]!, t)).status).to.equal(200);
    const del = await h.request('DELETE', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': t } });
    expect(del.status).to.equal(204);
    await expectAll401([['revoked', t]]);
    expect(not404(await validate(t))).to.equal(undefined);
    expect(not404(await h.request('DELETE', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': t } }))).to.equal(undefined);
    // The one revoked is the only one: the harness's own token still works.
    expect((await call(endpoints[1]!, token)).status).to.equal(200);
  });

  it('a token from another deployment (its own keys) is a 401 here, and ours there', async () => {
    other = await startGateway();
    expect((await other.request('GET', '/compute/v2.1/servers')).status).to.equal(200);
    await expectAll401([['other deployment', other.adminToken]]);
    expect(not404(await validate(other.adminToken))).to.equal(undefined);
    const there = await other.request('GET', '/compute/v2.1/servers', { token });
    expect(not401(there, 'nova')).to.equal(undefined);
  });

  it('X-Subject-Token damaged (every byte flipped, every truncation): 404 "could not find token", as Keystone', async () => {
    const raw = Buffer.from(token, 'base64url');
    const subjects: [string, string][] = [];
    for (let i = 0; i < raw.length; i++) {
      const b = Buffer.from(raw);
      b[i] = b[i]! ^ 0x01;
      subjects.push([`raw byte ${i}`, b.toString('base64url')]);
    }
    for (let n = 1; n < token.length; n++) subjects.push([`truncated to ${n}`, token.slice(0, n)]);
    const last = token.length - 1;
    subjects.push(['last char +1', token.slice(0, last) + B64URL[(B64URL.indexOf(token[last]!) + 1) % 64]!]);
    subjects.push(['padded', token + '='], ['extended', token + 'A'], ['4097 chars', 'A'.repeat(4097)], ['garbage', 'not a token!']);
    const failures: string[] = [];
    await pool(subjects, 8, async ([label, s]) => {
      const why = not404(await validate(s));
      if (why) failures.push(`${label}: ${why}`);
    });
    expect(failures, `${failures.length} of ${subjects.length}`).to.deep.equal([]);
    // An empty subject is no token: Keystone's TokenNotFound ("No token in the request"), or a 400; never a 200 or 500.
    const empty = await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': '' } });
    expect([400, 404], empty.text).to.include(empty.status);
    expect((empty.json as { error?: { code?: number } }).error?.code).to.equal(empty.status);
  });

  it('a good subject with a damaged X-Auth-Token: 401 (the caller is not authenticated), not 404 or 200', async () => {
    const failures: string[] = [];
    const raw = Buffer.from(token, 'base64url');
    const bad: [string, string][] = [['truncated', token.slice(0, 100)], ['empty', '']];
    for (let i = 0; i < raw.length; i += 7) {
      const b = Buffer.from(raw);
      b[i] = b[i]! ^ 0x80;
      bad.push([`raw byte ${i}`, b.toString('base64url')]);
    }
    await pool(bad, 8, async ([label, t]) => {
      const res = await h.request('GET', '/identity/v3/auth/tokens', { token: null, headers: { 'x-auth-token': t, 'x-subject-token': token } });
      const why = not401(res, 'keystone');
      if (why) failures.push(`${label}: ${why}`);
    });
    expect(failures).to.deep.equal([]);
  });
});
