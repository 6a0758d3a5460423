/**
 * make conformance-<area>: runs the upstream Tempest API tests of one area
 * against a fresh stackgate gateway and merges the results into
 * reports/conformance.{json,md}.
 *
 *   conformance --area NAME [--keep] [--timeout SECONDS] [--regex R]
 *               [--gateway URL --admin-password PW] [--reports DIR] [--results-from DIR]
 *
 *   --area NAME          which tests (see AREAS below); also the key in conformance.json
 *   --keep               keep the temporary directory (gateway data, tempest workspace, logs)
 *   --timeout SECONDS    hard limit for `tempest run` (default 1200)
 *   --regex R            run these tests instead of the area's (the results still go under NAME)
 *   --gateway URL        use a running gateway (loopback only) instead of starting one;
 *                        needs --admin-password
 *   --reports DIR        where conformance.{json,md} go (default reports/)
 *   --results-from DIR   skip the gateway and tempest: read the last run of an existing
 *                        tempest workspace (one kept with --keep) and write the reports
 *
 * Exit status: 0 when the report was written, whatever the tests did (the
 * report is the output); 1 when the harness itself broke (the gateway did not
 * start, tempest did not run any test) or the results are incomplete (time
 * limit hit, gateway died during the run; the report is still written); 2 on
 * bad usage; 130/143 on SIGINT/SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HELPERS = join(ROOT, 'scripts', 'conformance');
/** Debian's interpreter: the one tempest, stestr and subunit are installed for (a pyenv python3 on PATH has none of them). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TEMPEST = existsSync('/usr/bin/tempest') ? '/usr/bin/tempest' : 'tempest';

// ---------------------------------------------------------------------------
// Areas

/** Services tempest.conf can mark available ([service_available]; keystone is always assumed). */
export type TempestService = 'nova' | 'glance' | 'cinder' | 'neutron' | 'swift' | 'horizon';

/** tempest.conf as sections of options; values are rendered oslo.config style. */
export type ConfSections = Record<string, Record<string, string | number | boolean>>;

/** One test area: which Tempest tests, and what the cloud must look like for them. */
export interface Area {
  /** stestr selection regex. */
  regex: string;
  /** [service_available] flags turned on for this area; all others are off. */
  services: TempestService[];
  /** Extra tempest.conf options the area's tests need (images, flavors, networks...); merged over the base. */
  conf?: (cloud: Cloud) => ConfSections;
}

/**
 * The areas `--area` accepts. To add one: its regex, the services its tests
 * need switched on, and any options they read (check tempest/config.py).
 */
export const AREAS: Record<string, Area> = {
  identity: { regex: '^tempest\\.api\\.identity', services: [] },
  compute: {
    regex: '^tempest\\.api\\.compute',
    services: ['nova', 'glance', 'neutron', 'cinder'],
    conf: (c) => {
      const [image, alt] = computeImages(c);
      return {
        // The sandbox's Neutron gives each test project its network, subnet and router, as devstack's does.
        auth: { create_isolated_networks: true },
        compute: { image_ref: image!, image_ref_alt: alt!, flavor_ref: '1', flavor_ref_alt: '2', build_timeout: 60, min_microversion: '2.1', max_microversion: 'latest' },
        'compute-feature-enabled': { resize: true, console_output: true, change_password: true, pause: true, suspend: true, shelve: false, rescue: false, vnc_console: false, live_migration: false, cold_migration: false, interface_attach: true, snapshot: true },
      };
    },
  },
  'image.v2': { regex: '^tempest\\.api\\.image\\.v2', services: ['glance'] },
  volume: {
    regex: '^tempest\\.api\\.volume',
    services: ['cinder', 'glance'],
    // Volumes made from an image (bootable, clone, backup, image metadata) read [compute] image_ref.
    conf: (c) => ({ compute: { image_ref: computeImages(c)[0]! } }),
  },
  network: {
    regex: '^tempest\\.api\\.network',
    services: ['neutron'],
    conf: (c) => {
      const { extensions, publicNetworkId } = networkSetup(c);
      return {
        network: { public_network_id: publicNetworkId, floating_network_name: 'public' },
        // Tempest skips the tests of extensions the cloud does not list (the default, `all`, runs them all).
        'network-feature-enabled': { api_extensions: extensions.join(','), ipv6: true, ipv6_subnet_attributes: true },
      };
    },
  },
};

/**
 * Two active images for the compute and volume areas (image_ref, image_ref_alt), made
 * through the gateway's Keystone and Glance. Synchronous because an area's conf
 * is: a short node child does the HTTP.
 */
