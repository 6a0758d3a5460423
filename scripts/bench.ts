/**
 * make bench: figures anyone can repeat, each next to a baseline measured in
 * the same run (these machines are shared and noisy).
 *
 *   regen      time of `make regen` for all services (in process, no writes)
 *   start      spawn → listening of `stackgate serve`, vs a bare Koa server
 *   rss        resident memory with all six services loaded, vs a bare Koa server
 *   tokens     token issue and validate rates, vs a bare Koa route with the same client,
 *              and vs Debian's Keystone 22 on loopback (sqlite, fernet), when installed
 *   servers    create 1,000 servers through the API (rate), vs a bare Koa route doing
 *              one SQLite insert; GET /servers/detail?limit=100 p50/p99 with 100,
 *              1,000 and 10,000 servers, vs 100 and a bare Koa route with the same body
 *   images     image upload and download MB/s, vs a plain copy of the file (bench/images.ts)
 *
 * Writes reports/bench.json and a chart of the ratios, reports/bench.svg.
 * Targets: regen < 30 s, start < 1 s, RSS < 150 MB, token rates ≥ 10× Keystone's.
 * BENCH_RUNS, BENCH_SERVERS, BENCH_FILL, BENCH_CREATE_SECONDS, BENCH_IMAGE_MB scale it down;
 * BENCH_ONLY=tokens (comma-separated section names) runs only those and keeps the
 * other figures of the last reports/bench.json.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAll } from '../codegen/index.js';
import { BARE_KOA, ROOT, median, rssMb, start, type Started } from './bench/lib.js';
import { initDataDir } from './bench/gateway.js';
import { benchServers } from './bench/servers.js';
import { benchImages } from './bench/images.js';
import { benchChart } from './bench/chart.js';
import { startUpstreamOpenStack, upstreamAvailable } from '../test/helpers/upstream-openstack.js';

const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const section = (name: string) => ONLY.size === 0 || ONLY.has(name);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Servers created through the API, and servers in the store for the large listing. */
const SERVERS = Number(process.env.BENCH_SERVERS ?? 1000);
const FILL = Number(process.env.BENCH_FILL ?? 10_000);
const CREATE_SECONDS = Number(process.env.BENCH_CREATE_SECONDS ?? 120);
const IMAGE_MB = Number(process.env.BENCH_IMAGE_MB ?? 256);

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
  const reportPath = join(ROOT, 'reports/bench.json');
  // With BENCH_ONLY, the other sections keep their last figures.
  const results: Record<string, unknown> = ONLY.size && existsSync(reportPath) ? JSON.parse(readFileSync(reportPath, 'utf8')) as Record<string, unknown> : {};

  if (section('regen')) await benchRegen(results);
  if (section('start')) await benchStart(results);
  if (section('tokens')) await benchTokens(results);
  if (section('servers') || section('images')) await benchCloud(results);

  summary(results);
  mkdirSync(join(ROOT, 'reports'), { recursive: true });
  writeFileSync(reportPath, JSON.stringify({ ...results, runs: RUNS, node: process.version }, null, 2) + '\n');
  writeFileSync(join(ROOT, 'reports/bench.svg'), benchChart(results));
  console.log('bench: wrote reports/bench.json and reports/bench.svg');
}

async function benchRegen(results: Record<string, unknown>): Promise<void> {
  const regen: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const t0 = performance.now();
    await generateAll();
    regen.push((performance.now() - t0) / 1000);
  }
  results.regen = { seconds: median(regen), runs: regen, target: 30 };
  console.log(`bench: regen (6 services)        ${median(regen).toFixed(1)} s   (target < 30 s)`);
}

async function benchStart(results: Record<string, unknown>): Promise<void> {
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
}

async function benchTokens(results: Record<string, unknown>): Promise<void> {
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
      note: 'issue includes a scrypt password check (N=2^14) per token',
    };
    console.log(`bench: token issue                ${Math.round(issueRate)}/s (scrypt password check per issue)`);
    console.log(`bench: token validate             ${Math.round(validateRate)}/s  bare Koa ${Math.round(bareRate)}/s  ratio ${(validateRate / bareRate).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (upstreamAvailable()) await benchKeystone(results.tokens as Record<string, unknown>);
  else console.log('bench: Debian keystone not installed: no Keystone baseline');
}

/** The same token calls, same client and concurrency, against Debian's Keystone 22 (loopback, sqlite, fernet). */
async function benchKeystone(tokens: Record<string, unknown>): Promise<void> {
  // Both at their production password hashing: Keystone's default bcrypt cost 12, the gateway's scrypt N=2^14.
  const u = await startUpstreamOpenStack({ passwordHashRounds: 12 });
  try {
    const authBody = JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: u.admin.username, domain: { id: 'default' }, password: u.admin.password } } }, scope: { project: { name: u.admin.projectName, domain: { id: 'default' } } } } });
    const issue = () => fetch(`${u.keystoneUrl}/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: authBody });
    const token = (await issue()).headers.get('x-subject-token')!;
    const validate = () => fetch(`${u.keystoneUrl}/v3/auth/tokens?nocatalog`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
    const issueRate = await rate(issue, 40);
    const validateRate = await rate(validate, 300);
    Object.assign(tokens, {
      keystoneIssuePerSecond: +issueRate.toFixed(1), keystoneValidatePerSecond: +validateRate.toFixed(1),
      issueVsKeystone: +((tokens.issuePerSecond as number) / issueRate).toFixed(1),
      validateVsKeystone: +((tokens.validatePerSecond as number) / validateRate).toFixed(1),
      keystone: 'Debian keystone 22, keystone-wsgi-public (one process), sqlite WAL, fernet, bcrypt cost 12 (its default), in-memory cache',
      keystoneTarget: 10,
    });
    console.log(`bench: Keystone token issue       ${issueRate.toFixed(1)}/s  stackgate/Keystone ${tokens.issueVsKeystone}  (target ≥ 10)`);
    console.log(`bench: Keystone token validate    ${validateRate.toFixed(1)}/s  stackgate/Keystone ${tokens.validateVsKeystone}  (target ≥ 10)`);
  } finally {
    await u.stop();
  }
}

