/**
 * Servers at scale, through the real HTTP API of a spawned `stackgate serve`:
 *
 *   create   POST /compute/v2.1/servers, `count` times with a few clients in
 *            flight → servers/s, per block of 100 too (it slows as the store
 *            grows); baseline: the same client POSTing the same body to a bare
 *            Koa route that does one SQLite insert of a document as large as a
 *            sandbox server record (same table layout, WAL, one transaction).
 *   list     GET /compute/v2.1/servers/detail?limit=100, first page and a
 *            `marker` page alternately, one client → p50/p99 ms, with 100,
 *            1,000 and 10,000 servers in the store; baselines: the 100-server
 *            figure, and a bare Koa route answering the same 100-server body.
 *
 * The store is filled to 10,000 by cloning the API-made servers (and their
 * ports and create actions) with new ids, names, MACs and addresses through
 * SandboxStore.insert from this process while the gateway is stopped: the
 * rows are what createServer writes, without its per-create full scans.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import { SandboxStore, isoZ, type Resource } from '../../drivers/sandbox/store.js';
import type { PortRecord } from '../../drivers/sandbox/cloud.js';
import type { ServerRecord } from '../../drivers/sandbox/compute-views.js';
import { startGateway, type BenchGateway } from './gateway.js';
import { drive, log, percentile, round, rssMb, start } from './lib.js';

export interface ServerBenchOptions {
  /** Data dir made by initDataDir, and its config. */
  dir: string;
  config: string;
  /** Servers made through the API (1,000). */
  create: number;
  /** Servers in the store for the large listing (10,000). */
  fill: number;
  /** Clients in flight while creating. */
  concurrency: number;
  /** Stop creating after this long, whatever the count. */
  createSeconds: number;
}

const BARE_INSERT = `
import Koa from 'koa';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
const db = new Database(process.env.BENCH_DB);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(\`CREATE TABLE sandbox_resources (
  kind TEXT NOT NULL, id TEXT NOT NULL, project_id TEXT, name TEXT, data TEXT NOT NULL,
  seq INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (kind, id));
  CREATE INDEX sandbox_resources_project ON sandbox_resources (kind, project_id, seq);
  CREATE INDEX sandbox_resources_seq ON sandbox_resources (kind, seq);
  CREATE INDEX sandbox_resources_name ON sandbox_resources (kind, name);\`);
const insert = db.prepare('INSERT INTO sandbox_resources (kind, id, project_id, name, data, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const pad = 'x'.repeat(Number(process.env.BENCH_PAD));
let seq = 0;
const app = new Koa();
app.use(async (ctx) => {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  const server = JSON.parse(raw).server;
  const id = randomUUID();
  const now = new Date().toISOString();
  const doc = JSON.stringify({ ...server, id, pad, created_at: now, updated_at: now });
  db.transaction(() => insert.run('server', id, 'bench', server.name, doc, ++seq, now, now)).immediate();
  ctx.status = 202;
  ctx.body = { server: { id, links: [] } };
});
const s = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

const BARE_PAGE = `
import Koa from 'koa';
import { readFileSync } from 'node:fs';
const page = JSON.parse(readFileSync(process.env.BENCH_PAGE, 'utf8'));
const app = new Koa();
app.use((ctx) => { ctx.body = page; });
const s = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

interface Latency { requests: number; p50Ms: number; p99Ms: number; firstPageP50Ms: number; markerPageP50Ms: number; bodyBytes: number }

/** GET base+path, one at a time, alternating the first page and the page after its marker, until n requests or the deadline. */
async function listLatency(base: string, token: string | null, n: number, seconds: number): Promise<Latency & { firstPage: string }> {
  const path = '/compute/v2.1/servers/detail?limit=100';
  const headers: Record<string, string> = token ? { 'x-auth-token': token, accept: 'application/json' } : { accept: 'application/json' };
  const get = async (p: string): Promise<{ ms: number; text: string }> => {
    const t0 = performance.now();
    const res = await fetch(base + p, { headers });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`bench GET ${p}: ${res.status} ${text.slice(0, 200)}`);
    return { ms: performance.now() - t0, text };
  };
  // Untimed: the first read settles servers out of BUILD (one write each) and warms the route.
  const first = await get(path);
  await get(path);
  const page = JSON.parse(first.text) as { servers: unknown[]; servers_links?: { href: string }[] };
  const next = page.servers_links?.[0]?.href;
  const markerPath = next ? '/compute/v2.1/servers/detail' + new URL(next).search : path;
  const firstMs: number[] = [];
  const markerMs: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; i < n && performance.now() < deadline; i++) {
    if (i % 2 === 0) firstMs.push((await get(path)).ms);
    else markerMs.push((await get(markerPath)).ms);
  }
  const all = [...firstMs, ...markerMs];
  return {
    requests: all.length, p50Ms: round(percentile(all, 50)), p99Ms: round(percentile(all, 99)),
    firstPageP50Ms: round(percentile(firstMs, 50)), markerPageP50Ms: markerMs.length ? round(percentile(markerMs, 50)) : 0,
    bodyBytes: Buffer.byteLength(first.text), firstPage: first.text,
  };
}

