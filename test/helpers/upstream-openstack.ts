/**
 * A real upstream OpenStack for the passthrough driver's tests: Debian's
 * Keystone (22.x) and Glance (25.x) on 127.0.0.1, free ports, sqlite, all
 * state in a temporary directory. Nothing of the packages' own configuration
 * (/etc/keystone, /etc/glance, their services) is used: the configs are
 * written here and passed explicitly.
 *
 * Kept fast for small machines: one process each (keystone-wsgi-public's
 * single-threaded server, glance-api with `workers = 0`), sqlite in WAL mode
 * without fsync, bcrypt with 4 rounds, fernet tokens, Keystone's in-process
 * dogpile cache (no memcached). Starts in ~10-15 s on 2 cores; the steps and
 * their times are in <dir>/logs/start-times.txt, every log in <dir>/logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { registerSecret } from './secrets.js';

export interface Credentials { username: string; password: string; projectName: string; userDomainName: string; projectDomainName: string }

export interface UpstreamOpenStack {
  /** e.g. http://127.0.0.1:PORT (root; /v3 under it) */
  keystoneUrl: string;
  /** e.g. http://127.0.0.1:PORT */
  glanceUrl: string;
  /** The region name the upstream catalog uses. */
  region: string;
  /** admin user, admin role on project `admin` */
  admin: Credentials;
  /** a non-admin user with member role on project `demo` */
  demo: Credentials;
  /** temp dir with configs, dbs, logs */
  dir: string;
  /** How long startUpstreamOpenStack took, in ms. */
  startMs: number;
  stop(): Promise<void>;
}

const BIN = {
  keystoneManage: '/usr/bin/keystone-manage',
  keystoneWsgi: '/usr/bin/keystone-wsgi-public',
  glanceManage: '/usr/bin/glance-manage',
  glanceApi: '/usr/bin/glance-api',
};

/** Debian's pristine copy of the metadefs (glance-common); /etc/glance/metadefs is the admin's. */
const METADEFS = '/usr/share/glance-common/metadefs';
const REGION = 'RegionOne';
const START_DEADLINE_MS = 60_000;

/** True when the keystone and glance packages are installed (their entry points exist). */
export function upstreamAvailable(): boolean {
  return Object.values(BIN).every((p) => existsSync(p)) && existsSync('/usr/bin/python3');
}

// ---------------------------------------------------------------------------
// processes

/** Servers still running, killed (SIGKILL to the group) if the process exits without stop(). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) signalGroup(child, 'SIGKILL');
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* gone */ }
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the process group, SIGKILL after graceMs; resolves once the leader exited. */
function stopGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.pid === undefined || exited(child)) {
    live.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    const giveUp = setTimeout(done, graceMs + 5_000);
    function done(): void {
      clearTimeout(kill);
      clearTimeout(giveUp);
      // Anything left in the group (none expected) goes too.
      signalGroup(child, 'SIGKILL');
      live.delete(child);
      resolve();
    }
    child.once('exit', done);
    signalGroup(child, 'SIGTERM');
  });
}

/**
 * The children's environment: no pyenv/virtualenv/PYTHON* variables (the
 * Debian entry points must import Debian's modules) and no OS_* variables
 * (keystone-manage bootstrap reads OS_BOOTSTRAP_*; a user's OS_CLOUD must not leak in).
 */
function childEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PYTHON|PYENV|VIRTUAL_ENV|OS_|STACKGATE_)/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = `/usr/bin:/bin:/usr/sbin:/sbin`;
  env.TMPDIR = join(dir, 'tmp');
  env.LC_ALL = 'C.UTF-8';
  return { ...env, ...extra };
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * The command under `setpriv --pdeathsig SIGKILL` (util-linux, always on
 * Debian): the kernel kills it when this process dies in a way that runs no
 * 'exit' handler (SIGKILL, a signal without handler), so no server outlives its test run.
 */
function orphanProof(cmd: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', cmd, ...args]] : [cmd, args];
}

