/**
 * Horizon (Debian `openstack-dashboard`, Horizon 23) on loopback, without
 * apache or systemd: Django's `runserver --insecure --noreload` (one process,
 * so the local-memory cache and the file sessions are shared by every
 * request; `--insecure` serves the packaged, offline-compressed static files
 * with DEBUG off) with a settings module written to a temporary directory
 * that imports Debian's settings and overrides what a test needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const HORIZON_MANAGE = '/usr/share/openstack-dashboard/manage.py';
export const HORIZON_PYTHON = '/usr/bin/python3';
const HORIZON_PACKAGE = '/usr/lib/python3/dist-packages/openstack_dashboard/settings.py';

export interface HorizonOptions {
  /** Keystone v3 of the gateway, e.g. http://127.0.0.1:PORT/identity/v3 */
  keystoneUrl: string;
  /** Port on 127.0.0.1; a free one when not given. */
  port?: number;
  /** Where the settings, sessions and log go; a new temporary directory (removed by stop) when not given. */
  dir?: string;
  /** How long to wait for Horizon to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Extra Python lines appended to the settings module. */
  extraSettings?: string;
}

export interface HorizonInstance {
  /** http://127.0.0.1:PORT (no trailing slash); Horizon's WEBROOT is "/". */
  url: string;
  /** Horizon's log: Django, Horizon, keystoneauth and the python clients at DEBUG (each API request and its answer). */
  logFile: string;
  stop(): Promise<void>;
}

