/**
 * make bench: figures anyone can repeat, each next to a baseline measured in
 * the same run (these machines are shared and noisy). HTTP load comes from
 * Debian's wrk on loopback, in its own process and bounded in time
 * (scripts/bench/wrk.ts); the gateway and its baseline are separate
 * processes whose runs take turns, so both see the same machine.
 *
 *   regen      time of `make regen` for all services (in process, no writes)
 *   start      spawn → listening of `stackgate serve`, vs a bare Koa server
 *   rss        resident memory with all six services loaded, vs a bare Koa server
 *   tokens     token validate, vs a bare Koa route and vs Debian's Keystone 22 on
 *              loopback (sqlite, fernet, bcrypt 12); token issue vs Keystone, both
 *              a repeat login (the verified-password cache) and a first login
 *              (scrypt every time) (bench/tokens.ts)
 *   servers    create about 1,000 servers through the API (rate), vs a bare Koa route
 *              doing one SQLite insert; GET /servers/detail?limit=100 p50/p99 with 100,
 *              about 1,000 and 10,000 servers, vs 100 and (at 10,000) a bare Koa
 *              route answering the same body (bench/servers.ts)
 *   images     image upload and download MB/s, vs a plain copy of the file (bench/images.ts)
 *   stores     server create, servers/detail and token validate on the PostgreSQL
 *              store vs the same on SQLite, when PostgreSQL is installed (bench/stores.ts)
 *
 * Writes reports/bench.json and a chart of the ratios, reports/bench.svg.
 * Targets: regen < 30 s, start < 1 s, RSS < 150 MB, token rates ≥ 10× Keystone's,
 * servers/detail with 10,000 servers ≤ 1.3× the bare Koa route's p50.
 * About 5 minutes. BENCH_RUNS, BENCH_ROUNDS, BENCH_SECONDS (per wrk run), BENCH_SERVERS,
 * BENCH_FILL, BENCH_CREATE_SECONDS, BENCH_IMAGE_MB scale it; BENCH_ONLY=tokens
 * (comma-separated section names) runs only those and keeps the other figures of the
 * last reports/bench.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAll } from '../codegen/index.js';
import { BARE_KOA, ROOT, median, rssMb, start, type Started } from './bench/lib.js';
import { initDataDir } from './bench/gateway.js';
import { benchServers } from './bench/servers.js';
import { benchTokens } from './bench/tokens.js';
import { wrkAvailable } from './bench/wrk.js';
import { benchImages } from './bench/images.js';
import { benchStores } from './bench/stores.js';
import { benchChart } from './bench/chart.js';

const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
const section = (name: string) => ONLY.size === 0 || ONLY.has(name);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Turns of gateway and baseline, and seconds of each wrk run. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Servers created through the API, and servers in the store for the large listing. */
const SERVERS = Number(process.env.BENCH_SERVERS ?? 1000);
const FILL = Number(process.env.BENCH_FILL ?? 10_000);
const CREATE_SECONDS = Number(process.env.BENCH_CREATE_SECONDS ?? 60);
const IMAGE_MB = Number(process.env.BENCH_IMAGE_MB ?? 256);

/** One request per service, so every service's routes and validators have run. */
const WARM = [
  '/identity/v3', '/compute/v2.1/flavors/detail', '/compute/v2.1/flavors/1', '/image/', '/volume/', '/network/',
  '/placement/', '/compute/v2.1/servers', '/network/v2.0/networks', '/volume/v3/volumes', '/image/v2/images',
];

