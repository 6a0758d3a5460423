/**
 * Rate limiting: one token bucket per caller and route class. Token issue is
 * limited per client address (the caller is not known yet, and it is where
 * password guessing happens); everything else per project, so one tenant's
 * script cannot starve the others. An empty bucket answers 429 with
 * Retry-After, in the service's dialect (Nova: `overLimit`). Buckets live in
 * the process (MemoryRateLimitStore) or in Redis (RedisRateLimitStore), which
 * every gateway pointed at it shares, so N processes enforce one limit.
 */
import type { Middleware } from 'koa';
import type { RedisClientType } from 'redis';
import { Fault } from '../faults.js';
import type { GatewayState } from '../state.js';

/** What a request is limited as: token issue, reads, or everything else. */
export type RouteClass = 'read' | 'write' | 'auth';

/** One bucket's shape: refills at `rate` tokens per second, holds at most `burst`. */
export interface RateLimitRule {
  /** Tokens per second. */
  rate: number;
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number;
}

/** Where buckets live; one process (memory) or shared by several (Redis). */
export interface RateLimitStore {
  /**
   * Takes one token from `key`'s bucket, creating it full if it does not exist.
   * `nowMs` is the caller's clock; a shared store may use its own instead.
   */
  take(key: string, rule: RateLimitRule, nowMs: number): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
  /** Releases connections (the gateway's close). */
  close?(): Promise<void>;
}

export interface RateLimitOptions {
  rules: Record<RouteClass, RateLimitRule>;
  /** Defaults to a fresh MemoryRateLimitStore. */
  store?: RateLimitStore;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updated: number;
  /** When the bucket is full again; from then on it is the same as no bucket. */
  fullAt: number;
}

/**
 * Buckets in a Map, for a single gateway process.
 *
 * A full bucket behaves exactly like a missing one, so buckets are dropped
 * once they have refilled: the map holds only callers seen in the last
 * `burst / rate` seconds. The sweep runs at most once per `sweepIntervalMs`,
 * which keeps `take` O(1) amortised.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = -Infinity;

  constructor(private readonly sweepIntervalMs = 1000) {}

  /** Number of buckets held, for tests and metrics. */
  get size(): number {
    return this.buckets.size;
  }

  async take(key: string, rule: RateLimitRule, nowMs: number): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    this.sweep(nowMs);
    const b = this.buckets.get(key);
    // A clock that steps back must not mint tokens, hence max(0, …).
    const tokens = b ? Math.min(rule.burst, b.tokens + Math.max(0, nowMs - b.updated) / 1000 * rule.rate) : rule.burst;
    const result = takeOne(tokens, rule);
    this.buckets.set(key, {
      tokens: result.tokens,
      updated: nowMs,
      fullAt: nowMs + (rule.burst - result.tokens) / rule.rate * 1000,
    });
    return { allowed: result.allowed, retryAfterSeconds: result.retryAfterSeconds };
  }

  /** Drops every bucket that is full by `nowMs`. */
  sweep(nowMs: number, force = false): void {
    if (!force && nowMs - this.lastSweep < this.sweepIntervalMs) return;
    this.lastSweep = nowMs;
    for (const [key, b] of this.buckets) {
      if (b.fullAt <= nowMs) this.buckets.delete(key);
    }
  }
}

/** The bucket arithmetic shared by every store: spend one token if there is one. */
export function takeOne(tokens: number, rule: RateLimitRule): { allowed: boolean; tokens: number; retryAfterSeconds: number } {
  if (tokens >= 1) return { allowed: true, tokens: tokens - 1, retryAfterSeconds: 0 };
  // Whole seconds until one token is there, rounded up: tokens < 1 here, so never 0 (which would invite a retry storm).
  return { allowed: false, tokens, retryAfterSeconds: Math.ceil((1 - tokens) / rule.rate) };
}

const TOKEN_ISSUE = new Set(['/identity/v3/auth/tokens', '/identity/v2.0/tokens']);

/** Classifies a request: POST to a token-issue path is 'auth', safe methods 'read', the rest 'write'. */
export function routeClass(method: string, path: string): RouteClass {
  const m = method.toUpperCase();
  // Routers accept a trailing slash, so the limiter must too, or it is a bypass.
  if (m === 'POST' && TOKEN_ISSUE.has(path.replace(/\/+$/, ''))) return 'auth';
  if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return 'read';
  return 'write';
}

