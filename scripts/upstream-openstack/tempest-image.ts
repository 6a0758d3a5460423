/**
 * Tempest's image API tests (tempest.api.image.v2) against the real Keystone
 * + Glance of test/helpers/upstream-openstack.ts, twice: directly, and
 * through a gateway whose region is the OpenStack passthrough to them (users
 * of the real Keystone logging in through the `upstream-keystone` plugin,
 * Tempest's users and projects made through the gateway with forwardAdmin).
 * The passthrough should pass at least what Glance passes directly.
 *
 *   node --import tsx scripts/upstream-openstack/tempest-image.ts [--only direct|passthrough] [--keep] [--timeout SECONDS] [--regex R] [--report FILE]
 *
 * tempest.conf is the one scripts/conformance.ts writes for its `image.v2`
 * area (same options, only Keystone's URL and the admin differ). Prints the
 * totals and the failed tests of each run and writes them as JSON to
 * --report (default reports/passthrough-image.json).
 * Exit 0 when tempest ran (whatever the tests did), 1 when it did not.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startGateway, type Harness } from '../../test/helpers/gateway.js';
import { startUpstreamOpenStack, upstreamAvailable, type Credentials, type UpstreamOpenStack } from '../../test/helpers/upstream-openstack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const TEMPEST = existsSync('/usr/bin/tempest') ? '/usr/bin/tempest' : 'tempest';

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '1080' },
    regex: { type: 'string', default: '^tempest\\.api\\.image\\.v2' },
    only: { type: 'string' },
    report: { type: 'string', default: join(ROOT, 'reports', 'passthrough-image.json') },
  },
});

function say(line: string): void {
  process.stderr.write(`tempest-image: ${line}\n`);
}

/** The running tempest command's process group, stopped on SIGINT/SIGTERM (the servers die with this process: pdeathsig). */
let current: number | undefined;
for (const [signal, n] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
  process.once(signal, () => {
    if (current) try { process.kill(-current, 'SIGKILL'); } catch { /* gone */ }
    say(`${signal}: stopped`);
    process.exit(128 + n);
  });
}

/** Runs a command in its own process group, output to a log file; kills the group at the time limit. */
function run(cmd: string, argv: string[], cwd: string, log: string, timeoutMs: number): Promise<{ code: number | null; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const fd = openSync(log, 'a');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PYTHON|PYENV|VIRTUAL_ENV|OS_|STACKGATE_)/.test(k)));
    const child = spawn(cmd, argv, { cwd, env: { ...env, TMPDIR: cwd }, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    current = child.pid;
    child.on('exit', () => { current = undefined; });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
      setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000).unref();
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, timedOut }); });
  });
}

type Conf = Record<string, Record<string, string | number | boolean>>;

function render(conf: Conf): string {
  return Object.entries(conf).map(([s, o]) => `[${s}]\n${Object.entries(o).map(([k, v]) =>
    `${k} = ${typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v).replace(/\$/g, '$$$$')}`).join('\n')}\n`).join('\n');
}

/** Where Tempest's Keystone is and who its admin is. */
interface Target { keystoneUrl: string; region: string; admin: Credentials }

/** scripts/conformance.ts's tempestConf() for area image.v2, with Keystone at t.keystoneUrl. */
function tempestConf(u: Target, ws: string): Conf {
  return {
    DEFAULT: { log_dir: join(ws, 'logs'), log_file: 'tempest.log' },
    oslo_concurrency: { lock_path: join(ws, 'tempest_lock') },
    auth: {
      admin_username: u.admin.username,
      admin_password: u.admin.password,
      admin_project_name: u.admin.projectName,
      admin_domain_name: 'Default',
      admin_user_domain_name: u.admin.userDomainName,
      admin_project_domain_name: u.admin.projectDomainName,
      use_dynamic_credentials: true,
      default_credentials_domain_name: 'Default',
      tempest_roles: 'member',
      create_isolated_networks: false,
    },
    identity: {
      catalog_type: 'identity',
      uri_v3: `${u.keystoneUrl}/v3`,
      auth_version: 'v3',
      region: u.region,
      v3_endpoint_type: 'public',
      disable_ssl_certificate_validation: true,
      admin_role: 'admin',
      default_domain_id: 'default',
      admin_domain_scope: false,
    },
    'identity-feature-enabled': {
      api_v2: false, api_v2_admin: false, api_v3: true, trust: true, project_tags: true,
      application_credentials: true, access_rules: true, domain_specific_drivers: false,
      security_compliance: false, immutable_user_source: false, api_extensions: 'all',
    },
    service_available: { nova: false, glance: true, cinder: false, neutron: false, swift: false, horizon: false },
    enforce_scope: { keystone: false, nova: false, glance: false, cinder: false, neutron: false },
    validation: { run_validation: false },
    'service-clients': { http_timeout: 60 },
  };
}

/** subunit-trace's Totals block at the end of `tempest run`'s output. */
function totals(log: string): { passed: number; failed: number; skipped: number } | null {
  const block = log.slice(log.lastIndexOf('\nTotals\n'));
  const n = (label: string) => Number(new RegExp(`^ - ${label}: (\\d+)$`, 'm').exec(block)?.[1] ?? NaN);
  const t = { passed: n('Passed'), failed: n('Failed'), skipped: n('Skipped') };
  return log.includes('\nTotals\n') && Object.values(t).every(Number.isFinite) ? t : null;
}