async function main(): Promise<void> {
  const reportPath = join(ROOT, 'reports/bench.json');
  // With BENCH_ONLY, the other sections keep their last figures.
  const results: Record<string, unknown> = ONLY.size && existsSync(reportPath) ? JSON.parse(readFileSync(reportPath, 'utf8')) as Record<string, unknown> : {};

  if ((section('tokens') || section('servers') || section('stores')) && !wrkAvailable()) {
    console.error('bench: the HTTP load generator is Debian\'s wrk, which is not installed: apt-get install wrk');
    process.exit(2);
  }
  if (section('regen')) await benchRegen(results);
  if (section('start')) await benchStart(results);
  if (section('tokens')) await benchTokenSection(results);
  if (section('servers') || section('images')) await benchCloud(results);
  if (section('stores')) Object.assign(results, await benchStores({ rounds: ROUNDS, seconds: SECONDS, connections: 4 }));

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
  // A data dir of its own, made by `stackgate init` with its defaults (removed whatever happens).
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-start-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'init', '--dir', dir, '--admin-password', 'bench-pw', '--port', '0']);
    await startAndRss(results, join(dir, 'stackgate.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startAndRss(results: Record<string, unknown>, config: string): Promise<void> {
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
    const g = await start([join(ROOT, 'dist/src/cli.js'), 'serve', '--config', config, '--port', '0'], { STACKGATE_LOG_LEVEL: 'warn' });
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

async function benchTokenSection(results: Record<string, unknown>): Promise<void> {
  // a data dir of its own (removed whatever happens)
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-tokens-'));
  try {
    Object.assign(results, await benchTokens({ dir, config: initDataDir(dir), rounds: ROUNDS, seconds: SECONDS }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchCloud(results: Record<string, unknown>): Promise<void> {
  // servers and images, on one temp data dir (removed whatever happens)
  const cloudDir = mkdtempSync(join(tmpdir(), 'sg-bench-cloud-'));
  try {
    const config = initDataDir(cloudDir);
    if (section('servers')) {
      Object.assign(results, await benchServers({
        dir: cloudDir, config, create: SERVERS, fill: FILL, connections: 4, createSeconds: CREATE_SECONDS, createRunSeconds: 1, listSeconds: SECONDS, rounds: ROUNDS,
      }));
    }
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
  const rows: [string, string, string, string][] = [
    ['figure', 'stackgate', 'baseline', 'ratio'],
    ['regen (s)', String((get('regen.seconds') as number | undefined)?.toFixed(1)), 'target < 30', ''],
    ['start (ms)', String(get('start.ms')), `bare Koa ${get('start.bareKoaMs')}`, String(get('start.ratio'))],
    ['RSS after a request per service (MB)', String(get('rss.afterOneRequestPerServiceMb')), `bare Koa ${get('rss.bareKoaMb')}`, String(get('rss.ratio'))],
    ['token validate (/s)', String(get('tokens.validatePerSecond')), `bare Koa ${get('tokens.bareKoaPerSecond')}`, String(get('tokens.validateVsBare'))],
    ['token validate (/s)', String(get('tokens.validatePerSecond')), `Keystone ${get('tokens.keystoneValidatePerSecond')}`, String(get('tokens.validateVsKeystone'))],
    ['token issue, repeat login: password cache (/s)', String(get('tokens.repeatIssuePerSecond')), `Keystone ${get('tokens.keystoneIssuePerSecond')}`, String(get('tokens.repeatIssueVsKeystone'))],
    ['token issue, first login: scrypt (/s)', String(get('tokens.issuePerSecond')), `Keystone ${get('tokens.keystoneIssuePerSecond')}`, String(get('tokens.issueVsKeystone'))],
    ['server create (/s)', String(get('serverCreate.perSecond')), `Koa + 1 insert ${get('serverCreate.bareKoaSqliteInsertPerSecond')}`, String(get('serverCreate.ratio'))],
  ];
  const l100 = list?.with100;
  // The servers made through the API (about SERVERS: creates run by time), then FILL.
  const counts = Object.keys(list ?? {}).map((k) => /^with(\d+)$/.exec(k)?.[1]).filter((n): n is string => n !== undefined && n !== '100').map(Number).sort((a, b) => a - b);
  for (const n of counts) {
    const l = list?.[`with${n}`];
    if (l && l100) rows.push([`servers/detail limit=100, ${n} servers p50/p99 (ms)`, `${l.p50Ms} / ${l.p99Ms}`, `100 servers ${l100.p50Ms} / ${l100.p99Ms}`, (l.p50Ms / l100.p50Ms).toFixed(2)]);
  }
  const bare = list?.bareKoaSameBody;
  const l10k = list?.[`with${FILL}`];
  if (bare && l10k) rows.push([`  same, vs bare Koa with the same body`, `${l10k.p50Ms} / ${l10k.p99Ms}`, `bare Koa ${bare.p50Ms} / ${bare.p99Ms}`, (l10k.p50Ms / bare.p50Ms).toFixed(2)]);
  rows.push([`RSS with ${FILL} servers, after listing (MB)`, String(get(`rssWithServers.with${FILL}AfterListingMb`)), `bare Koa ${get('rss.bareKoaMb')}`, '']);
  rows.push(['image upload (MB/s)', String(get('imageData.uploadMBps')), `stream copy ${get('imageData.streamCopyMBps')}`, String(get('imageData.uploadVsStreamCopy'))]);
  rows.push(['image download (MB/s)', String(get('imageData.downloadMBps')), `stream copy ${get('imageData.streamCopyMBps')}`, String(get('imageData.downloadVsStreamCopy'))]);
  rows.push(['  plain copyFile (MB/s)', String(get('imageData.copyFileMBps')), '', '']);
  if (get('stores')) {
    rows.push(['server create, PostgreSQL store (/s)', String(get('stores.postgres.createPerSecond')), `SQLite ${get('stores.sqlite.createPerSecond')}`, String(get('stores.createRatio'))]);
    rows.push(['servers/detail limit=100, PostgreSQL p50 (ms)', String(get('stores.postgres.listP50Ms')), `SQLite ${get('stores.sqlite.listP50Ms')}`, String(get('stores.listP50Ratio'))]);
    rows.push(['token validate, PostgreSQL store (/s)', String(get('stores.postgres.validatePerSecond')), `SQLite ${get('stores.sqlite.validatePerSecond')}`, String(get('stores.validateRatio'))]);
  }
  const width = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log('');
  for (const row of rows) console.log('  ' + row.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('   '));
  console.log('');
}

main().catch((err: unknown) => { console.error(err); process.exit(1); });