/** Limits requests per caller and route class; runs after the auth hook. */
export function rateLimitHook(opts: RateLimitOptions): Middleware<GatewayState> {
  for (const [cls, rule] of Object.entries(opts.rules)) {
    // rate 0 would mean an infinite Retry-After; burst < 1 would refuse everything.
    if (!(Number.isFinite(rule.rate) && rule.rate > 0) || !(Number.isFinite(rule.burst) && rule.burst >= 1)) {
      throw new Error(`rate limit rule ${cls}: rate must be > 0 and burst >= 1 (got rate ${rule.rate}, burst ${rule.burst})`);
    }
  }
  const store = opts.store ?? new MemoryRateLimitStore();
  const now = opts.now ?? Date.now;
  return async (ctx, next) => {
    const cls = routeClass(ctx.method, ctx.path);
    const rule = opts.rules[cls];
    const who = cls === 'auth' ? ctx.ip : ctx.state.auth?.projectId ?? ctx.state.auth?.userId ?? ctx.ip;
    const { allowed, retryAfterSeconds } = await store.take(`${cls}:${who}`, rule, now());
    if (!allowed) {
      // Token issue is counted per address, so "this project" would be wrong there.
      const scope = cls === 'auth' ? 'from this address' : 'for this project';
      throw new Fault('tooManyRequests',
        `This request was rate-limited. Only ${rule.rate} ${cls} requests per second are allowed ${scope}; retry after ${retryAfterSeconds} seconds.`,
        { headers: { 'Retry-After': String(retryAfterSeconds) } });
    }
    await next();
  };
}

/**
 * The Redis bucket: one hash `{tokens, updated}` per key, refilled and spent in
 * one script, so gateways sharing the Redis cannot both spend the last token
 * between a read and a write. The clock is Redis's TIME (microseconds), not the
 * gateways': their clocks need not agree. (Redis 7 replicates a script's
 * effects, not the script, so reading TIME before a write is allowed.) The key
 * expires when the bucket would be full again, which is the same as no key.
 * Numbers go back and forth as strings: Redis truncates Lua numbers to integers.
 *
 * KEYS[1] bucket; ARGV rate (tokens/s), burst → {allowed 0|1, tokens left}
 */