function computeImages(c: Cloud): string[] {
  const script = `
    const [url, pw] = process.argv.slice(1);
    const t = await fetch(url + '/identity/v3/auth/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: pw } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } } } }) });
    const token = t.headers.get('x-subject-token');
    const ids = [];
    for (const name of ['tempest-image', 'tempest-image-alt']) {
      const r = await fetch(url + '/image/v2/images', { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' }) });
      if (r.status !== 201) throw new Error('image create: ' + r.status + ' ' + await r.text());
      const id = (await r.json()).id;
      const up = await fetch(url + '/image/v2/images/' + id + '/file', { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(65536, 1) });
      if (up.status !== 204) throw new Error('image upload: ' + up.status + ' ' + await up.text());
      ids.push(id);
    }
    process.stdout.write(JSON.stringify(ids));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, c.url, c.adminPassword], { env: childEnv, timeout: 60_000 });
  return JSON.parse(out.toString()) as string[];
}

/**
 * The network area's cloud: the extension aliases the gateway's Neutron lists,
 * and an external network with a subnet (floating IPs come from it), made by
 * the admin. Synchronous like every area's conf: a short node child does the HTTP.
 */
function networkSetup(c: Cloud): { extensions: string[]; publicNetworkId: string } {
  const script = `
    const [url, pw] = process.argv.slice(1);
    const t = await fetch(url + '/identity/v3/auth/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: pw } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } } } }) });
    const headers = { 'x-auth-token': t.headers.get('x-subject-token'), 'content-type': 'application/json' };
    const ext = await fetch(url + '/network/v2.0/extensions', { headers });
    if (ext.status !== 200) throw new Error('extensions: ' + ext.status + ' ' + await ext.text());
    const extensions = (await ext.json()).extensions.map((e) => e.alias);
    const n = await fetch(url + '/network/v2.0/networks', { method: 'POST', headers, body: JSON.stringify({ network: { name: 'public', 'router:external': true } }) });
    if (n.status !== 201) throw new Error('network create: ' + n.status + ' ' + await n.text());
    const publicNetworkId = (await n.json()).network.id;
    const s = await fetch(url + '/network/v2.0/subnets', { method: 'POST', headers, body: JSON.stringify({ subnet: { name: 'public-subnet', network_id: publicNetworkId, ip_version: 4, cidr: '172.24.4.0/22' } }) });
    if (s.status !== 201) throw new Error('subnet create: ' + s.status + ' ' + await s.text());
    process.stdout.write(JSON.stringify({ extensions, publicNetworkId }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, c.url, c.adminPassword], { env: childEnv, timeout: 60_000 });
  return JSON.parse(out.toString()) as { extensions: string[]; publicNetworkId: string };
}

// ---------------------------------------------------------------------------
// Small process and file helpers

/** The harness itself broke (exit 1), as opposed to tests failing (exit 0). */
class HarnessError extends Error {}
/** Bad command line (exit 2). */
class UsageError extends Error {}

/**
 * Environment of every child. No STACKGATE_* variables: the gateway under test
 * is configured by its own stackgate.yaml only (STACKGATE_DATA_DIR from the
 * caller's shell would otherwise point it at a real data dir). TMPDIR points
 * into the run's directory once it exists, so stestr's load lists and
 * tempest's default lock dir (/tmp/tempest-lock) go away with it.
 */
let childEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STACKGATE_')));

/** Set by SIGINT/SIGTERM: from then on nothing new is started and main's outcome is not reported. */
let stopping = false;

/** Children still running, so that SIGINT, errors and time limits can stop them (each leads its own process group). */
const live = new Set<ChildProcess>();

interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }

interface RunOptions {
  cwd?: string;
  timeoutMs: number;
  /** Send stdout and stderr to this file instead of collecting them. */
  logFile?: string;
  /** Send only stdout to this file (binary-safe), still collecting stderr. */
  stdoutFile?: string;
}

/** Runs a command (argument array, no shell) to completion or to its time limit. */
function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    if (stopping) {
      reject(new HarnessError('stopping'));
      return;
    }
    const fds: number[] = [];
    let stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
    if (opts.logFile) {
      const fd = openSync(opts.logFile, 'a');
      fds.push(fd);
      stdio = ['ignore', fd, fd];
    } else if (opts.stdoutFile) {
      const fd = openSync(opts.stdoutFile, 'w');
      fds.push(fd);
      stdio = ['ignore', fd, 'pipe'];
    }
    // detached: a process group of its own, so a time limit stops the whole tree
    // (tempest runs its tests in stestr worker processes).
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: childEnv, stdio, detached: true });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopGroup(child, 15_000);
    }, opts.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      live.delete(child);
      fds.forEach((fd) => closeSync(fd));
      reject(err.code === 'ENOENT' ? new HarnessError(`${cmd}: not found`) : err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      fds.forEach((fd) => closeSync(fd));
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** SIGTERM to the child's process group, SIGKILL after graceMs; resolves when it has exited. */
function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolvePromise) => {
    const kill = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    // A last bound so that a process we cannot kill never hangs the harness.
    const giveUp = setTimeout(() => resolvePromise(), graceMs + 5_000);
    child.once('exit', () => { clearTimeout(kill); clearTimeout(giveUp); resolvePromise(); });
    signalGroup(pid, 'SIGTERM');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

/** The last lines of a text, for error messages. */
function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).map((l) => `    ${l}`).join('\n');
}