interface RunResult { passed: number; failed: number; skipped: number; seconds: number; failures: string[] }

/** One `tempest run` against `target`, in a fresh workspace under `dir`. */
async function tempest(target: Target, dir: string, name: string): Promise<RunResult | null> {
  const ws = join(dir, `tempest-${name}`);
  const seed = join(dir, `tempest-seed-etc-${name}`);
  mkdirSync(seed);
  const initLog = join(dir, `tempest-init-${name}.log`);
  const init = await run(TEMPEST, ['init', '--config-dir', seed, '--workspace-path', join(dir, `tempest-workspaces-${name}.yaml`), ws], dir, initLog, 120_000);
  if (init.code !== 0) throw new Error(`tempest init failed:\n${readFileSync(initLog, 'utf8')}`);
  const confPath = join(ws, 'etc', 'tempest.conf');
  writeFileSync(confPath, render(tempestConf(target, ws)), { mode: 0o600 });
  const log = join(ws, 'run.log');
  say(`${name}: tempest run --regex '${args.regex}' --concurrency 2 (limit ${args.timeout} s, log ${log})`);
  const started = Date.now();
  const r = await run(TEMPEST, ['run', '--config-file', confPath, '--regex', args.regex!, '--concurrency', '2'], ws, log, Number(args.timeout) * 1000);
  const seconds = Math.round((Date.now() - started) / 1000);
  const out = readFileSync(log, 'utf8');
  const t = totals(out);
  const failures = [...out.matchAll(/^\{\d+\} (.+?)(?: \[[\d.]+s\])? \.\.\. FAILED$/gm)].map((m) => m[1]!);
  if (!t) {
    say(`${name}: tempest produced no totals (exit ${r.code}${r.timedOut ? ', time limit' : ''}); last lines of ${log}:\n${out.split('\n').slice(-30).join('\n')}`);
    return null;
  }
  say(`${name}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped in ${seconds} s${r.timedOut ? ' (time limit hit)' : ''}`);
  for (const f of failures) say(`  FAILED ${f}`);
  return { ...t, seconds, failures };
}

/** A JSON call to the real Keystone. */
async function keystone(u: UpstreamOpenStack, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- Keystone's JSON
  const res = await fetch(`${u.keystoneUrl}/v3${path}`, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/**
 * A gateway whose only region forwards Glance to `u`, with Tempest's admin an
 * upstream user of its own project (the gateway's local `admin` keeps that name).
 */
async function passthroughGateway(u: UpstreamOpenStack): Promise<{ h: Harness; target: Target }> {
  const login = await fetch(`${u.keystoneUrl}/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: u.admin.username, domain: { id: 'default' }, password: u.admin.password } } }, scope: { project: { name: u.admin.projectName, domain: { id: 'default' } } } } }),
  });
  const token = login.headers.get('x-subject-token')!;
  const name = 'tempest-admin';
  const admin: Credentials = { username: name, password: randomBytes(12).toString('hex'), projectName: name, userDomainName: 'Default', projectDomainName: 'Default' };
  const project = (await keystone(u, token, 'POST', '/projects', { project: { name, domain_id: 'default' } })).json.project.id as string;
  const user = (await keystone(u, token, 'POST', '/users', { user: { name, password: admin.password, domain_id: 'default' } })).json.user.id as string;
  const role = (await keystone(u, token, 'GET', '/roles?name=admin')).json.roles[0].id as string;
  await keystone(u, token, 'PUT', `/projects/${project}/users/${user}/roles/${role}`);
  const h = await startGateway({
    region: 'RegionOne',
    backend: 'openstack',
    identity: { auth: ['upstream-keystone', 'local'], upstreamKeystone: { authUrl: `${u.keystoneUrl}/v3`, forwardAdmin: true } },
    openstack: { credentials: 'user', services: ['image'], upstreamRegion: u.region },
  });
  return { h, target: { keystoneUrl: `${h.url}/identity`, region: 'RegionOne', admin } };
}

async function main(): Promise<number> {
  if (!upstreamAvailable()) {
    say('keystone and glance are not installed');
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sg-tempest-image-'));
  const u = await startUpstreamOpenStack({ keepDir: args.keep });
  say(`keystone ${u.keystoneUrl}, glance ${u.glanceUrl} (started in ${(u.startMs / 1000).toFixed(1)} s; dir ${u.dir})`);
  const results: Record<string, RunResult | null> = {};
  try {
    if (args.only !== 'passthrough') results.direct = await tempest({ keystoneUrl: u.keystoneUrl, region: u.region, admin: u.admin }, dir, 'direct');
    if (args.only !== 'direct') {
      const { h, target } = await passthroughGateway(u);
      try {
        results.passthrough = await tempest(target, dir, 'passthrough');
      } finally {
        await h.close();
      }
    }
    if (Object.values(results).some((r) => r === null)) return 1;
    const report = { regex: args.regex, date: new Date().toISOString(), glance: 'Debian glance-api 25 (sqlite, file store)', keystone: 'Debian keystone 22', ...results };
    mkdirSync(dirname(args.report!), { recursive: true });
    writeFileSync(args.report!, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return 0;
  } finally {
    await u.stop();
    if (args.keep) say(`kept ${dir} and ${u.dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  say(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
