/**
 * Rate limiting: one token bucket per caller and route class. Token issue is
 * limited per client address (the caller is not known yet, and it is where
 * password guessing happens); everything else per project, so one tenant's
 * script cannot starve the others. An empty bucket answers 429 with
 * Retry-After, in the service's dialect (Nova: `overLimit`).
 */
import type { Middleware } from 'koa';
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

/** Where buckets live; one process (memory) or shared by several (Redis, later). */
export interface RateLimitStore {
  /** Takes one token from `key`'s bucket, creating it full if it does not exist. */
  take(key: string, rule: RateLimitRule, nowMs: number): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
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
 *
 * A Redis store (a later issue) keeps each bucket in a hash `{tokens, updated}`
 * and runs the same arithmetic in one Lua script, so concurrent gateways cannot
 * both spend the last token between a read and a write:
 *
 *   -- KEYS[1] bucket; ARGV rate, burst, now_ms
 *   local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
 *   local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
 *   local tokens = tonumber(b[1]) or burst
 *   local updated = tonumber(b[2]) or now
 *   tokens = math.min(burst, tokens + math.max(0, now - updated) / 1000 * rate)
 *   local allowed = 0
 *   if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
 *   redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
 *   redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000))  -- eviction
 *   return {allowed, tostring(tokens)}
 *
 * (tokens go back as a string because Redis truncates Lua numbers to integers),
 * and `take` computes retryAfterSeconds from the returned tokens as below.
 * Using `now` from the caller rather than Redis TIME keeps the script
 * deterministic for replication; gateways need synchronised clocks either way.
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
