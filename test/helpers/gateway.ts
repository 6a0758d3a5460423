/** Starts a gateway in this process on 127.0.0.1 with a free port. */
import { appendFileSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, openIdentity, type Gateway } from '../../src/app.js';
import { bootstrapIdentity } from '../../src/identity/bootstrap.js';
import { auditFile, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TEST_LOG_DIR, armTestLogCleanup, registerSecret } from './secrets.js';
import { sharedPostgres } from './postgres.js';
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
registerSecret(ADMIN_PASSWORD, 'admin password (startGateway)');

/**
 * The logs of this run's test gateways: a gateway whose test gives no logger
 * of its own logs at debug level to <TEST_LOG_DIR>/<pid>-<n>-<test file>.log, and
 * its audit log is copied next to it (<pid>-<n>-<test file>.audit.log) when it
 * closes; test/zz-secrets-scan.test.ts reads them all.
 */
interface GatewayLog { name: string; audit: string | null; close(): void }
const openLogs = new Set<GatewayLog>();
let gatewayCount = 0;

/**
 * What started a gateway, from the call stack: 'contract-keystone-users' for
 * test/contract/keystone-users.test.ts, else the helper or script on the way
 * ('helpers-fuzz', 'scripts-upstream-openstack-tempest-image').
 */
function starter(): string {
  const stack = new Error().stack ?? '';
  const m = /\/test\/((?!helpers\/)[^:()]+?)\.test\.ts/.exec(stack) ?? /\/((?:test\/helpers|scripts)\/(?!gateway\.ts)[^:()]+?)\.ts/.exec(stack);
  return m ? m[1]!.replace(/^test\//, '').replace(/[^A-Za-z0-9_.-]+/g, '-') : 'unknown';
}

/**
 * A log file written line by line with writeSync: nothing is buffered, so a
 * scan at any time sees every line. Lines logged after the gateway closed
 * (late timers of a driver) are appended rather than lost or thrown on.
 */
function openGatewayLog(audit: string | null): { log: GatewayLog; logger: Logger } {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  armTestLogCleanup();
  // The pid keeps apart the gateways of child processes (scripts) that inherit STACKGATE_TEST_LOG_DIR.
  const name = `${process.pid}-${String(++gatewayCount).padStart(4, '0')}-${starter()}`;
  const file = join(TEST_LOG_DIR, `${name}.log`);
  let fd: number | null = openSync(file, 'a');
  const logger = createLogger('debug', {
    write(line: string) {
      if (fd !== null) writeSync(fd, line);
      else appendFileSync(file, line);
    },
  });
  const log: GatewayLog = {
    name,
    audit,
    close() {
      copyAuditLog(log);
      if (fd !== null) { closeSync(fd); fd = null; }
      openLogs.delete(log);
    },
  };
  openLogs.add(log);
  return { log, logger };
}

function copyAuditLog(log: GatewayLog): void {
  if (log.audit && existsSync(log.audit)) copyFileSync(log.audit, join(TEST_LOG_DIR, `${log.name}.audit.log`));
}

/** Copies the audit logs of the gateways still open into TEST_LOG_DIR, so a scan sees them too. */
export function snapshotTestLogs(): void {
  for (const log of openLogs) copyAuditLog(log);
}

/**
 * The store of test gateways: SQLite in their data dir, or with
 * STACKGATE_TEST_STORE=postgres a fresh database of the run's PostgreSQL
 * (test/helpers/postgres.ts), dropped when the gateway closes: make test
 * runs the sandbox and identity suites a second time that way.
 */
export const TEST_STORE = process.env.STACKGATE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

async function testStore(overrides: Record<string, unknown>): Promise<{ store?: unknown; drop(): void }> {
  if (TEST_STORE !== 'postgres' || 'store' in overrides) return { drop() {} };
  const pg = await sharedPostgres();
  const url = pg.createDatabase('gw');
  return { store: { engine: 'postgres', url }, drop: () => pg.dropDatabase(url) };
}

/** `logger`: where the gateway logs (to a file in TEST_LOG_DIR unless given), e.g. to check what reaches the log. */
export async function startGateway(overrides: Record<string, unknown> = {}, backend?: BackendModule, opts: { logger?: Logger } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sg-test-'));
  const db = await testStore(overrides);
  const config = loadConfig({ overrides: { listen: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, dataDir, hooks: { rateLimit: false }, ...(db.store ? { store: db.store } : {}), ...overrides } });
  {
    const { identity, store } = openIdentity(config, undefined, { createKeys: true });
    await bootstrapIdentity(identity, { adminPassword: ADMIN_PASSWORD });
    store.close();
  }
  const own = opts.logger ? undefined : openGatewayLog(config.hooks.audit ? auditFile(config) : null);
  const logger = opts.logger ?? own!.logger;
  let gateway: Gateway;
  try {
    gateway = await createGateway({ config, logger, ...(backend ? { backend: { module: backend, backend: await backend.create({ config, logger, store: undefined as never }) } } : {}) });
  } catch (err) {
    own?.log.close();
    db.drop();
    throw err;
  }
  const url = await gateway.listen(0, '127.0.0.1');
  const login = async (user: string, password: string, project?: string): Promise<string> => {
    registerSecret(password, `password of ${user} (Harness.login)`);
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
      } }),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) throw new Error(`login ${user}: ${res.status} ${await res.text()}`);
    registerSecret(token, `token of ${user} (Harness.login)`);
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
      own?.log.close();
      db.drop();
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
  registerAccountSecrets(account);
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

/** Registers the string fields of a simulator account that hold a key, secret, password or token. */
function registerAccountSecrets(account: unknown): void {
  if (!account || typeof account !== 'object') return;
  for (const [k, v] of Object.entries(account)) {
    if (/key|secret|password|token/i.test(k)) registerSecret(v, `${k} of a simulator account (startWithSimulator)`);
  }
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