/** Whether the Debian Horizon package is installed. */
export function horizonAvailable(): boolean {
  return existsSync(HORIZON_MANAGE) && existsSync(HORIZON_PYTHON) && existsSync(HORIZON_PACKAGE);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const py = (s: string) => JSON.stringify(s); // a JSON string is a valid Python string literal

function settingsModule(o: { keystoneUrl: string; port: number; dir: string; logFile: string; extra: string }): string {
  return `# Written by test/helpers/horizon.ts: Debian's Horizon settings, for a test on loopback.
import os
import horizon.utils.secret_key as _secret_key

# Debian's local_settings.py makes (or reads) its key under /var/lib/openstack-dashboard;
# a test must not write there (nor depend on being allowed to).
_secret_key.generate_or_read_from_file = lambda *args, **kwargs: 'stackgate-horizon-test-secret-key'

from openstack_dashboard.settings import *  # noqa: F401,F403

SECRET_KEY = 'stackgate-horizon-test-secret-key'
# DEBUG stays False: the packaged static files are compressed offline for DEBUG=False
# (runserver --insecure serves them).
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
OPENSTACK_HOST = '127.0.0.1'
OPENSTACK_KEYSTONE_URL = ${py(o.keystoneUrl)}
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = 'Default'
OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
OPENSTACK_ENDPOINT_TYPE = 'publicURL'
OPENSTACK_SSL_NO_VERIFY = True
OPENSTACK_PROFILER = {'enabled': False}

# No memcached: local memory (one process), sessions in files.
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
SESSION_ENGINE = 'django.contrib.sessions.backends.file'
SESSION_FILE_PATH = ${py(join(o.dir, 'sessions'))}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_TIMEOUT = 3600

COMPRESS_ENABLED = True
COMPRESS_OFFLINE = True

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {'plain': {'format': '%(asctime)s %(levelname)s %(name)s %(message)s'}},
    'handlers': {'file': {'level': 'DEBUG', 'class': 'logging.FileHandler', 'filename': ${py(o.logFile)}, 'formatter': 'plain'}},
    'root': {'handlers': ['file'], 'level': 'INFO'},
    'loggers': {
        name: {'handlers': ['file'], 'level': 'DEBUG', 'propagate': False}
        for name in ['horizon', 'openstack_dashboard', 'openstack_auth', 'keystoneauth', 'keystoneclient',
                     'novaclient', 'cinderclient', 'glanceclient', 'neutronclient', 'openstack', 'django.request', 'django.server']
    },
}
${o.extra}
`;
}

/** Starts Horizon against `keystoneUrl`; resolves once the login page answers, or throws with the log's tail. */
export async function startHorizon(opts: HorizonOptions): Promise<HorizonInstance> {
  if (!horizonAvailable()) throw new Error('Horizon is not installed (apt-get install openstack-dashboard)');
  const ownDir = !opts.dir;
  const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'sg-horizon-')));
  mkdirSync(join(dir, 'sessions'), { recursive: true });
  const port = opts.port ?? await freePort();
  const logFile = join(dir, 'horizon.log');
  writeFileSync(logFile, '');
  writeFileSync(join(dir, 'stackgate_horizon_settings.py'), settingsModule({ keystoneUrl: opts.keystoneUrl, port, dir, logFile, extra: opts.extraSettings ?? '' }));
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(HORIZON_PYTHON, [HORIZON_MANAGE, 'runserver', `127.0.0.1:${port}`, '--noreload', '--insecure'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8',
        PYTHONPATH: dir, DJANGO_SETTINGS_MODULE: 'stackgate_horizon_settings', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1',
      },
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exited = `exited (${code ?? signal})`; resolve(); }));
  child.once('error', (err) => { exited = `failed to start: ${err.message}`; });

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5_000);
      await exit;
      clearTimeout(timer);
    }
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const tail = () => {
    try { return readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n'); } catch { return '(no log)'; }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let last = '';
  for (;;) {
    if (exited) {
      const t = tail();
      await stop();
      throw new Error(`Horizon ${exited} before answering; log tail:\n${t}`);
    }
    try {
      const res = await fetch(`${url}/auth/login/`, { signal: AbortSignal.timeout(5_000), redirect: 'manual' });
      const body = await res.text();
      if (res.status === 200 && body.includes('name="password"')) break;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const t = tail();
      await stop();
      throw new Error(`Horizon did not answer on ${url}/auth/login/ within ${opts.startTimeoutMs ?? 60_000} ms (last: ${last}); log tail:\n${t}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, logFile, stop };
}

/** One request that passed through a recording proxy. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  status: number;
  /** Request body (first 2 KB), when there was one. */
  requestBody?: string;
  /** Response body (first 4 KB) of a 4xx/5xx answer. */
  responseBody?: string;
  ms: number;
}

export interface RecordingProxy {
  /** http://127.0.0.1:PORT — use it instead of the gateway's URL. */
  url: string;
  requests: ProxiedRequest[];
  /** Requests answered 4xx/5xx. */
  failures(): ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of `target` that records every request
 * (method, path and query, status; bodies of failures). The Host header is
 * passed on unchanged, so the gateway's catalog (built from Host) points
 * clients back at the proxy and every later call is recorded too.
 */
export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const { createServer: createHttpServer, request: httpRequest } = await import('node:http');
  const t = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createHttpServer((req, res) => {
    const start = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = Buffer.concat(chunks);
      const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ures) => {
        const out: Buffer[] = [];
        ures.on('data', (c: Buffer) => out.push(c));
        ures.on('end', () => {
          const resBody = Buffer.concat(out);
          const status = ures.statusCode ?? 0;
          requests.push({
            method: req.method ?? '', url: req.url ?? '', status, ms: Date.now() - start,
            ...(received.length ? { requestBody: received.subarray(0, 2048).toString('utf8') } : {}),
            ...(status >= 400 ? { responseBody: resBody.subarray(0, 4096).toString('utf8') } : {}),
          });
          res.writeHead(status, ures.rawHeaders);
          res.end(resBody);
        });
      });
      up.on('error', (err) => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', status: 502, responseBody: err.message, ms: Date.now() - start });
        res.writeHead(502).end(err.message);
      });
      up.end(received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failures: () => requests.filter((r) => r.status >= 400),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Chromium from Debian, as the browser tests drive it (playwright-core brings no browser). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Lines of Horizon's log that say something failed (WARNING and above, tracebacks), without the packaging noise. */
export function horizonProblems(logFile: string): string[] {
  let text = '';
  try { text = readFileSync(logFile, 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => (/^\S+ \S+ (WARNING|ERROR|CRITICAL) /.test(l) || /^\S+ \S+ INFO openstack_auth\.\S+ .*failed/i.test(l))
    && !l.includes('OPENSTACK_IMAGE_BACKEND'));
}
