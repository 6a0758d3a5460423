/**
 * make bench: figures anyone can repeat, each next to a baseline measured in
 * the same run (these machines are shared and noisy).
 *
 *   regen      time of `make regen` for all services (in process, no writes)
 *   start      spawn → listening of `stackgate serve`, vs a bare Koa server
 *   rss        resident memory with all six services loaded, vs a bare Koa server
 *   tokens     token issue and validate rates, vs a bare Koa route with the same client
 *
 * Writes reports/bench.json. Targets: regen < 30 s, start < 1 s, RSS < 150 MB.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAll } from '../codegen/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

interface Started { ms: number; url: string; pid: number; stop(): Promise<void> }

/** Spawns a server and waits for its "listening on URL" line. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no listening line after 20 s: ${out}`)); }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          ms: performance.now() - t0, url: m[1]!, pid: child.pid!,
          stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); if (!/listening/.test(out)) reject(new Error(`exited ${code}: ${out}`)); });
  });
}

const BARE_KOA = `
import Koa from 'koa';
const app = new Koa();
app.use((ctx) => { ctx.body = { ok: true }; });
const s = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

/** One request per service, so every service's routes and validators have run. */
const WARM = [
  '/identity/v3', '/compute/v2.1/flavors/detail', '/compute/v2.1/flavors/1', '/image/', '/volume/', '/network/',
  '/placement/', '/compute/v2.1/servers', '/network/v2.0/networks', '/volume/v3/volumes', '/image/v2/images',
];

const CONCURRENCY = 8;

/** Requests per second of `call`, `count` times with CONCURRENCY in flight; each must answer 2xx. */
async function rate(call: () => Promise<Response>, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      next++;
      const res = await call();
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`bench request answered ${res.status}`);
    }
  }));
  return count / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};

  // regen
  const regen: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const t0 = performance.now();
    await generateAll();
    regen.push((performance.now() - t0) / 1000);
  }
  results.regen = { seconds: median(regen), runs: regen, target: 30 };
  console.log(`bench: regen (6 services)        ${median(regen).toFixed(1)} s   (target < 30 s)`);

  // start and RSS, gateway vs bare Koa, alternating so both see the same machine
  const gw: Started[] = [];
  const bare: Started[] = [];
  const gwRss: number[] = [];
  const gwRssWarm: number[] = [];
  const bareRss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const b = await start(['--input-type=module', '-e', BARE_KOA]);
    bareRss.push(rssMb(b.pid));
    await b.stop();
    bare.push(b);
    const g = await start([join(ROOT, 'dist/src/cli.js'), 'serve', '--port', '0'], { STACKGATE_LOG_LEVEL: 'warn', STACKGATE_DATA_DIR: join(ROOT, '.stackgate/bench') });
    gwRss.push(rssMb(g.pid));
    for (const p of WARM) await (await fetch(g.url + p)).arrayBuffer();
    gwRssWarm.push(rssMb(g.pid));
    await g.stop();
    gw.push(g);
  }
  const startMs = median(gw.map((s) => s.ms));
  const bareMs = median(bare.map((s) => s.ms));
  results.start = { ms: Math.round(startMs), bareKoaMs: Math.round(bareMs), ratio: +(startMs / bareMs).toFixed(2), target: 1000 };
  results.rss = {
    mb: median(gwRss), afterOneRequestPerServiceMb: median(gwRssWarm), bareKoaMb: median(bareRss),
    ratio: +(median(gwRssWarm) / median(bareRss)).toFixed(2), target: 150,
  };
  console.log(`bench: start (spawn → listening)  ${Math.round(startMs)} ms  bare Koa ${Math.round(bareMs)} ms  ratio ${(startMs / bareMs).toFixed(2)}  (target < 1000 ms)`);
  console.log(`bench: RSS, all services loaded   ${median(gwRss)} MB, ${median(gwRssWarm)} MB after a request to each  bare Koa ${median(bareRss)} MB  (target < 150 MB)`);

  // token issue and validate, against a bare Koa route driven by the same client
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'init', '--dir', dir, '--admin-password', 'bench-pw', '--port', '0']);
    // Measure the gateway, not its rate limiter.
    appendFileSync(join(dir, 'stackgate.yaml'), 'hooks: { rateLimit: false, audit: false }\n');
    const env = { STACKGATE_LOG_LEVEL: 'warn', STACKGATE_CONFIG: join(dir, 'stackgate.yaml') };
    const g = await start([join(ROOT, 'dist/src/cli.js'), 'serve', '--config', join(dir, 'stackgate.yaml'), '--port', '0'], env);
    const b = await start(['--input-type=module', '-e', BARE_KOA]);
    const authBody = JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'bench-pw' } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } });
    const issue = () => fetch(`${g.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: authBody });
    const token = (await issue()).headers.get('x-subject-token')!;
    const validate = () => fetch(`${g.url}/identity/v3/auth/tokens?nocatalog`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
    const bare = () => fetch(`${b.url}/`);
    const issueRate = await rate(issue, 300);
    const validateRate = await rate(validate, 2000);
    const bareRate = await rate(bare, 2000);
    await g.stop();
    await b.stop();
    results.tokens = {
      issuePerSecond: Math.round(issueRate), validatePerSecond: Math.round(validateRate), bareKoaPerSecond: Math.round(bareRate),
      validateVsBare: +(validateRate / bareRate).toFixed(2), concurrency: CONCURRENCY,
      note: 'issue includes a scrypt password check (N=2^14); Keystone comparison is the scale-out issue\'s',
    };
    console.log(`bench: token issue                ${Math.round(issueRate)}/s (scrypt password check per issue)`);
    console.log(`bench: token validate             ${Math.round(validateRate)}/s  bare Koa ${Math.round(bareRate)}/s  ratio ${(validateRate / bareRate).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  mkdirSync(join(ROOT, 'reports'), { recursive: true });
  writeFileSync(join(ROOT, 'reports/bench.json'), JSON.stringify({ runs: RUNS, node: process.version, ...results }, null, 2) + '\n');
  console.log('bench: wrote reports/bench.json');
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