/** Flavor, image and a /16 network for many servers, and quotas out of the way. */
async function setUp(g: BenchGateway): Promise<{ flavorRef: string; imageRef: string; networkId: string }> {
  await g.api('PUT', `/compute/v2.1/os-quota-sets/${g.projectId}`, { quota_set: { instances: -1, cores: -1, ram: -1 } });
  await g.api('PUT', `/network/v2.0/quotas/${g.projectId}`, { quota: { port: -1 } });
  const net = await g.api<{ network: { id: string } }>('POST', '/network/v2.0/networks', { network: { name: 'bench-net' } });
  await g.api('POST', '/network/v2.0/subnets', { subnet: { network_id: net.network.id, ip_version: 4, cidr: '10.64.0.0/16', name: 'bench-subnet' } });
  const image = await g.api<{ id: string }>('POST', '/image/v2/images', { name: 'bench-image', disk_format: 'raw', container_format: 'bare' });
  const put = await fetch(`${g.url}/image/v2/images/${image.id}/file`, { method: 'PUT', headers: { 'x-auth-token': g.token, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1024) });
  if (put.status !== 204) throw new Error(`bench image upload: ${put.status}`);
  const flavors = await g.api<{ flavors: { id: string; ram: number; disk: number }[] }>('GET', '/compute/v2.1/flavors/detail');
  const flavor = [...flavors.flavors].sort((a, b) => a.ram - b.ram)[0]!;
  return { flavorRef: flavor.id, imageRef: image.id, networkId: net.network.id };
}