function tailFile(path: string, lines = 30): string {
  try {
    return tail(readFileSync(path, 'utf8'), lines);
  } catch {
    return `    (no ${path})`;
  }
}

function say(line: string): void {
  process.stdout.write(`conformance: ${line}\n`);
}

// ---------------------------------------------------------------------------
// The gateway

/** The cloud Tempest is pointed at. */
export interface Cloud {
  /** Gateway base URL, e.g. http://127.0.0.1:8000 (Keystone is under /identity). */
  url: string;
  adminPassword: string;
  region: string;
}

/** Loopback only: the harness never talks to, or starts, anything reachable from elsewhere. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** http://127.0.0.1:8000/identity/v3 → http://127.0.0.1:8000 (users paste either). */
export function gatewayBase(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--gateway ${url}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--gateway ${url}: not an http(s) URL`);
  if (!isLoopback(u.hostname)) throw new UsageError(`--gateway ${url}: only loopback gateways are supported`);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/identity(\/v3)?$/, '');
  return `${u.origin}${path}`;
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePromise(port));
    });
  });
}

/** Newest mtime under a directory (bounded walk; only for the stale-build warning). */
function newestMtime(dir: string, depth = 6): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) newest = Math.max(newest, newestMtime(p, depth - 1));
    else if (entry.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** bin/stackgate runs dist/ whenever it exists, so a build older than src/ tests old code. */
function warnIfStaleBuild(): void {
  const built = join(ROOT, 'dist', 'src', 'cli.js');
  if (!existsSync(built)) return;
  const src = join(ROOT, 'src');
  if (existsSync(src) && newestMtime(src) > statSync(built).mtimeMs) {
    say('warning: dist/ is older than src/ and bin/stackgate runs dist/; run `make build` first to test the current code');
  }
}

/** `stackgate init` + `stackgate serve` in dir; resolves once the gateway listens. */
async function startGateway(dir: string, adminPassword: string): Promise<{ cloud: Cloud; child: ChildProcess; log: string }> {
  warnIfStaleBuild();
  const gwDir = join(dir, 'gw');
  const config = join(gwDir, 'stackgate.yaml');
  // `=` form: a random password may start with '-', which parseArgs would take for an option.
  const init = await run('sh', ['bin/stackgate', 'init', '--dir', gwDir, `--admin-password=${adminPassword}`, '--port', '0'], { timeoutMs: 60_000 });
  if (init.timedOut || init.code !== 0) {
    const why = init.timedOut ? 'did not finish in 60 s' : `exited with ${init.code ?? init.signal}`;
    throw new HarnessError(`\`stackgate init\` ${why}:\n${tail(init.stderr + init.stdout)}`);
  }
  if (!existsSync(config)) throw new HarnessError(`\`stackgate init\` succeeded but wrote no ${config}`);

  const port = await freePort();
  const log = join(gwDir, 'serve.log');
  const logFd = openSync(log, 'a');
  const child = spawn('sh', ['bin/stackgate', 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', logFd], detached: true,
  });
  live.add(child);
  child.on('close', () => { live.delete(child); closeSync(logFd); });

  const url = await new Promise<string>((resolvePromise, reject) => {
    let seen = '';
    let found = false;
    const timer = setTimeout(() => reject(new HarnessError(`the gateway did not print its URL within 30 s; ${log}:\n${tailFile(log)}`)), 30_000);
    // Keep draining stdout into the log for the whole run: a full pipe would block the gateway.
    child.stdout!.on('data', (d: Buffer) => {
      writeSync(logFd, d);
      if (found) return;
      seen += d.toString('utf8');
      const m = /^stackgate: listening on (https?:\/\/\S+)/m.exec(seen);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
      if (seen.length > 1 << 16) seen = seen.slice(-4096); // bounded while waiting for the line
    });
    child.on('error', (err) => { clearTimeout(timer); reject(new HarnessError(`cannot start the gateway: ${err.message}`)); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new HarnessError(`the gateway exited (${code ?? signal}) before listening; ${log}:\n${tailFile(log)}`));
    });
  });
  if (!isLoopback(new URL(url).hostname)) throw new HarnessError(`the gateway listens on ${url}, not on loopback`);
  const base = new URL(url).origin;
  return { cloud: { url: base, adminPassword, region: 'RegionOne' }, child, log };
}

