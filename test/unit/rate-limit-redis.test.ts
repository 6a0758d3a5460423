/**
 * src/hooks/rate-limit: the Redis bucket (one Lua script on Redis's clock)
 * against a real redis-server on loopback, its fail-open fallback, and the
 * config that selects it.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import Koa from 'koa';
import { createClient } from 'redis';
import { SERVICES } from '../../generated/services.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { faultHook } from '../../src/hooks/faults.js';
import { RedisRateLimitStore, createRateLimitStore, rateLimitHook, MemoryRateLimitStore, type RateLimitRule } from '../../src/hooks/rate-limit.js';
import { createLogger } from '../../src/log.js';
import type { GatewayState } from '../../src/state.js';
import { REDIS_SERVER, freePort, startRedis } from '../helpers/redis.js';

/** Collects what the store logs. */
function recorder() {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => { lines.push({ level: 'warn', msg, obj }); },
    info: (obj: object, msg: string) => { lines.push({ level: 'info', msg, obj }); },
  };
}

describe('rate limit: Redis store', function () {
  this.timeout(30_000);
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let raw: ReturnType<typeof createClient>;
  const stores: RedisRateLimitStore[] = [];
  let n = 0;
  /** A fresh key prefix per test, so buckets never carry over. */
  let prefix: string;

  before(async function () {
    if (!existsSync(REDIS_SERVER)) this.skip();
    redis = await startRedis();
    raw = createClient({ url: redis.url });
    await raw.connect();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    if (raw?.isOpen) raw.destroy();
    await redis?.stop();
  });
  beforeEach(() => { prefix = `t${++n}:`; });

  async function open(opts: Partial<Parameters<typeof RedisRateLimitStore.open>[0]> = {}): Promise<RedisRateLimitStore> {
    const s = await RedisRateLimitStore.open({ url: redis.url, keyPrefix: prefix, ...opts });
    stores.push(s);
    return s;
  }
  const take = async (s: RedisRateLimitStore, key: string, rule: RateLimitRule, times = 1) => {
    const out = [];
    for (let i = 0; i < times; i++) out.push(await s.take(key, rule, 0));
    return out;
  };
  /** Redis's clock in microseconds. */
  const redisNowUs = async () => {
    const [s, us] = (await raw.sendCommand(['TIME'])) as [string, string];
    return Number(s) * 1_000_000 + Number(us);
  };

  it('allows the burst, then refuses with Retry-After', async () => {
    const s = await open();
    const rule = { rate: 1, burst: 3 };
    const got = await take(s, 'write:p', rule, 4);
    expect(got.map((r) => r.allowed)).to.deep.equal([true, true, true, false]);
    expect(got[3]).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
    expect(s.isDegraded).to.equal(false);
    // The bucket is a hash under the prefix, on Redis's side.
    const h = await raw.hGetAll(`${prefix}write:p`);
    expect(Number(h.tokens)).to.be.lessThan(0.1);
    expect(Number(h.updated)).to.be.closeTo(await redisNowUs(), 5_000_000);
  });

  it('refills at rate on Redis\'s clock, never above burst', async () => {
    const s = await open();
    const rule = { rate: 10, burst: 2 };
    expect((await take(s, 'read:p', rule, 3)).map((r) => r.allowed)).to.deep.equal([true, true, false]);
    await sleep(130); // 1.3 tokens
    expect((await take(s, 'read:p', rule, 2)).map((r) => r.allowed)).to.deep.equal([true, false]);
    // An hour ago with an empty bucket: refills to burst (2), not to 36,000.
    await raw.hSet(`${prefix}read:p`, { tokens: '0', updated: String(await redisNowUs() - 3_600_000_000) });
    expect((await take(s, 'read:p', rule, 3)).map((r) => r.allowed)).to.deep.equal([true, true, false]);
  });

  it('Retry-After is the whole seconds until one token is back, never 0', async () => {
    const s = await open();
    const rule = { rate: 0.25, burst: 1 };
    expect((await take(s, 'auth:10.0.0.1', rule, 2))[1]).to.deep.equal({ allowed: false, retryAfterSeconds: 4 });
    // 0.3 tokens now: 0.7 to go at 0.25/s = 2.8 s → 3.
    await raw.hSet(`${prefix}auth:10.0.0.1`, { tokens: '0.3', updated: String(await redisNowUs()) });
    expect((await take(s, 'auth:10.0.0.1', rule))[0]).to.deep.equal({ allowed: false, retryAfterSeconds: 3 });
    await raw.hSet(`${prefix}auth:10.0.0.1`, { tokens: '0.999', updated: String(await redisNowUs()) });
    expect((await take(s, 'auth:10.0.0.1', rule))[0]).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
  });

  it('a clock in the future (a bucket written by a skewed writer) mints no tokens', async () => {
    const s = await open();
    const rule = { rate: 1, burst: 5 };
    await raw.hSet(`${prefix}write:p`, { tokens: '0', updated: String(await redisNowUs() + 60_000_000) });
    expect((await take(s, 'write:p', rule))[0]).to.deep.equal({ allowed: false, retryAfterSeconds: 1 });
  });

  it('sets a TTL of the time until the bucket is full again, then the key is gone', async () => {
    const s = await open();
    const rule = { rate: 10, burst: 5 };
    await take(s, 'read:ttl', rule); // 4 left: full in 100 ms
    const one = await raw.pTTL(`${prefix}read:ttl`);
    expect(one).to.be.within(1, 100);
    await take(s, 'read:ttl', rule, 4); // 0 left: full in 500 ms
    expect(await raw.pTTL(`${prefix}read:ttl`)).to.be.within(400, 500);
    await sleep(600);
    expect(await raw.exists(`${prefix}read:ttl`)).to.equal(0);
    // And a missing key is a full bucket.
    expect((await take(s, 'read:ttl', rule, 6)).filter((r) => r.allowed)).to.have.length(5);
  });

  it('is atomic across clients: concurrent takes from several stores spend exactly the burst', async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const rule = { rate: 0.001, burst: 50 };
    const all = await Promise.all(Array.from({ length: 150 }, (_, i) => [a, b, c][i % 3]!.take('write:shared', rule, 0)));
    expect(all.filter((r) => r.allowed)).to.have.length(50);
  });

  it('reloads the script after SCRIPT FLUSH (a restarted Redis)', async () => {
    const s = await open();
    const rule = { rate: 1, burst: 2 };
    await take(s, 'write:f', rule);
    await raw.scriptFlush();
    expect((await take(s, 'write:f', rule, 2)).map((r) => r.allowed)).to.deep.equal([true, false]);
    expect(s.isDegraded).to.equal(false);
  });

  it('answers 429 overLimit with Retry-After through the hook, buckets shared by two apps', async () => {
    const s1 = await open();
    const s2 = await open();
    const rules = { read: { rate: 1, burst: 2 }, write: { rate: 1, burst: 1 }, auth: { rate: 1, burst: 1 } };
    const compute = SERVICES.find((x) => x.name === 'compute')!;
    const servers: Server[] = [];
    const urls = await Promise.all([s1, s2].map(async (store) => {
      const app = new Koa<GatewayState>();
      app.silent = true;
      app.use(faultHook(createLogger('silent')));
      app.use(async (ctx, next) => {
        ctx.state.service = compute;
        ctx.state.auth = { userId: 'u', userName: 'u', userDomainId: 'default', projectId: 'p', roles: [], isAdmin: false, auditId: 'a', expiresAt: '' };
        await next();
      });
      app.use(rateLimitHook({ rules, store }));
      app.use((ctx) => { ctx.body = { ok: true }; });
      const server = app.listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((r) => server.once('listening', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }));
    try {
      const get = (u: string) => fetch(`${u}/compute/v2.1/servers`);
      expect((await get(urls[0]!)).status).to.equal(200);
      expect((await get(urls[1]!)).status).to.equal(200);
      const res = await get(urls[0]!);
      expect(res.status).to.equal(429);
      expect(res.headers.get('retry-after')).to.equal('1');
      expect((await res.json()).overLimit.code).to.equal(429);
    } finally {
      for (const srv of servers) { srv.close(); srv.closeAllConnections(); }
    }
  });

  it('Redis unreachable at start: fails open to per-process buckets within the connect timeout, with a warning', async () => {
    const log = recorder();
    const t0 = performance.now();
    const s = await RedisRateLimitStore.open({ url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: prefix, connectTimeoutMs: 300, logger: log });
    stores.push(s);
    expect(performance.now() - t0).to.be.lessThan(1500);
    expect(s.isDegraded).to.equal(true);
    expect(log.lines.filter((l) => l.level === 'warn')).to.have.length(1);
    expect(log.lines[0]!.msg).to.match(/failing open to per-process buckets/);
    // Still limited, per process: the same rule on local buckets.
    const t1 = performance.now();
    const got = await take(s, 'write:p', { rate: 1, burst: 2 }, 3);
    expect(performance.now() - t1).to.be.lessThan(100);
    expect(got.map((r) => r.allowed)).to.deep.equal([true, true, false]);
    expect(got[2]!.retryAfterSeconds).to.equal(1);
    // Warned once, not per request.
    expect(log.lines.filter((l) => l.level === 'warn')).to.have.length(1);
    await s.close();
  });

  it('a password in the URL is not logged', async () => {
    const log = recorder();
    const s = await RedisRateLimitStore.open({ url: `redis://:s3cret@127.0.0.1:${await freePort()}`, connectTimeoutMs: 100, logger: log });
    await s.close();
    expect(JSON.stringify(log.lines)).to.not.contain('s3cret');
  });

  it('Redis going away and coming back: falls back, then shares buckets again', async () => {
    const own = await startRedis();
    const log = recorder();
    const s = await RedisRateLimitStore.open({ url: own.url, keyPrefix: prefix, connectTimeoutMs: 300, commandTimeoutMs: 200, logger: log });
    stores.push(s);
    const rule = { rate: 0.001, burst: 2 };
    try {
      expect((await take(s, 'write:p', rule))[0]!.allowed).to.equal(true);
      await own.stop();
      const t0 = performance.now();
      const during = await take(s, 'write:p', rule, 3); // local bucket starts full: 2 of 3
      expect(performance.now() - t0).to.be.lessThan(1000);
      expect(during.map((r) => r.allowed)).to.deep.equal([true, true, false]);
      expect(s.isDegraded).to.equal(true);
      expect(log.lines.map((l) => l.level)).to.deep.equal(['warn']);
      const back = await startRedis(own.port);
      try {
        // The client reconnects with a backoff capped at 2 s.
        for (let i = 0; i < 60 && (await s.take('write:probe', rule, 0), s.isDegraded); i++) await sleep(100);
        expect(s.isDegraded).to.equal(false);
        expect(log.lines.map((l) => l.level)).to.deep.equal(['warn', 'info']);
        // The new Redis starts empty: a full bucket there.
        expect((await take(s, 'write:p', rule, 3)).map((r) => r.allowed)).to.deep.equal([true, true, false]);
      } finally {
        await s.close();
        await back.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('a hung Redis costs one request the command timeout, then checks stay local for a while', async () => {
    const own = await startRedis();
    const log = recorder();
    const s = await RedisRateLimitStore.open({ url: own.url, keyPrefix: prefix, commandTimeoutMs: 150, retryAfterFailureMs: 400, logger: log });
    stores.push(s);
    const rule = { rate: 0.001, burst: 3 };
    try {
      expect((await take(s, 'write:h', rule))[0]!.allowed).to.equal(true);
      own.child.kill('SIGSTOP');
      let t0 = performance.now();
      expect((await take(s, 'write:h', rule))[0]!.allowed).to.equal(true); // local bucket, full
      expect(performance.now() - t0).to.be.within(140, 600);
      t0 = performance.now();
      expect((await take(s, 'write:h', rule, 3)).map((r) => r.allowed)).to.deep.equal([true, true, false]);
      expect(performance.now() - t0).to.be.lessThan(100); // no waiting during the pause
      expect(log.lines.map((l) => l.level)).to.deep.equal(['warn']);
      own.child.kill('SIGCONT');
      await sleep(450);
      // Back on Redis: 1 left of 3, since the check that timed out still ran once Redis woke up.
      expect((await take(s, 'write:h', rule, 2)).map((r) => r.allowed)).to.deep.equal([true, false]);
      expect(s.isDegraded).to.equal(false);
      expect(log.lines.map((l) => l.level)).to.deep.equal(['warn', 'info']);
    } finally {
      own.child.kill('SIGCONT');
      await s.close();
      await own.stop();
    }
  });

  it('close() is idempotent and ends the connection', async () => {
    const s = await open();
    await take(s, 'read:c', { rate: 1, burst: 1 });
    const before = Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    await s.close();
    await s.close();
    await sleep(50);
    const after = Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    expect(after).to.equal(before - 1);
  });

  it('createRateLimitStore follows the config', async () => {
    expect(await createRateLimitStore({ store: 'memory', redisUrl: null })).to.be.instanceOf(MemoryRateLimitStore);
    const s = await createRateLimitStore({ store: 'redis', redisUrl: redis.url });
    expect(s).to.be.instanceOf(RedisRateLimitStore);
    await s.close?.();
  });
});

describe('rate limit config', () => {
  const base = { dataDir: '/tmp/sg-config-test' };
  it('defaults to the memory store with the existing rules', () => {
    const c = loadConfig({ overrides: base });
    expect(c.rateLimit).to.deep.equal({ read: { rate: 200, burst: 400 }, write: { rate: 50, burst: 100 }, auth: { rate: 20, burst: 40 }, store: 'memory', redisUrl: null });
  });

  it('takes store and redisUrl from the file or STACKGATE_RATE_LIMIT_*', () => {
    const c = loadConfig({ env: { STACKGATE_RATE_LIMIT_STORE: 'redis', STACKGATE_RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:6379' }, overrides: base });
    expect(c.rateLimit.store).to.equal('redis');
    expect(c.rateLimit.redisUrl).to.equal('redis://127.0.0.1:6379');
    expect(c.rateLimit.read).to.deep.equal({ rate: 200, burst: 400 });
    const d = loadConfig({ overrides: { ...base, rateLimit: { store: 'redis', redisUrl: 'rediss://:pw@cache.example:6380/2', read: { rate: 5, burst: 10 } } } });
    expect(d.rateLimit.read).to.deep.equal({ rate: 5, burst: 10 });
    expect(d.rateLimit.write).to.deep.equal({ rate: 50, burst: 100 });
  });

  it('refuses a bad store, a bad URL, or redis without a URL', () => {
    expect(() => loadConfig({ overrides: { ...base, rateLimit: { store: 'memcached' } } })).to.throw(ConfigError, /rateLimit\.store/);
    expect(() => loadConfig({ overrides: { ...base, rateLimit: { redisUrl: 'http://127.0.0.1:6379' } } })).to.throw(ConfigError, /rateLimit\.redisUrl/);
    expect(() => loadConfig({ overrides: { ...base, rateLimit: { store: 'redis' } } })).to.throw(ConfigError, /rateLimit\.redisUrl: .*needs a redisUrl/);
    expect(() => loadConfig({ overrides: { ...base, rateLimit: { read: { rate: 0, burst: 1 } } } })).to.throw(ConfigError, /rateLimit\.read\.rate/);
  });
});