async function benchCloud(results: Record<string, unknown>): Promise<void> {
  // servers and images, on one temp data dir (removed whatever happens)
  const cloudDir = mkdtempSync(join(tmpdir(), 'sg-bench-cloud-'));
  try {
    const config = initDataDir(cloudDir);
    if (section('servers')) Object.assign(results, await benchServers({ dir: cloudDir, config, create: SERVERS, fill: FILL, concurrency: 4, createSeconds: CREATE_SECONDS }));
    if (section('images')) Object.assign(results, await benchImages({ dir: cloudDir, config, mb: IMAGE_MB, runs: Math.min(RUNS, 3) }));
  } finally {
    rmSync(cloudDir, { recursive: true, force: true });
  }
}

/** The figures side by side with their baselines, at the end of the run. */
function summary(r: Record<string, unknown>): void {
  // Each section's shape is made above; read back loosely for printing only.
  const get = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
  const list = get('serverList') as Record<string, { p50Ms: number; p99Ms: number } | undefined> | undefined;
  const at = (n: number) => list?.[`with${n}`];
  const rows: [string, string, string, string][] = [
    ['figure', 'stackgate', 'baseline', 'ratio'],
    ['regen (s)', String((get('regen.seconds') as number).toFixed(1)), 'target 30', ''],
    ['start (ms)', String(get('start.ms')), `bare Koa ${get('start.bareKoaMs')}`, String(get('start.ratio'))],
    ['RSS after a request per service (MB)', String(get('rss.afterOneRequestPerServiceMb')), `bare Koa ${get('rss.bareKoaMb')}`, String(get('rss.ratio'))],
    ['token validate (/s)', String(get('tokens.validatePerSecond')), `bare Koa ${get('tokens.bareKoaPerSecond')}`, String(get('tokens.validateVsBare'))],
    ['token validate (/s)', String(get('tokens.validatePerSecond')), `Keystone ${get('tokens.keystoneValidatePerSecond')}`, String(get('tokens.validateVsKeystone'))],
    ['token issue (/s)', String(get('tokens.issuePerSecond')), `Keystone ${get('tokens.keystoneIssuePerSecond')}`, String(get('tokens.issueVsKeystone'))],
    ['server create (/s)', String(get('serverCreate.perSecond')), `Koa + 1 insert ${get('serverCreate.bareKoaSqliteInsertPerSecond')}`, String(get('serverCreate.ratio'))],
  ];
  const l100 = at(100);
  for (const n of [SERVERS, FILL]) {
    const l = at(n);
    if (l && l100) rows.push([`servers/detail limit=100, ${n} servers p50/p99 (ms)`, `${l.p50Ms} / ${l.p99Ms}`, `100 servers ${l100.p50Ms} / ${l100.p99Ms}`, (l.p50Ms / l100.p50Ms).toFixed(1)]);
  }
  const bare = list?.bareKoaSameBody;
  const l10k = at(FILL);
  if (bare && l10k) rows.push([`  same, vs bare Koa with the same body`, `${l10k.p50Ms} / ${l10k.p99Ms}`, `bare Koa ${bare.p50Ms} / ${bare.p99Ms}`, (l10k.p50Ms / bare.p50Ms).toFixed(1)]);
  rows.push([`RSS with ${FILL} servers, after listing (MB)`, String(get(`rssWithServers.with${FILL}AfterListingMb`)), `bare Koa ${get('rss.bareKoaMb')}`, '']);
  rows.push(['image upload (MB/s)', String(get('imageData.uploadMBps')), `stream copy ${get('imageData.streamCopyMBps')}`, String(get('imageData.uploadVsStreamCopy'))]);
  rows.push(['image download (MB/s)', String(get('imageData.downloadMBps')), `stream copy ${get('imageData.streamCopyMBps')}`, String(get('imageData.downloadVsStreamCopy'))]);
  rows.push(['  plain copyFile (MB/s)', String(get('imageData.copyFileMBps')), '', '']);
  const width = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log('');
  for (const row of rows) console.log('  ' + row.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('   '));
  console.log('');
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