/** GET/POST with a time limit; the body is returned as text. */
async function http(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/**
 * Fails early, with the reason, when Keystone is not there or the admin cannot
 * log in: otherwise every test class would fail in setup with the same error.
 */
async function preflight(cloud: Cloud): Promise<void> {
  const v3 = `${cloud.url}/identity/v3`;
  let res;
  try {
    res = await http(v3);
  } catch (err) {
    throw new HarnessError(`GET ${v3}: ${(err as Error).message}`);
  }
  if (res.status !== 200) throw new HarnessError(`GET ${v3}: HTTP ${res.status} (is the identity service served?)\n${tail(res.body, 10)}`);
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: cloud.adminPassword } } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    },
  };
  try {
    res = await http(`${v3}/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    throw new HarnessError(`POST ${v3}/auth/tokens: ${(err as Error).message}`);
  }
  if (res.status !== 201 || !res.headers.get('x-subject-token')) {
    throw new HarnessError(`the admin cannot log in (POST ${v3}/auth/tokens as admin on project admin: HTTP ${res.status})\n${tail(res.body, 10)}`);
  }
}

// ---------------------------------------------------------------------------
// tempest.conf

/** oslo.config reads `$name` as a reference to another option; `$$` is a literal dollar. */
function confValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  const s = String(v);
  if (/[\r\n]/.test(s)) throw new HarnessError(`tempest.conf value with a newline: ${JSON.stringify(s)}`);
  return s.replace(/\$/g, '$$$$');
}

/** Renders sections as an INI file. */
export function renderConf(sections: ConfSections, header: string[] = []): string {
  const out = header.map((l) => `# ${l}`);
  for (const [name, opts] of Object.entries(sections)) {
    if (out.length) out.push('');
    out.push(`[${name}]`);
    for (const [k, v] of Object.entries(opts)) out.push(`${k} = ${confValue(v)}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * tempest.conf for a stackgate cloud. Every option here exists in Tempest 33's
 * tempest/config.py; check_tempest_conf.py verifies that against the installed
 * Tempest on every run.
 */
export function tempestConf(cloud: Cloud, area: Area, workspace: string): ConfSections {
  const services: TempestService[] = ['nova', 'glance', 'cinder', 'neutron', 'swift', 'horizon'];
  const base: ConfSections = {
    // What `tempest init` wrote: keep logs and locks inside the workspace.
    DEFAULT: { log_dir: join(workspace, 'logs'), log_file: 'tempest.log' },
    oslo_concurrency: { lock_path: join(workspace, 'tempest_lock') },
    auth: {
      admin_username: 'admin',
      admin_password: cloud.adminPassword,
      admin_project_name: 'admin',
      admin_domain_name: 'Default',
      admin_user_domain_name: 'Default',
      admin_project_domain_name: 'Default',
      // Every test class gets its own project and users, created through the gateway's Keystone.
      use_dynamic_credentials: true,
      default_credentials_domain_name: 'Default',
      tempest_roles: 'member',
      // Areas without Neutron have no networks to make; the compute area turns this on.
      create_isolated_networks: false,
    },
    identity: {
      catalog_type: 'identity',
      uri_v3: `${cloud.url}/identity/v3`,
      auth_version: 'v3',
      region: cloud.region,
      v3_endpoint_type: 'public',
      disable_ssl_certificate_validation: true,
      admin_role: 'admin',
      default_domain_id: 'default',
      // stackgate's admin role on project admin is enough; no domain-scoped token needed.
      admin_domain_scope: false,
    },
    // What a modern (post-Queens) Keystone has. Tempest 33 has no external_idp
    // or immutable_roles options (newer Tempests do), so they are not written.
    'identity-feature-enabled': {
      api_v2: false,
      api_v2_admin: false,
      api_v3: true,
      trust: true,
      project_tags: true,
      application_credentials: true,
      access_rules: true,
      domain_specific_drivers: false,
      security_compliance: false,
      immutable_user_source: false,
      api_extensions: 'all',
    },
    service_available: Object.fromEntries(services.map((s) => [s, area.services.includes(s)])),
    // stackgate does not enforce scope (system/domain/project) the way a keystone with enforce_scope does.
    enforce_scope: { keystone: false, nova: false, glance: false, cinder: false, neutron: false },
    // No servers to ssh into: never create keypairs, security groups or floating IPs for validation.
    validation: { run_validation: false },
    'service-clients': { http_timeout: 60 },
  };
  const extra = area.conf?.(cloud) ?? {};
  for (const [name, opts] of Object.entries(extra)) base[name] = { ...(base[name] ?? {}), ...opts };
  return base;
}

interface ConfCheck { tempest: string; unknown: string[]; invalid: string[] }

/** Loads the conf through the installed Tempest: unknown options are warned about, bad values stop the run. */
async function checkConf(confPath: string, workspace: string): Promise<ConfCheck> {
  const r = await run(PYTHON, [join(HELPERS, 'check_tempest_conf.py'), confPath], { cwd: workspace, timeoutMs: 120_000 });
  if (r.code !== 0 || r.timedOut) throw new HarnessError(`cannot load ${confPath} with tempest:\n${tail(r.stderr + r.stdout)}`);
  const check = JSON.parse(r.stdout) as ConfCheck;
  if (check.invalid.length) throw new HarnessError(`tempest rejects ${confPath}:\n${check.invalid.map((l) => `    ${l}`).join('\n')}`);
  if (check.unknown.length) say(`warning: tempest ${check.tempest} does not know these tempest.conf options: ${check.unknown.join(', ')}`);
  return check;
}

// ---------------------------------------------------------------------------
// Results

/** One test as subunit_results.py reports it. */
export interface RawTest { id: string; status: string; reason: string | null; traceback: string | null }

/** A failed or skipped test and why. */
export interface TestNote { test: string; reason: string }

/** One area's entry in reports/conformance.json. */
export interface AreaResult {
  date: string;
  tempest: string;
  regex: string;
  passed: number;
  failed: number;
  skipped: number;
  /** Set when the results cannot be taken at face value (the run hit its time limit, the gateway died). */
  incomplete?: string;
  failures: TestNote[];
  skips: TestNote[];
}

const MAX_REASON = 500;

/**
 * The line of a traceback that says what went wrong: the exception line of
 * the last traceback (the one finally raised), plus tempest's `Details:` line,
 * which carries the HTTP status or response body the gateway sent.
 */
export function failureReason(traceback: string | null | undefined): string {
  if (!traceback?.trim()) return '(no traceback)';
  const lines = traceback.replace(/\r/g, '').split('\n');
  let start = -1;
  lines.forEach((l, i) => { if (l.startsWith('Traceback (most recent call last)')) start = i; });
  let reason = '';
  let next = '';
  if (start >= 0) {
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.trim() === '' || /^\s/.test(l)) continue; // frames and source lines are indented
      reason = l.trim();
      next = (lines[i + 1] ?? '').trim();
      break;
    }
  }
  if (!reason) reason = lines.find((l) => l.trim())!.trim();
  if (next.startsWith('Details:')) reason = `${reason} ${next}`;
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

/** Counts and notes from the tests of one run. */
export function summarize(tests: RawTest[], meta: { date: string; tempest: string; regex: string; incomplete?: string }): AreaResult {
  let passed = 0;
  const failures: TestNote[] = [];
  const skips: TestNote[] = [];
  for (const t of tests) {
    switch (t.status) {
      case 'success':
      case 'xfail': // an expected failure is the outcome the test asked for
        passed++;
        break;
      case 'skip':
        skips.push({ test: t.id, reason: firstLine(t.reason) || '(no reason given)' });
        break;
      case 'uxsuccess':
        failures.push({ test: t.id, reason: 'unexpected success (the test is marked as an expected failure)' });
        break;
      case 'inprogress':
        failures.push({ test: t.id, reason: 'started but never finished (worker killed or run stopped)' });
        break;
      default: // 'fail' and anything subunit may add later
        failures.push({ test: t.id, reason: failureReason(t.traceback ?? t.reason) });
    }
  }
  const byTest = (a: TestNote, b: TestNote) => a.test.localeCompare(b.test);
  return {
    date: meta.date,
    tempest: meta.tempest,
    regex: meta.regex,
    passed,
    failed: failures.length,
    skipped: skips.length,
    ...(meta.incomplete ? { incomplete: meta.incomplete } : {}),
    failures: failures.sort(byTest),
    skips: skips.sort(byTest),
  };
}

function firstLine(s: string | null | undefined): string {
  const line = (s ?? '').split('\n').find((l) => l.trim())?.trim() ?? '';
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/** Parses a subunit file (v1 or v2) with the python subunit module. */
async function readSubunit(file: string, workspace: string): Promise<RawTest[]> {
  const r = await run(PYTHON, [join(HELPERS, 'subunit_results.py'), file], { cwd: workspace, timeoutMs: 300_000 });
  if (r.code !== 0 || r.timedOut) throw new HarnessError(`cannot parse ${file}:\n${tail(r.stderr)}`);
  return (JSON.parse(r.stdout) as { tests: RawTest[] }).tests;
}

/**
 * The tests of the workspace's last stestr run. When the run was stopped,
 * stestr never finalised it, but the unfinished stream is still in
 * .stestr/tmp* (subunit v1): partial results beat none.
 */
async function lastRunTests(workspace: string, allowPartial: boolean): Promise<{ tests: RawTest[]; partial: boolean }> {
  const stream = join(workspace, 'last.subunit');
  const r = await run(PYTHON, ['-m', 'stestr', 'last', '--subunit'], { cwd: workspace, timeoutMs: 300_000, stdoutFile: stream });
  if (r.code === 0 && !r.timedOut && statSync(stream).size > 0) {
    const tests = await readSubunit(stream, workspace);
    if (tests.length || !allowPartial) return { tests, partial: false };
  }
  if (allowPartial) {
    const dir = join(workspace, '.stestr');
    const temps = existsSync(dir)
      ? readdirSync(dir).filter((f) => f.startsWith('tmp')).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
      : [];
    if (temps.length) return { tests: await readSubunit(temps[0]!, workspace), partial: true };
  }
  throw new HarnessError(`no test results in ${workspace}/.stestr (\`stestr last\`: ${tail(r.stderr, 5).trim() || `exit ${r.code}`})`);
}

/** The Totals block `tempest run` prints (stestr's subunit-trace), or null when it did not get that far. */
export function traceTotals(log: string): { passed: number; failed: number; skipped: number } | null {
  const n = (label: string) => Number(new RegExp(`^ - ${label}: (\\d+)$`, 'm').exec(log)?.[1] ?? NaN);
  const t = { passed: n('Passed') + n('Expected Fail'), failed: n('Failed') + n('Unexpected Success'), skipped: n('Skipped') };
  return Object.values(t).some(Number.isNaN) ? null : t;
}

async function tempestVersion(): Promise<string> {
  const r = await run(PYTHON, ['-c', "from importlib.metadata import version; print(version('tempest'))"], { timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout.trim() : 'unknown';
}

// ---------------------------------------------------------------------------
// Reports

/** reports/conformance.json: one entry per area. */
export type ConformanceReport = Record<string, AreaResult>;

function readReport(path: string): ConformanceReport {
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as ConformanceReport;
  } catch { /* reported below */ }
  throw new HarnessError(`${path} is not a JSON object; fix or remove it (the other areas' results are kept in it)`);
}

const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\s+/g, ' ');
/** Inside a code span backslashes are literal; only the table's pipe needs escaping. */
const mdCode = (s: string) => `\`${s.replace(/\|/g, '\\|').replace(/\s+/g, ' ')}\``;

/** The readable report, from the whole JSON. */
export function renderMarkdown(report: ConformanceReport): string {
  const areas = Object.keys(report).sort();
  const out = [
    '# Tempest conformance',
    '',
    'Upstream Tempest API tests run against a fresh stackgate gateway (`make conformance-<area>`,',
    'scripts/conformance.ts). Generated from conformance.json; do not edit.',
    '',
    '| Area | Passed | Failed | Skipped | Tempest | Selection | Date |',
    '| --- | ---: | ---: | ---: | --- | --- | --- |',
  ];
  for (const a of areas) {
    const r = report[a]!;
    const area = r.incomplete ? `${a} (incomplete)` : a;
    out.push(`| ${mdCell(area)} | ${r.passed} | ${r.failed} | ${r.skipped} | ${mdCell(r.tempest)} | ${mdCode(r.regex ?? '')} | ${r.date} |`);
  }
  for (const a of areas) {
    const r = report[a]!;
    out.push('', `## ${a}`, '');
    const total = r.passed + r.failed + r.skipped;
    const ran = r.passed + r.failed;
    out.push(`${r.passed} of ${ran} tests that ran passed${ran ? ` (${Math.round((r.passed / ran) * 1000) / 10} %)` : ''}; ${r.skipped} of ${total} skipped.`);
    if (r.incomplete) out.push('', `**Incomplete:** ${r.incomplete}`);
    if (r.failures.length) {
      out.push('', `### Failures (${r.failures.length})`, '', '| Test | Reason |', '| --- | --- |');
      for (const f of r.failures) out.push(`| ${mdCode(f.test)} | ${mdCell(f.reason)} |`);
    }
    if (r.skips.length) {
      // Grouped by reason: most skips share one (a feature flag off), and one line each would bury the failures.
      const groups = new Map<string, string[]>();
      for (const s of r.skips) groups.set(s.reason, [...(groups.get(s.reason) ?? []), s.test]);
      out.push('', `### Skips (${r.skips.length})`, '', '| Reason | Tests |', '| --- | --- |');
      for (const [reason, tests] of [...groups].sort((x, y) => y[1].length - x[1].length || x[0].localeCompare(y[0]))) {
        out.push(`| ${mdCell(reason)} | ${tests.map(mdCode).join('<br>')} |`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

function writeReports(dir: string, area: string, result: AreaResult): void {
  mkdirSync(dir, { recursive: true });
  const jsonPath = join(dir, 'conformance.json');
  const merged = readReport(jsonPath);
  merged[area] = result;
  const sorted: ConformanceReport = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]!]));
  writeFileSync(jsonPath, `${JSON.stringify(sorted, null, 2)}\n`);
  writeFileSync(join(dir, 'conformance.md'), renderMarkdown(sorted));
}

// ---------------------------------------------------------------------------
// Main

interface Options {
  area: string;
  regex: string;
  keep: boolean;
  timeoutMs: number;
  gateway: string | null;
  adminPassword: string | null;
  reports: string;
  resultsFrom: string | null;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      area: { type: 'string' },
      keep: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      regex: { type: 'string' },
      gateway: { type: 'string' },
      'admin-password': { type: 'string' },
      reports: { type: 'string' },
      'results-from': { type: 'string' },
    },
  });
  if (!values.area) throw new UsageError('--area is required');
  if (values.gateway && values['results-from']) throw new UsageError('--results-from reads a finished run; it takes no --gateway');
  const area = AREAS[values.area];
  if (!area) throw new UsageError(`unknown area "${values.area}" (known: ${Object.keys(AREAS).join(', ')})`);
  const timeout = values.timeout === undefined ? 1200 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 10 || timeout > 24 * 3600) throw new UsageError('--timeout: whole seconds, 10 to 86400');
  if (values.gateway && !values['admin-password']) throw new UsageError('--gateway needs --admin-password');
  if (values['admin-password'] && !values.gateway) throw new UsageError('--admin-password goes with --gateway (a started gateway gets a random one)');
  return {
    area: values.area,
    regex: values.regex ?? area.regex,
    keep: values.keep ?? false,
    timeoutMs: timeout * 1000,
    gateway: values.gateway ? gatewayBase(values.gateway) : null,
    adminPassword: values['admin-password'] ?? null,
    reports: resolve(values.reports ?? join(ROOT, 'reports')),
    resultsFrom: values['results-from'] ? resolve(values['results-from']) : null,
  };
}

