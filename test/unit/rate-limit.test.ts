/** src/hooks/rate-limit: token buckets per caller and class, answered as Nova's overLimit. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import Koa from 'koa';
import { SERVICES } from '../../generated/services.js';
import type { AuthContext } from '../../generated/common.js';
import { faultHook } from '../../src/hooks/faults.js';
import {
  MemoryRateLimitStore, rateLimitHook, routeClass,
  type RateLimitOptions, type RateLimitRule, type RateLimitStore, type RouteClass,
} from '../../src/hooks/rate-limit.js';
import { createLogger } from '../../src/log.js';
import type { GatewayState } from '../../src/state.js';

const compute = SERVICES.find((s) => s.name === 'compute')!;

/** An auth context for a test caller; only the fields the limiter reads matter. */
function authFor(projectId: string | undefined, userId: string): AuthContext {
  return { userId, userName: userId, userDomainId: 'default', projectId, roles: [], isAdmin: false, auditId: 'a', expiresAt: '' };
}

interface TestServer { url: string; close(): Promise<void> }

/** faults → fake service/auth context (from X-Test-Project / X-Test-User) → limiter → 200. */
async function serve(opts: RateLimitOptions): Promise<TestServer> {
  const app = new Koa<GatewayState>({ proxy: true }); // proxy: ctx.ip from X-Forwarded-For, to fake addresses
  app.silent = true;
  app.use(faultHook(createLogger('silent')));
  app.use(async (ctx, next) => {
    ctx.state.service = compute;
    const project = ctx.get('x-test-project');
    const user = ctx.get('x-test-user');
    ctx.state.auth = project || user ? authFor(project || undefined, user || 'u-1') : null;
    await next();
  });
  app.use(rateLimitHook(opts));
  app.use((ctx) => { ctx.body = { ok: true }; });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

describe('rate limit', () => {
  const rules: Record<RouteClass, RateLimitRule> = {
    read: { rate: 2, burst: 4 },
    write: { rate: 1, burst: 3 },
    auth: { rate: 0.25, burst: 2 },
  };
  let clock = 0;
  let srv: TestServer;
  beforeEach(async () => {
    clock = 1_000_000;
    srv = await serve({ rules, now: () => clock });
  });
  afterEach(() => srv.close());

  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    fetch(srv.url + path, { method, headers: { accept: 'application/json', ...headers } });
  /** Status codes of n sequential calls. */
  async function statuses(n: number, method: string, path: string, headers: Record<string, string> = {}) {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await call(method, path, headers);
      await res.arrayBuffer();
      out.push(res.status);
    }
    return out;
  }
  const projA = { 'x-test-project': 'proj-a' };
  const projB = { 'x-test-project': 'proj-b' };

  it('allows the burst, then answers 429 overLimit with Retry-After', async () => {
    expect(await statuses(3, 'POST', '/compute/v2.1/servers', projA)).to.deep.equal([200, 200, 200]);
    const res = await call('POST', '/compute/v2.1/servers', projA);
    expect(res.status).to.equal(429);
    expect(res.headers.get('retry-after')).to.equal('1');
    expect(await res.json()).to.deep.equal({
      overLimit: {
        code: 429,
        message: 'This request was rate-limited. Only 1 write requests per second are allowed for this project; retry after 1 seconds.',
      },
    });
  });

  it('refills over time: one token per 1/rate seconds, never above burst', async () => {
    await statuses(3, 'POST', '/compute/v2.1/servers', projA);
    clock += 999;
    expect(await statuses(1, 'POST', '/compute/v2.1/servers', projA)).to.deep.equal([429]);
    clock += 1; // exactly one second since the bucket emptied: one token
    expect(await statuses(2, 'POST', '/compute/v2.1/servers', projA)).to.deep.equal([200, 429]);
    clock += 3_600_000; // an hour refills to burst (3), not to 3600
    expect(await statuses(4, 'POST', '/compute/v2.1/servers', projA)).to.deep.equal([200, 200, 200, 429]);
  });

  it('Retry-After is the whole seconds until one token is back', async () => {
    const auth = { 'x-forwarded-for': '10.0.0.9' };
    expect(await statuses(2, 'POST', '/identity/v3/auth/tokens', auth)).to.deep.equal([200, 200]);
    let res = await call('POST', '/identity/v3/auth/tokens', auth); // rate 0.25/s: 4 s per token
    expect(res.status).to.equal(429);
    expect(res.headers.get('retry-after')).to.equal('4');
    clock += 1500; // 0.375 tokens; 0.625 to go at 0.25/s = 2.5 s → 3
    res = await call('POST', '/identity/v3/auth/tokens', auth);
    expect(res.headers.get('retry-after')).to.equal('3');
    clock += 2400; // 0.975 tokens: still short, and Retry-After never says 0
    res = await call('POST', '/identity/v3/auth/tokens', auth);
    expect(res.status).to.equal(429);
    expect(res.headers.get('retry-after')).to.equal('1');
  });

  it('keeps separate buckets per project and per class', async () => {
    await statuses(3, 'POST', '/compute/v2.1/servers', projA);
    expect(await statuses(1, 'DELETE', '/compute/v2.1/servers/x', projA)).to.deep.equal([429]); // same class
    expect(await statuses(3, 'POST', '/compute/v2.1/servers', projB)).to.deep.equal([200, 200, 200]);
    expect(await statuses(5, 'GET', '/compute/v2.1/servers', projA)).to.deep.equal([200, 200, 200, 200, 429]);
    const res = await call('GET', '/compute/v2.1/servers', projA);
    expect((await res.json()).overLimit.message).to.contain('Only 2 read requests per second');
  });

  it('keys token issue by client address, whatever the project', async () => {
    const a1 = { 'x-forwarded-for': '10.0.0.1', ...projA };
    const a1OtherProject = { 'x-forwarded-for': '10.0.0.1', ...projB };
    const a2 = { 'x-forwarded-for': '10.0.0.2', ...projA };
    expect(await statuses(2, 'POST', '/identity/v3/auth/tokens', a1)).to.deep.equal([200, 200]);
    expect(await statuses(1, 'POST', '/identity/v2.0/tokens', a1OtherProject)).to.deep.equal([429]);
    expect(await statuses(2, 'POST', '/identity/v3/auth/tokens', a2)).to.deep.equal([200, 200]);
    const res = await call('POST', '/identity/v3/auth/tokens/', a1); // a trailing slash is no way around it
    expect(res.status).to.equal(429);
    expect((await res.json()).overLimit.message).to.contain('auth requests per second are allowed from this address');
    // Token validation is a read, not an auth attempt.
    expect(await statuses(1, 'GET', '/identity/v3/auth/tokens', a1)).to.deep.equal([200]);
  });

  it('falls back to the user, then the address, when there is no project', async () => {
    const userOnly = { 'x-test-user': 'u-9', 'x-forwarded-for': '10.0.0.3' };
    const anonymous = { 'x-forwarded-for': '10.0.0.3' };
    expect(await statuses(4, 'POST', '/compute/v2.1/servers', userOnly)).to.deep.equal([200, 200, 200, 429]);
    expect(await statuses(4, 'POST', '/compute/v2.1/servers', anonymous)).to.deep.equal([200, 200, 200, 429]);
  });
});

