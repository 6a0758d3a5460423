/** A real `stackgate serve` process on a temp data dir, and an admin client for it. */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, start, type Started } from './lib.js';

export const BENCH_PASSWORD = 'bench-pw';

/** `stackgate init` into dir (with `args`: --store-url), with the rate limiter and audit log off (we measure the gateway, not them). */
export function initDataDir(dir: string, args: string[] = []): string {
  execFileSync(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'init', '--dir', dir, '--admin-password', BENCH_PASSWORD, '--port', '0', ...args]);
  const config = join(dir, 'stackgate.yaml');
  appendFileSync(config, 'hooks: { rateLimit: false, audit: false }\n');
  return config;
}

export interface BenchGateway extends Started {
  token: string;
  projectId: string;
  /** JSON request as the admin; throws unless 2xx. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Starts `stackgate serve` on the config (sandbox servers build in 10 ms, so BUILD is not what we time) and logs in. */
export async function startGateway(config: string, timeoutMs = 60_000): Promise<BenchGateway> {
  const env = { STACKGATE_LOG_LEVEL: 'warn', STACKGATE_CONFIG: config, STACKGATE_SANDBOX_BUILD_DELAY_MS: '10' };
  // BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const g = await start([...nodeArgs, join(ROOT, 'dist/src/cli.js'), 'serve', '--config', config, '--port', '0'], env, timeoutMs);
  const auth = { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: BENCH_PASSWORD } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } };
  const res = await fetch(`${g.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(auth) });
  const body = await res.json() as { token: { project: { id: string } } };
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`bench login: ${res.status}`);
  const api = async <T>(method: string, path: string, reqBody?: unknown): Promise<T> => {
    const r = await fetch(g.url + path, {
      method, headers: { 'x-auth-token': token, accept: 'application/json', ...(reqBody === undefined ? {} : { 'content-type': 'application/json' }) },
      body: reqBody === undefined ? undefined : JSON.stringify(reqBody),
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`bench ${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return { ...g, token, projectId: body.token.project.id, api };
}