let tmpRoot: string | null = null;
let keepTmp = false;
let cleaning: Promise<void> | null = null;

/** Stops every child we started and removes the temporary directory (unless --keep); runs once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...live].map((c) => stopGroup(c, 5_000)));
    if (tmpRoot && !keepTmp) rmSync(tmpRoot, { recursive: true, force: true });
    else if (tmpRoot) say(`kept ${tmpRoot}`);
  })();
  return cleaning;
}

async function runTempest(opts: Options, area: Area, cloud: Cloud, dir: string): Promise<{ tests: RawTest[]; incomplete?: string; tempest: string; log: string }> {
  const ws = join(dir, 'tempest');
  // An empty seed config dir and a private workspace registry: `tempest init`
  // would otherwise create ~/.tempest/etc and register the workspace in ~/.tempest/workspace.yaml.
  const seed = join(dir, 'tempest-seed-etc');
  mkdirSync(seed);
  const init = await run(TEMPEST, ['init', '--config-dir', seed, '--workspace-path', join(dir, 'tempest-workspaces.yaml'), ws], { timeoutMs: 120_000 });
  if (init.code !== 0 || init.timedOut) throw new HarnessError(`\`tempest init\` failed:\n${tail(init.stderr + init.stdout)}`);
  const confPath = join(ws, 'etc', 'tempest.conf');
  writeFileSync(confPath, renderConf(tempestConf(cloud, area, ws), [
    `Written by scripts/conformance.ts for area ${opts.area}: stackgate at ${cloud.url}.`,
  ]), { mode: 0o600 });
  const check = await checkConf(confPath, ws);

  const log = join(ws, 'run.log');
  say(`running tempest ${check.tempest}: --regex '${opts.regex}' (limit ${opts.timeoutMs / 1000} s, log ${log})`);
  const started = Date.now();
  // Progress, because a full run is quiet for many minutes otherwise.
  const beat = setInterval(() => {
    let done = 0;
    try { done = (readFileSync(log, 'utf8').match(/ \.\.\. (ok|FAILED|SKIPPED)/g) ?? []).length; } catch { /* not yet */ }
    say(`  ${Math.round((Date.now() - started) / 1000)} s, ${done} tests done`);
  }, 60_000);
  let r: RunResult;
  try {
    r = await run(TEMPEST, ['run', '--config-file', confPath, '--regex', opts.regex, '--concurrency', '2'], {
      cwd: ws, timeoutMs: opts.timeoutMs, logFile: log,
    });
  } finally {
    clearInterval(beat);
  }
  let tests: RawTest[];
  let partial = false;
  try {
    ({ tests, partial } = await lastRunTests(ws, r.timedOut));
  } catch (err) {
    if (err instanceof HarnessError) throw new HarnessError(`tempest ran no tests (exit ${r.code ?? r.signal}); ${log}:\n${tailFile(log)}\n  ${err.message}`);
    throw err;
  }
  if (!tests.length) throw new HarnessError(`tempest ran no tests for --regex '${opts.regex}'; ${log}:\n${tailFile(log)}`);
  const incomplete = r.timedOut
    ? `tempest run stopped at the ${opts.timeoutMs / 1000} s limit; ${partial ? 'results of the tests that finished' : 'results as stestr recorded them'}`
    : undefined;
  return { tests, incomplete, tempest: check.tempest, log };
}