describe('rate limit store and classes', () => {
  it('routeClass: token issue is auth, safe methods read, the rest write', () => {
    expect(routeClass('POST', '/identity/v3/auth/tokens')).to.equal('auth');
    expect(routeClass('post', '/identity/v2.0/tokens/')).to.equal('auth');
    expect(routeClass('GET', '/identity/v3/auth/tokens')).to.equal('read');
    expect(routeClass('DELETE', '/identity/v3/auth/tokens')).to.equal('write');
    expect(routeClass('POST', '/identity/v3/auth/tokens/OS-PKI/revoked')).to.equal('write');
    expect(routeClass('HEAD', '/compute/v2.1/servers')).to.equal('read');
    expect(routeClass('OPTIONS', '/compute/v2.1/servers')).to.equal('read');
    expect(routeClass('PATCH', '/network/v2.0/ports/p')).to.equal('write');
  });

  it('asks the store with `${class}:${who}` keys', async () => {
    const keys: string[] = [];
    const store: RateLimitStore = { async take(key) { keys.push(key); return { allowed: true, retryAfterSeconds: 0 }; } };
    const srv = await serve({ rules: { read: { rate: 1, burst: 1 }, write: { rate: 1, burst: 1 }, auth: { rate: 1, burst: 1 } }, store });
    try {
      const send = (method: string, path: string, headers: Record<string, string>) =>
        fetch(srv.url + path, { method, headers }).then((r) => r.arrayBuffer());
      await send('GET', '/compute/v2.1/servers', { 'x-test-project': 'p1', 'x-forwarded-for': '10.1.1.1' });
      await send('PUT', '/compute/v2.1/servers/s', { 'x-test-user': 'u1', 'x-forwarded-for': '10.1.1.1' });
      await send('POST', '/identity/v3/auth/tokens', { 'x-test-project': 'p1', 'x-forwarded-for': '10.1.1.2' });
      await send('DELETE', '/compute/v2.1/servers/s', { 'x-forwarded-for': '10.1.1.3' });
    } finally {
      await srv.close();
    }
    expect(keys).to.deep.equal(['read:p1', 'write:u1', 'auth:10.1.1.2', 'write:10.1.1.3']);
  });

  it('refuses rules that could never or always refuse', () => {
    const ok = { rate: 1, burst: 1 };
    expect(() => rateLimitHook({ rules: { read: ok, write: { rate: 0, burst: 5 }, auth: ok } })).to.throw(/write: rate must be > 0/);
    expect(() => rateLimitHook({ rules: { read: { rate: 1, burst: 0.5 }, write: ok, auth: ok } })).to.throw(/read:/);
  });

  it('memory store evicts buckets once they have refilled', async () => {
    const store = new MemoryRateLimitStore(1000);
    const rule = { rate: 1, burst: 5 };
    for (let i = 0; i < 1000; i++) await store.take(`write:p${i}`, rule, 0); // each full at 1 s
    for (let i = 0; i < 5; i++) await store.take('write:busy', rule, 0); // empty: full at 5 s
    expect(store.size).to.equal(1001);
    await store.take('write:late', rule, 2000);
    expect(store.size).to.equal(2); // busy (still refilling) and late
    // The kept bucket kept its level: 2 tokens back after 2 s, so the third take fails.
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await store.take('write:busy', rule, 2000)).allowed);
    expect(got).to.deep.equal([true, true, false]);
    await store.take('write:other', rule, 60_000);
    expect(store.size).to.equal(1);
  });

  it('memory store: a clock stepping back mints no tokens', async () => {
    const store = new MemoryRateLimitStore();
    const rule = { rate: 1, burst: 1 };
    expect((await store.take('k', rule, 10_000)).allowed).to.equal(true);
    const r = await store.take('k', rule, 5_000);
    expect(r).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
  });
});