/** Runs a command to completion; throws with its output on failure or time limit. */
function runTool(cmd: string, args: string[], dir: string, logName: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = join(dir, 'logs', `${logName}.out`);
    const fd = openSync(log, 'a');
    const child = spawn(...orphanProof(cmd, args), { cwd: dir, env: childEnv(dir), stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    live.add(child);
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); live.delete(child); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${[cmd, ...args].join(' ')}: ${signal ? `killed by ${signal}` : `exit ${code}`}\n${tailFile(log)}`));
    });
  });
}

function startServer(cmd: string, args: string[], dir: string, logName: string, env: Record<string, string> = {}): ChildProcess {
  const fd = openSync(join(dir, 'logs', `${logName}.out`), 'a');
  const child = spawn(...orphanProof(cmd, args), { cwd: dir, env: childEnv(dir, env), stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

function tailFile(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return `    (no ${path})`;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls GET url until it answers (any status < 500) or the deadline; throws with the log tails. */
async function waitForHttp(url: string, child: ChildProcess, deadline: number, logs: string[]): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    if (exited(child)) break;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = exited(child) ? `exited (${child.exitCode ?? child.signalCode})` : `did not answer in time (${last})`;
  throw new Error(`${url} ${why}\n${logs.map((l) => `  ${l}:\n${tailFile(l)}`).join('\n')}`);
}

// ---------------------------------------------------------------------------
// configuration

type Conf = Record<string, Record<string, string | number | boolean>>;

/** oslo.config INI; `$` is oslo's interpolation character, so it is doubled. */
function renderConf(conf: Conf): string {
  const out: string[] = [];
  for (const [section, opts] of Object.entries(conf)) {
    out.push(`[${section}]`);
    for (const [k, v] of Object.entries(opts)) out.push(`${k} = ${typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v).replace(/\$/g, '$$$$')}`);
    out.push('');
  }
  return out.join('\n');
}

function keystoneConf(dir: string, passwordHashRounds: number): Conf {
  return {
    DEFAULT: { log_dir: join(dir, 'logs'), log_file: 'keystone.log', use_stderr: false, debug: false },
    database: { connection: `sqlite:///${join(dir, 'keystone.db')}`, sqlite_synchronous: false },
    token: { provider: 'fernet', expiration: 7200 },
    fernet_tokens: { key_repository: join(dir, 'fernet-keys') },
    fernet_receipts: { key_repository: join(dir, 'fernet-receipts') },
    credential: { key_repository: join(dir, 'credential-keys') },
    // bcrypt's minimum cost for tests: hashing at Keystone's default (12) costs ~0.3 s per password check.
    identity: { password_hash_algorithm: 'bcrypt', password_hash_rounds: passwordHashRounds },
    // In-process cache: without it a token validation costs ~0.5 s (hundreds of
    // queries for the role assignments); with it ~10 ms. Safe with one process:
    // keystone invalidates its own cache on writes.
    cache: { enabled: true, backend: 'dogpile.cache.memory' },
    // Only the policy defaults in code: not Debian's /etc/keystone/policy.d.
    oslo_policy: { policy_file: join(dir, 'keystone-policy.yaml'), policy_dirs: join(dir, 'keystone-policy.d') },
  };
}

function glanceConf(dir: string, port: number, keystoneUrl: string, glancePassword: string): Conf {
  return {
    DEFAULT: {
      bind_host: '127.0.0.1',
      bind_port: port,
      // 0: one process serving everything from its greenthread pool (1 would fork a worker under a parent).
      workers: 0,
      log_dir: join(dir, 'logs'),
      log_file: 'glance-api.log',
      use_stderr: false,
      debug: false,
      enabled_backends: 'fs:file',
      image_cache_dir: join(dir, 'glance-cache'),
      // Links in responses point at the address clients used, not a guessed hostname.
      public_endpoint: `http://127.0.0.1:${port}`,
    },
    database: { connection: `sqlite:///${join(dir, 'glance.db')}`, sqlite_synchronous: false },
    glance_store: { default_backend: 'fs' },
    fs: { filesystem_store_datadir: join(dir, 'glance-images') },
    // The reserved stores Glance 25 uses with enabled_backends (image import staging, tasks).
    os_glance_staging_store: { filesystem_store_datadir: join(dir, 'glance-staging') },
    os_glance_tasks_store: { filesystem_store_datadir: join(dir, 'glance-tasks') },
    keystone_authtoken: {
      www_authenticate_uri: keystoneUrl,
      auth_url: keystoneUrl,
      auth_type: 'password',
      username: 'glance',
      password: glancePassword,
      project_name: 'service',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
      region_name: REGION,
      http_request_max_retries: 1,
    },
    paste_deploy: { flavor: 'keystone', config_file: join(dir, 'glance-api-paste.ini') },
    oslo_policy: { policy_file: join(dir, 'glance-policy.yaml'), policy_dirs: join(dir, 'glance-policy.d') },
    oslo_concurrency: { lock_path: join(dir, 'locks') },
  };
}

/** Debian's pipeline `glance-api-keystone` with what it needs; the healthcheck file lives in dir. */
function glancePaste(dir: string): string {
  return `[pipeline:glance-api-keystone]
pipeline = cors healthcheck http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[filter:healthcheck]
paste.filter_factory = oslo_middleware:Healthcheck.factory
backends = disable_by_file
disable_by_file_path = ${join(dir, 'glance-healthcheck-disable')}

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
`;
}