async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = options(argv);
  } catch (err) {
    process.stderr.write(`conformance: ${(err as Error).message}\n`);
    return 2;
  }
  const area = AREAS[opts.area]!;
  const date = new Date().toISOString();

  // Fail before a 20-minute run, not after it, when the results cannot be merged.
  readReport(join(opts.reports, 'conformance.json'));

  let tests: RawTest[];
  let incomplete: string | undefined;
  let tempest: string;
  let log: string | null = null;
  if (opts.resultsFrom) {
    ({ tests } = await lastRunTests(opts.resultsFrom, false));
    tempest = await tempestVersion();
  } else {
    tmpRoot = mkdtempSync(join(tmpdir(), `stackgate-conformance-${opts.area}-`));
    keepTmp = opts.keep;
    mkdirSync(join(tmpRoot, 'tmp'));
    childEnv = { ...childEnv, TMPDIR: join(tmpRoot, 'tmp') };
    if (opts.keep) say(`working in ${tmpRoot}`);
    let cloud: Cloud;
    let gateway: ChildProcess | null = null;
    if (opts.gateway) {
      cloud = { url: opts.gateway, adminPassword: opts.adminPassword!, region: 'RegionOne' };
    } else {
      // base64url: no `$`, quotes or spaces, so it survives YAML, INI and argv untouched.
      const gw = await startGateway(tmpRoot, randomBytes(18).toString('base64url'));
      cloud = gw.cloud;
      gateway = gw.child;
      say(`gateway listening on ${cloud.url} (log ${gw.log})`);
    }
    await preflight(cloud);
    ({ tests, incomplete, tempest, log } = await runTempest(opts, area, cloud, tmpRoot));
    // Tests after a crash all fail with "connection refused": say so instead of blaming each of them.
    if (gateway && (gateway.exitCode !== null || gateway.signalCode !== null)) {
      const died = `the gateway exited (${gateway.exitCode ?? gateway.signalCode}) during the run; see its log`;
      incomplete = incomplete ? `${incomplete}; ${died}` : died;
    }
  }

  const result = summarize(tests, { date, tempest, regex: opts.regex, incomplete });
  // Cross-check against tempest's own count: a disagreement means the parsing is off, not the gateway.
  const totals = log && existsSync(log) ? traceTotals(readFileSync(log, 'utf8')) : null;
  if (totals && (totals.passed !== result.passed || totals.failed !== result.failed || totals.skipped !== result.skipped)) {
    say(`warning: tempest's own totals differ (${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped); check ${log}`);
  }
  writeReports(opts.reports, opts.area, result);
  say(`wrote ${join(opts.reports, 'conformance.json')} and conformance.md`);
  process.stdout.write(`conformance ${opts.area}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped\n`);
  if (incomplete) {
    process.stderr.write(`conformance: ${incomplete}\n`);
    return 1;
  }
  return 0;
}

/** Run as a script (not imported, e.g. by a test of summarize/renderMarkdown). */
const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (isMain) {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      stopping = true;
      process.stderr.write(`conformance: ${signal}, stopping\n`);
      void cleanup().finally(() => process.exit(128 + number));
    });
  }

  main(process.argv.slice(2)).then(
    async (code) => {
      if (stopping) return; // the signal handler exits
      await cleanup();
      process.exit(code);
    },
    async (err: unknown) => {
      if (stopping) return;
      process.stderr.write(err instanceof HarnessError
        ? `conformance: harness failed: ${err.message}\n`
        : `conformance: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      await cleanup();
      if (tmpRoot && !keepTmp) process.stderr.write('conformance: rerun with --keep to inspect the gateway and tempest logs\n');
      process.exit(1);
    },
  );
}