export const REDIS_BUCKET_SCRIPT = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(b[1]), tonumber(b[2])
if tokens == nil or updated == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - updated) / 1000000 * rate)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local left = string.format('%.17g', tokens)
redis.call('HSET', KEYS[1], 'tokens', left, 'updated', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate * 1000)))
return {allowed, left}
`;

/** What a Redis store needs to log: a warning when Redis goes away, a note when it is back. */
export interface RateLimitLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RedisRateLimitStoreOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** Prefix of every bucket key. */
  keyPrefix?: string;
  /** Longest wait for a TCP connection to Redis (also at gateway start). */
  connectTimeoutMs?: number;
  /** Longest wait for one bucket check before it is taken locally. */
  commandTimeoutMs?: number;
  /** After a failed check, how long checks go straight to the local buckets before Redis is tried again. */
  retryAfterFailureMs?: number;
  logger?: RateLimitLogger;
}

/**
 * Buckets in Redis, shared by every gateway pointed at it.
 *
 * When Redis cannot be reached (not up, gone away, or slower than
 * `commandTimeoutMs`) the store fails open to per-process buckets (a
 * MemoryRateLimitStore with the same rules): the API keeps serving, each
 * process limiting on its own, so N processes allow up to N times the
 * configured rate until Redis is back. A warning is logged when that starts
 * and a note when Redis answers again; the client keeps reconnecting in the
 * background with a capped backoff. Commands are never queued while offline,
 * so a refused connection costs a request nothing; a Redis that hangs costs
 * one request the command timeout, then checks stay local for
 * `retryAfterFailureMs` before Redis is tried again.
 */
export class RedisRateLimitStore implements RateLimitStore {
  /** Buckets used while Redis is unreachable. */
  readonly fallback = new MemoryRateLimitStore();
  private readonly keyPrefix: string;
  private readonly commandTimeoutMs: number;
  private readonly retryAfterFailureMs: number;
  /** performance.now() before which checks skip Redis (a hung Redis must not cost every request the timeout). */
  private skipUntil = 0;
  private sha: string | null = null;
  private degraded = false;
  private closed = false;

  private constructor(private readonly client: RedisClientType, private readonly opts: RedisRateLimitStoreOptions) {
    this.keyPrefix = opts.keyPrefix ?? 'stackgate:ratelimit:';
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 500;
    this.retryAfterFailureMs = opts.retryAfterFailureMs ?? 1000;
  }

  /**
   * Creates the store and waits for Redis at most `connectTimeoutMs`; a Redis
   * that is not there by then is logged and retried in the background.
   */
  static async open(opts: RedisRateLimitStoreOptions): Promise<RedisRateLimitStore> {
    const { createClient } = await import('redis');
    const connectTimeout = opts.connectTimeoutMs ?? 1000;
    const client = createClient({
      url: opts.url,
      disableOfflineQueue: true,
      socket: { connectTimeout, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
    }) as unknown as RedisClientType;
    const store = new RedisRateLimitStore(client, opts);
    // Reconnection errors repeat every backoff step; the transition is what gets logged (in take).
    client.on('error', () => {});
    const connected = client.connect().then(() => true, () => false);
    const ready = await Promise.race([connected, new Promise<boolean>((r) => setTimeout(() => r(false), connectTimeout).unref())]);
    if (!ready) store.markDegraded(new Error(`no connection to ${redacted(opts.url)} within ${connectTimeout} ms`));
    return store;
  }

  async take(key: string, rule: RateLimitRule, nowMs: number): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    if (this.closed || !this.client.isReady || performance.now() < this.skipUntil) {
      if (!this.closed && !this.client.isReady) this.markDegraded(new Error(`Redis at ${redacted(this.opts.url)} is not connected`));
      return this.fallback.take(key, rule, nowMs);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.evalBucket(this.keyPrefix + key, rule),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.commandTimeoutMs} ms`)), this.commandTimeoutMs);
        }),
      ]);
      if (this.degraded) {
        this.degraded = false;
        this.opts.logger?.info({ redis: redacted(this.opts.url) }, 'rate limit: Redis is back; buckets are shared again');
      }
      const tokens = Number(reply[1]);
      if (reply[0] === 1) return { allowed: true, retryAfterSeconds: 0 };
      return { allowed: false, retryAfterSeconds: takeOne(tokens, rule).retryAfterSeconds };
    } catch (err) {
      this.skipUntil = performance.now() + this.retryAfterFailureMs;
      this.markDegraded(err as Error);
      return this.fallback.take(key, rule, nowMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** EVALSHA, loading the script with EVAL when Redis does not know it (first use, or after a restart or SCRIPT FLUSH). */
  private async evalBucket(key: string, rule: RateLimitRule): Promise<[number, string]> {
    const args = { keys: [key], arguments: [String(rule.rate), String(rule.burst)] };
    if (this.sha) {
      try {
        return await this.client.evalSha(this.sha, args) as [number, string];
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      }
    }
    const reply = await this.client.eval(REDIS_BUCKET_SCRIPT, args) as [number, string];
    this.sha ??= await this.client.scriptLoad(REDIS_BUCKET_SCRIPT);
    return reply;
  }

  private markDegraded(err: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.opts.logger?.warn({ redis: redacted(this.opts.url), err: err.message },
      'rate limit: Redis unreachable; failing open to per-process buckets until it is back');
  }

  /** Whether checks currently go to the per-process fallback (tests, metrics). */
  get isDegraded(): boolean {
    return this.degraded;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy, not close: a client still reconnecting has nothing to flush, and close would wait for it.
    if (this.client.isReady) await this.client.close().catch(() => this.client.destroy());
    else this.client.destroy();
  }
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}

/** The store a gateway's config asks for. */
export async function createRateLimitStore(cfg: { store: 'memory' | 'redis'; redisUrl: string | null }, logger?: RateLimitLogger): Promise<RateLimitStore> {
  if (cfg.store === 'redis') {
    if (!cfg.redisUrl) throw new Error('rateLimit.store redis needs rateLimit.redisUrl');
    return RedisRateLimitStore.open({ url: cfg.redisUrl, logger });
  }
  return new MemoryRateLimitStore();
}