/** Clones the API-made servers (with ports and create actions) until the store holds `target`; returns the mean server document size. */
export function fillStore(dbPath: string, target: number): { added: number; seconds: number; serverDocBytes: number } {
  const t0 = performance.now();
  const db = new SqliteStore(dbPath);
  try {
    const store = new SandboxStore(db);
    const servers = store.list<ServerRecord>('server');
    const docBytes = servers.reduce((n, s) => n + JSON.stringify(s).length, 0) / servers.length;
    const portOf = new Map(store.list<PortRecord>('port', { where: (p) => p.device_owner.startsWith('compute:') }).map((p) => [p.device_id, p]));
    type Action = Resource & { server_id: string; action: string };
    const actionOf = new Map(store.list<Action>('instance_action', { where: (a) => a.action === 'create' }).map((a) => [a.server_id, a]));
    const add = Math.max(0, target - servers.length);
    const firstAddress = (10 << 24 | 64 << 16 | 16 << 8) >>> 0; // 10.64.16.0 and up: above what the API allocated
    store.tx(() => {
      for (let n = 0; n < add; n++) {
        const src = servers[n % servers.length]!;
        const id = store.newId();
        const now = isoZ();
        const serial = store.next('instance');
        const name = `${src.name}-copy${n}`;
        store.insert<ServerRecord>('server', {
          ...structuredClone(src), id, name, hostname: name, instance_name: `instance-${serial.toString(16).padStart(8, '0')}`, created_at: now, updated_at: now,
        });
        const port = portOf.get(src.id);
        if (port) {
          const a = firstAddress + n;
          const ip = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
          const mac = `fa:16:3f:${[n >> 16, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
          store.insert<PortRecord>('port', {
            ...structuredClone(port), id: store.newId(), device_id: id, mac_address: mac,
            fixed_ips: port.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: ip })), created_at: now, updated_at: now,
          });
        }
        const action = actionOf.get(src.id);
        if (action) store.insert<Action>('instance_action', { ...structuredClone(action), id: store.newId(), server_id: id });
      }
    });
    return { added: add, seconds: (performance.now() - t0) / 1000, serverDocBytes: Math.round(docBytes) };
  } finally {
    db.close();
  }
}

export async function benchServers(o: ServerBenchOptions): Promise<Record<string, unknown>> {
  const dbPath = join(o.dir, 'stackgate.db');
  let g = await startGateway(o.config);
  const results: Record<string, unknown> = {};
  try {
    const { flavorRef, imageRef, networkId } = await setUp(g);
    const createBody = (i: number) => JSON.stringify({ server: { name: `bench-${i}`, flavorRef, imageRef, networks: [{ uuid: networkId }] } });

    // Create in blocks of 100, listing once with 100 in the store.
    const blockRates: number[] = [];
    let created = 0;
    let createSeconds = 0;
    let list100: Latency | undefined;
    const deadline = performance.now() + o.createSeconds * 1000;
    const gw = g;
    while (created < o.create && performance.now() < deadline) {
      const block = Math.min(100, o.create - created);
      const base = created;
      const r = await drive(block, o.concurrency, async (i) => {
        const res = await fetch(`${gw.url}/compute/v2.1/servers`, { method: 'POST', headers: { 'x-auth-token': gw.token, 'content-type': 'application/json' }, body: createBody(base + i) });
        const text = await res.text();
        if (res.status !== 202) throw new Error(`bench create server: ${res.status} ${text.slice(0, 300)}`);
      }, deadline);
      created += r.done;
      createSeconds += r.seconds;
      blockRates.push(round(r.done / r.seconds));
      log(`servers: created ${created}/${o.create}  (${round(r.done / r.seconds)}/s for the last ${r.done})`);
      if (created === 100 && !list100) {
        const { firstPage: _page100, ...l } = await listLatency(g.url, g.token, 200, 15);
        list100 = l;
        log(`servers: list detail limit=100 with 100 in store   p50 ${list100.p50Ms} ms  p99 ${list100.p99Ms} ms  (${list100.requests} requests)`);
      }
    }
    const createRate = created / createSeconds;
    const { firstPage: _page1k, ...list1k } = await listLatency(g.url, g.token, 100, 20);
    log(`servers: list detail limit=100 with ${created} in store  p50 ${list1k.p50Ms} ms  p99 ${list1k.p99Ms} ms  (${list1k.requests} requests)`);
    const rssAt1k = rssMb(g.pid);
    await g.stop();

    // Fill to 10,000 with the gateway stopped.
    const fill = fillStore(dbPath, o.fill);
    log(`servers: cloned ${fill.added} servers (with ports and actions) into the store in ${round(fill.seconds)} s`);

    // Baseline for create: the same client, body and concurrency against one SQLite insert per POST.
    const bareDb = join(o.dir, 'bare-insert.db');
    const bare = await start(['--input-type=module', '-e', BARE_INSERT], { BENCH_DB: bareDb, BENCH_PAD: String(fill.serverDocBytes) });
    const bareRun = await drive(created, o.concurrency, async (i) => {
      const res = await fetch(`${bare.url}/compute/v2.1/servers`, { method: 'POST', headers: { 'x-auth-token': gw.token, 'content-type': 'application/json' }, body: createBody(i) });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`bench bare insert: ${res.status}`);
    });
    await bare.stop();
    rmSync(bareDb, { force: true });
    const bareRate = bareRun.done / bareRun.seconds;
    results.serverCreate = {
      servers: created, seconds: round(createSeconds), perSecond: round(createRate), perSecondByBlockOf100: blockRates,
      bareKoaSqliteInsertPerSecond: round(bareRate), ratio: round(createRate / bareRate, 3), concurrency: o.concurrency,
      note: 'POST /compute/v2.1/servers (one port on a /16 network, image, smallest flavor; sandbox buildDelayMs 10) via the real HTTP API of a spawned gateway; '
        + `baseline: the same client and body POSTed to a bare Koa route doing one SQLite insert (WAL, same table and indexes) of a ${fill.serverDocBytes}-byte document, the mean sandbox server record size`,
    };
    log(`servers: create ${round(createRate)}/s (${created} in ${round(createSeconds)} s)  bare Koa + 1 SQLite insert ${round(bareRate)}/s  ratio ${round(createRate / bareRate, 3)}`);

    // List with 10,000 servers.
    g = await startGateway(o.config);
    const startMs10k = g.ms;
    const { firstPage, ...list10k } = await listLatency(g.url, g.token, 60, 60);
    log(`servers: list detail limit=100 with ${o.fill} in store  p50 ${list10k.p50Ms} ms  p99 ${list10k.p99Ms} ms  (${list10k.requests} requests)`);
    const rssAt10k = rssMb(g.pid);
    await g.stop();

    // Baseline for list: a bare Koa route answering the same 100-server body (Koa stringifies it per request, as the gateway does).
    const pageFile = join(o.dir, 'page.json');
    writeFileSync(pageFile, firstPage);
    const barePage = await start(['--input-type=module', '-e', BARE_PAGE], { BENCH_PAGE: pageFile });
    const { firstPage: _b, ...bareList } = await listLatency(barePage.url, null, 200, 10);
    await barePage.stop();
    log(`servers: bare Koa, same ${round(list10k.bodyBytes / 1024)} KB body   p50 ${bareList.p50Ms} ms  p99 ${bareList.p99Ms} ms`);

    results.serverList = {
      request: 'GET /compute/v2.1/servers/detail?limit=100, and the page after its marker, alternately, one client',
      with100: list100, [`with${created}`]: list1k, [`with${o.fill}`]: list10k,
      bareKoaSameBody: { requests: bareList.requests, p50Ms: bareList.p50Ms, p99Ms: bareList.p99Ms },
      p50Ratio10kVs100: list100 ? round(list10k.p50Ms / list100.p50Ms) : null,
      p50Ratio10kVsBareKoa: round(list10k.p50Ms / bareList.p50Ms),
      gatewayStartMsWith10k: Math.round(startMs10k),
      note: `first ${created} servers through the API, the rest cloned from them (server, port, create action; new ids, names, MACs, addresses) `
        + 'by SandboxStore.insert from the bench process with the gateway stopped; two untimed warm-up requests per point (the first settles BUILD servers)',
    };
    results.rssWithServers = { [`with${created}Mb`]: rssAt1k, [`with${o.fill}AfterListingMb`]: rssAt10k };
    log(`servers: RSS ${rssAt1k} MB with ${created} servers, ${rssAt10k} MB with ${o.fill} after listing`);
  } finally {
    await g.stop();
  }
  return results;
}
