/** Starts a gateway in this process on 127.0.0.1 with a free port. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, openIdentity, type Gateway } from '../../src/app.js';
import { bootstrapIdentity } from '../../src/identity/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { BackendModule } from '../../drivers/types.js';
import type { Logger } from 'pino';

export interface Harness {
  gateway: Gateway;
  url: string;
  /** A project-scoped admin token, sent by `request` unless `token: null`. */
  adminToken: string;
  adminPassword: string;
  dataDir: string;
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: unknown; raw?: string; token?: string | null }): Promise<TestResponse>;
  /** A token for a user and project, by password. */
  login(user: string, password: string, project?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export const ADMIN_PASSWORD = 'admin-test-password';

/** `logger`: where the gateway logs (silent unless given), e.g. to check what reaches the log. */
export async function startGateway(overrides: Record<string, unknown> = {}, backend?: BackendModule, opts: { logger?: Logger } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sg-test-'));
  const config = loadConfig({ overrides: { listen: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, dataDir, hooks: { rateLimit: false }, ...overrides } });
  {
    const { identity, store } = openIdentity(config, undefined, { createKeys: true });
    await bootstrapIdentity(identity, { adminPassword: ADMIN_PASSWORD });
    store.close();
  }
  const gateway = await createGateway({ config, logger: opts.logger ?? createLogger("silent"), ...(backend ? { backend: { module: backend, backend: await backend.create({ config, logger: createLogger("silent"), store: undefined as never }) } } : {}) });
  const url = await gateway.listen(0, '127.0.0.1');
  const login = async (user: string, password: string, project?: string): Promise<string> => {
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
      } }),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) throw new Error(`login ${user}: ${res.status} ${await res.text()}`);
    return token;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD, 'admin');
  return {
    gateway,
    url,
    adminToken,
    adminPassword: ADMIN_PASSWORD,
    dataDir,
    login,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
      const token = init.token === undefined ? adminToken : init.token;
      if (token) headers['x-auth-token'] ??= token;
      let body: string | undefined;
      if (init.raw !== undefined) body = init.raw;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      await gateway.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A gateway in front of a backend simulator, logged in as one of the simulator's users. */
export interface SimulatedBackend<S, A> {
  sim: S;
  gw: Harness;
  account: A;
  /** A project-scoped token of `account`. */
  token: string;
  close(): Promise<void>;
}

/**
 * Starts a gateway with `overrides` in front of a started simulator, makes a
 * user there and logs it in; whatever fails on the way, nothing is left running.
 */
export async function startWithSimulator<S extends { close(): Promise<void> }, A>(
  sim: S, overrides: Record<string, unknown>, logger: Logger | undefined,
  newAccount: (sim: S) => A, login: (gw: Harness, account: A) => Promise<string>,
): Promise<SimulatedBackend<S, A>> {
  let gw: Harness;
  try {
    gw = await startGateway(overrides, undefined, logger ? { logger } : {});
  } catch (err) {
    await sim.close();
    throw err;
  }
  const account = newAccount(sim);
  let token: string;
  try {
    token = await login(gw, account);
  } catch (err) {
    await gw.close();
    await sim.close();
    throw err;
  }
  return {
    sim, gw, account, token,
    async close() {
      await gw.close();
      await sim.close();
    },
  };
}

/** Polls `fn` every 100 ms until it gives a value (not undefined); fails after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