/** WAL persists in the database file: set once after db_sync, every later connection uses it. */
function walMode(dbFile: string): void {
  const db = new Database(dbFile);
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------
// Keystone API

class KeystoneApi {
  constructor(private readonly url: string, private readonly token: string) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, expect = [200, 201, 204]): Promise<T> {
    const res = await fetch(`${this.url}/v3${path}`, {
      method,
      headers: { 'x-auth-token': this.token, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`keystone ${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async id(kind: string, name: string): Promise<string> {
    const list = await this.call<Record<string, { id: string }[]>>('GET', `/${kind}?name=${encodeURIComponent(name)}`);
    const found = list[kind]?.[0];
    if (!found) throw new Error(`keystone: no ${kind} named ${name}`);
    return found.id;
  }
}

async function passwordToken(keystoneUrl: string, c: Credentials): Promise<string> {
  const res = await fetch(`${keystoneUrl}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } },
      scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
    } }),
    signal: AbortSignal.timeout(20_000),
  });
  const token = res.headers.get('x-subject-token');
  const text = await res.text();
  if (res.status !== 201 || !token) throw new Error(`keystone token for ${c.username}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return token;
}

// ---------------------------------------------------------------------------

function creds(username: string, password: string, projectName: string): Credentials {
  return { username, password, projectName, userDomainName: 'Default', projectDomainName: 'Default' };
}

/** `passwordHashRounds`: bcrypt cost of Keystone's passwords, 4 (the minimum, fast tests) unless given; Keystone's default is 12. */
export async function startUpstreamOpenStack(opts: { keepDir?: boolean; passwordHashRounds?: number } = {}): Promise<UpstreamOpenStack> {
  if (!upstreamAvailable()) throw new Error(`keystone and glance are not installed (need ${Object.values(BIN).join(', ')})`);
  installExitHook();
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'sg-upstream-'));
  /** Where the start time goes (written to dir/logs/start-times.txt). */
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${((Date.now() - t0) / 1000).toFixed(2)} s  ${what}`);
  const servers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => stopGroup(s)));
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const d of ['logs', 'tmp', 'locks', 'keystone-policy.d', 'glance-policy.d', 'glance-images', 'glance-staging', 'glance-tasks', 'glance-cache']) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    const [keystonePort, glancePort] = await distinctPorts();
    const keystoneUrl = `http://127.0.0.1:${keystonePort}`;
    const glanceUrl = `http://127.0.0.1:${glancePort}`;
    const pw = () => {
      const p = randomBytes(12).toString('hex');
      registerSecret(p, 'upstream OpenStack password');
      return p;
    };
    const admin = creds('admin', pw(), 'admin');
    const demo = creds('demo', pw(), 'demo');
    const glancePassword = pw();

    const ksConf = join(dir, 'keystone.conf');
    const glConf = join(dir, 'glance-api.conf');
    writeFileSync(ksConf, renderConf(keystoneConf(dir, opts.passwordHashRounds ?? 4)));
    writeFileSync(glConf, renderConf(glanceConf(dir, glancePort, keystoneUrl, glancePassword)));
    writeFileSync(join(dir, 'glance-api-paste.ini'), glancePaste(dir));

    // Keystone and Glance come up side by side (2 cores: python start-up dominates).
    const { uid, gid, username } = userInfo();
    const group = groupName(gid) ?? String(gid);
    const km = (args: string[], log: string) => runTool(BIN.keystoneManage, ['--config-file', ksConf, ...args], dir, log);
    const deadline = t0 + START_DEADLINE_MS;
    const startKeystone = async () => {
      const keys = Promise.all([
        km(['fernet_setup', '--keystone-user', username || String(uid), '--keystone-group', group], 'keystone-manage-fernet_setup'),
        km(['credential_setup', '--keystone-user', username || String(uid), '--keystone-group', group], 'keystone-manage-credential_setup'),
      ]);
      await km(['db_sync'], 'keystone-manage-db_sync');
      walMode(join(dir, 'keystone.db'));
      mark('keystone-manage db_sync');
      // The server reads the database only when asked for something (waitForHttp's
      // GET /v3 is not), so it starts while bootstrap fills the database.
      const keystone = startServer(BIN.keystoneWsgi, ['--host', '127.0.0.1', '--port', String(keystonePort)], dir, 'keystone-wsgi', { OS_KEYSTONE_CONFIG_FILES: ksConf });
      servers.push(keystone);
      await Promise.all([
        keys,
        (async () => {
          await km([
            'bootstrap', '--bootstrap-username', admin.username, '--bootstrap-password', admin.password,
            '--bootstrap-project-name', admin.projectName, '--bootstrap-role-name', 'admin',
            '--bootstrap-service-name', 'keystone', '--bootstrap-region-id', REGION,
            // All three interfaces, as deployments have them: keystonemiddleware in Glance looks up `internal`.
            '--bootstrap-public-url', `${keystoneUrl}/v3`, '--bootstrap-internal-url', `${keystoneUrl}/v3`, '--bootstrap-admin-url', `${keystoneUrl}/v3`,
          ], 'keystone-manage-bootstrap');
          mark('keystone-manage bootstrap');
        })(),
        waitForHttp(`${keystoneUrl}/v3`, keystone, deadline, [join(dir, 'logs', 'keystone-wsgi.out'), join(dir, 'logs', 'keystone.log')]),
      ]);
      mark('keystone answers');

      const api = new KeystoneApi(keystoneUrl, await passwordToken(keystoneUrl, admin));
      const roleId = { admin: await api.id('roles', 'admin'), member: await api.id('roles', 'member') };
      const project = async (name: string, description: string) =>
        (await api.call<{ project: { id: string } }>('POST', '/projects', { project: { name, domain_id: 'default', description } })).project.id;
      const user = async (name: string, password: string, projectId: string) =>
        (await api.call<{ user: { id: string } }>('POST', '/users', { user: { name, password, domain_id: 'default', default_project_id: projectId } })).user.id;
      const grant = (projectId: string, userId: string, role: string) => api.call('PUT', `/projects/${projectId}/users/${userId}/roles/${role}`);

      const serviceProject = await project('service', 'service users');
      await grant(serviceProject, await user('glance', glancePassword, serviceProject), roleId.admin);
      const imageService = (await api.call<{ service: { id: string } }>('POST', '/services', { service: { name: 'glance', type: 'image', enabled: true } })).service.id;
      for (const iface of ['public', 'internal', 'admin']) {
        await api.call('POST', '/endpoints', { endpoint: { service_id: imageService, interface: iface, url: glanceUrl, region_id: REGION, enabled: true } });
      }
      const demoProject = await project(demo.projectName, 'a non-admin project');
      await grant(demoProject, await user(demo.username, demo.password, demoProject), roleId.member);
      mark('keystone: service, glance user, image endpoints, demo project and user');
    };
    // Glance needs Keystone only when it validates a token, so it starts alongside.
    const startGlance = async () => {
      await runTool(BIN.glanceManage, ['--config-file', glConf, 'db_sync'], dir, 'glance-manage-db_sync', 120_000);
      walMode(join(dir, 'glance.db'));
      mark('glance-manage db_sync');
      const glance = startServer(BIN.glanceApi, ['--config-file', glConf], dir, 'glance-api');
      servers.push(glance);
      await Promise.all([
        waitForHttp(`${glanceUrl}/`, glance, deadline, glanceLogs).then(() => mark('glance answers')),
        // The metadata definitions a deployment has (Tempest's metadefs tests read them); ~2 s.
        existsSync(METADEFS)
          ? runTool(BIN.glanceManage, ['--config-file', glConf, 'db', 'load_metadefs', '--path', METADEFS], dir, 'glance-manage-load_metadefs').then(() => mark('glance-manage db load_metadefs'))
          : undefined,
      ]);
    };
    const glanceLogs = [join(dir, 'logs', 'glance-api.out'), join(dir, 'logs', 'glance-api.log')];
    // allSettled: when one side fails, the other must not start a server after stop().
    const settled = await Promise.allSettled([startKeystone(), startGlance()]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;

    // Ready means usable: Glance validates a Keystone token (its service user works).
    const res = await fetch(`${glanceUrl}/v2/images`, { headers: { 'x-auth-token': await passwordToken(keystoneUrl, demo) }, signal: AbortSignal.timeout(20_000) });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${glanceUrl}/v2/images with a demo token: HTTP ${res.status} ${body.slice(0, 300)}\n${glanceLogs.map((l) => `  ${l}:\n${tailFile(l)}`).join('\n')}`);
    mark('glance accepts a demo token');
    writeFileSync(join(dir, 'logs', 'start-times.txt'), `${marks.join('\n')}\n`);
    return { keystoneUrl, glanceUrl, region: REGION, admin, demo, dir, startMs: Date.now() - t0, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    if (opts.keepDir) (err as Error).message += `\n  (kept ${dir})`;
    throw err;
  }
}

async function distinctPorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

function groupName(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(gid) && f[0]) return f[0];
    }
  } catch { /* no /etc/group */ }
  return undefined;
}

let shared: Promise<UpstreamOpenStack> | undefined;

/** One shared instance per mocha process (started on first call; stopped at process exit). */
export function sharedUpstream(): Promise<UpstreamOpenStack> {
  if (!shared) {
    shared = startUpstreamOpenStack();
    shared.then((u) => {
      // 'exit' handlers are synchronous: the exit hook kills the servers, this removes the files.
      process.on('exit', () => { for (const s of live) signalGroup(s, 'SIGKILL'); rmSync(u.dir, { recursive: true, force: true }); });
    }, () => undefined);
  }
  return shared;
}
