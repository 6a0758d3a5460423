/**
 * Servers at scale, through the real HTTP API of a spawned `stackgate serve`,
 * with Debian's wrk as the client (scripts/bench/wrk.ts):
 *
 *   create   POST /compute/v2.1/servers by wrk with a few connections, in
 *            short runs until about 1,000 servers (after 100 untimed ones)
 *            → servers/s, per run too (it slows as the store grows); baseline,
 *            run by run in turn with it: the same requests to a bare Koa route
 *            that does one SQLite insert of a document as large as a sandbox
 *            server record (same table layout, WAL, one transaction).
 *   list     GET /compute/v2.1/servers/detail?limit=100, the first page and
 *            its `marker` page in turn, one connection → p50/p99 ms, with 100,
 *            about 1,000 and 10,000 servers in the store; baselines: the
 *            100-server figure, and a bare Koa route answering the same
 *            100-server body (an object Koa serialises per request), run by
 *            run in turn with the gateway.
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
import { log, median, round, rssMb, start, type Started } from './lib.js';
import { alternate, wrk, type WrkRequest, type WrkResult } from './wrk.js';

export interface ServerBenchOptions {
  /** Data dir made by initDataDir, and its config. */
  dir: string;
  config: string;
  /** Servers made through the API (about 1,000: creates run by time). */
  create: number;
  /** Servers in the store for the large listing (10,000). */
  fill: number;
  /** wrk connections while creating. */
  connections: number;
  /** Stop creating after this long, whatever the count; each wrk run of creates lasts createRunSeconds. */
  createSeconds: number;
  createRunSeconds: number;
  /** Seconds of each listing run; runs of gateway and baseline in turn with 10,000 servers. */
  listSeconds: number;
  rounds: number;
}

/** About the mean size of a sandbox server record (JSON), the baseline's insert. */
const SERVER_DOC_BYTES = 1200;

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

interface Latency { runs: number; seconds: number; requests: number; p50Ms: number; p99Ms: number; bodyBytes: number }

/** The list's first page, and the page after its marker, taken once each untimed (the first read settles servers out of BUILD, one write each). */
async function listPages(base: string, token: string | null): Promise<{ first: string; requests: WrkRequest[] }> {
  const headers: Record<string, string> = token ? { 'X-Auth-Token': token, Accept: 'application/json' } : { Accept: 'application/json' };
  const get = async (p: string) => {
    const res = await fetch(base + p, { headers });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`bench GET ${p}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  const first = await get(LIST_PATH);
  const next = (JSON.parse(first) as { servers_links?: { href: string }[] }).servers_links?.[0]?.href;
  const markerPath = next ? '/compute/v2.1/servers/detail' + new URL(next).search : LIST_PATH;
  await get(markerPath);
  return { first, requests: [{ path: LIST_PATH, headers }, { path: markerPath, headers }] };
}

const LIST_PATH = '/compute/v2.1/servers/detail?limit=100';

/** wrk with one connection, the first page and the marker page in turn; p50/p99 are the medians over runs. */
function latency(runs: WrkResult[], bodyBytes: number): Latency {
  return {
    runs: runs.length, seconds: round(runs.reduce((n, r) => n + r.seconds, 0)), requests: runs.reduce((n, r) => n + r.requests, 0),
    p50Ms: round(median(runs.map((r) => r.p50Ms)), 2), p99Ms: round(median(runs.map((r) => r.p99Ms)), 2), bodyBytes,
  };
}

const listRun = (base: string, requests: WrkRequest[], seconds: number) => () => wrk({ base, requests, seconds, connections: 1 });

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

/** Clones the API-made servers (with ports and create actions) until the store holds `target`; says how many there were before. */
export function fillStore(dbPath: string, target: number): { before: number; added: number; seconds: number; serverDocBytes: number } {
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
    return { before: servers.length, added: add, seconds: (performance.now() - t0) / 1000, serverDocBytes: Math.round(docBytes) };
  } finally {
    db.close();
  }
}

export async function benchServers(o: ServerBenchOptions): Promise<Record<string, unknown>> {
  const dbPath = join(o.dir, 'stackgate.db');
  const bareDb = join(o.dir, 'bare-insert.db');
  let g = await startGateway(o.config);
  const others: Started[] = [];
  const results: Record<string, unknown> = {};
  try {
    const { flavorRef, imageRef, networkId } = await setUp(g);
    // Names cycle through 100: wrk sends a fixed set of requests in turn.
    const createBodies = Array.from({ length: 100 }, (_, i) => JSON.stringify({ server: { name: `bench-${i}`, flavorRef, imageRef, networks: [{ uuid: networkId }] } }));
    const createRequests = (token: string): WrkRequest[] => createBodies.map((body) => ({
      method: 'POST', path: '/compute/v2.1/servers', headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' }, body,
    }));

    // The first 100 untimed, one at a time, for the listing with 100 in the store.
    for (const body of createBodies) await g.api('POST', '/compute/v2.1/servers', JSON.parse(body));
    const p100 = await listPages(g.url, g.token);
    const list100 = latency([await listRun(g.url, p100.requests, o.listSeconds)()], Buffer.byteLength(p100.first));
    log(`servers: list detail limit=100 with 100 in store   p50 ${list100.p50Ms} ms  p99 ${list100.p99Ms} ms  (${list100.requests} requests)`);

    // Creates in runs of createRunSeconds, in turn with the baseline (a bare Koa route doing one
    // SQLite insert of a document as large as a server's), until `create` servers or createSeconds.
    const bare = await start(['--input-type=module', '-e', BARE_INSERT], { BENCH_DB: bareDb, BENCH_PAD: String(SERVER_DOC_BYTES) });
    others.push(bare);
    const gw = g;
    const createRuns: WrkResult[] = [];
    const bareRuns: WrkResult[] = [];
    let created = 100;
    const deadline = performance.now() + o.createSeconds * 1000;
    while (created < o.create && performance.now() < deadline) {
      const r = await wrk({ base: gw.url, requests: createRequests(gw.token), seconds: o.createRunSeconds, connections: o.connections });
      createRuns.push(r);
      created += r.requests;
      bareRuns.push(await wrk({ base: bare.url, requests: createRequests(gw.token), seconds: o.createRunSeconds, connections: o.connections }));
      log(`servers: created ${created}  (${round(r.perSecond)}/s in the last ${r.requests}; bare Koa + 1 insert ${round(bareRuns[bareRuns.length - 1]!.perSecond)}/s)`);
    }
    await bare.stop();
    rmSync(bareDb, { force: true });
    const perSecond = (runs: WrkResult[]) => runs.reduce((n, r) => n + r.requests, 0) / runs.reduce((n, r) => n + r.seconds, 0);
    const createRate = perSecond(createRuns);
    const bareRate = perSecond(bareRuns);

    const p1k = await listPages(g.url, g.token);
    const list1k = latency([await listRun(g.url, p1k.requests, o.listSeconds)()], Buffer.byteLength(p1k.first));
    log(`servers: list detail limit=100 with ~${created} in store  p50 ${list1k.p50Ms} ms  p99 ${list1k.p99Ms} ms  (${list1k.requests} requests)`);
    const rssAt1k = rssMb(g.pid);
    await g.stop();

    // Fill to 10,000 with the gateway stopped.
    const fill = fillStore(dbPath, o.fill);
    created = fill.before;
    log(`servers: ${fill.before} in the store, cloned ${fill.added} more (with ports and actions) in ${round(fill.seconds)} s`);
    results.serverCreate = {
      servers: created, seconds: round(createRuns.reduce((n, r) => n + r.seconds, 0)), perSecond: round(createRate),
      perSecondByRun: createRuns.map((r) => round(r.perSecond)), bareKoaSqliteInsertPerSecond: round(bareRate), ratio: round(createRate / bareRate, 3),
      connections: o.connections,
      note: `POST /compute/v2.1/servers (one port on a /16 network, image, smallest flavor; sandbox buildDelayMs 10) by wrk -c ${o.connections} against a spawned gateway, `
        + `in ${o.createRunSeconds}-s runs after 100 untimed creates; baseline in turn with it: the same requests to a bare Koa route doing one SQLite insert (WAL, same table and indexes) `
        + `of a ${SERVER_DOC_BYTES}-byte document (sandbox server records here: ${fill.serverDocBytes} bytes on average)`,
    };
    log(`servers: create ${round(createRate)}/s  bare Koa + 1 SQLite insert ${round(bareRate)}/s  ratio ${round(createRate / bareRate, 3)}`);

    // List with 10,000 servers, in turn with a bare Koa route answering the same 100-server
    // body (Koa stringifies it per request).
    g = await startGateway(o.config);
    const startMs10k = g.ms;
    const p10k = await listPages(g.url, g.token);
    const pageFile = join(o.dir, 'page.json');
    writeFileSync(pageFile, p10k.first);
    const barePage = await start(['--input-type=module', '-e', BARE_PAGE], { BENCH_PAGE: pageFile });
    others.push(barePage);
    const bareList = await listPages(barePage.url, null);
    const r = await alternate(o.rounds, {
      gateway: listRun(g.url, p10k.requests, o.listSeconds),
      bare: listRun(barePage.url, bareList.requests, o.listSeconds),
    });
    await barePage.stop();
    const list10k = latency(r.gateway, Buffer.byteLength(p10k.first));
    const bareLatency = latency(r.bare, Buffer.byteLength(bareList.first));
    log(`servers: list detail limit=100 with ${o.fill} in store  p50 ${list10k.p50Ms} ms  p99 ${list10k.p99Ms} ms   bare Koa, same ${round(list10k.bodyBytes / 1024)} KB body  p50 ${bareLatency.p50Ms} ms  p99 ${bareLatency.p99Ms} ms  ratio ${round(list10k.p50Ms / bareLatency.p50Ms, 2)}`);
    const rssAt10k = rssMb(g.pid);

    results.serverList = {
      request: 'GET /compute/v2.1/servers/detail?limit=100 and the page after its marker, in turn, by wrk with one connection',
      with100: list100, [`with${created}`]: list1k, [`with${o.fill}`]: list10k,
      bareKoaSameBody: bareLatency,
      p50Ratio10kVs100: round(list10k.p50Ms / list100.p50Ms, 2),
      p50Ratio10kVsBareKoa: round(list10k.p50Ms / bareLatency.p50Ms, 2),
      target10kVsBareKoa: 1.3,
      gatewayStartMsWith10k: Math.round(startMs10k),
      note: `first ${created} servers through the API, the rest cloned from them (server, port, create action; new ids, names, MACs, addresses) `
        + 'by SandboxStore.insert from the bench process with the gateway stopped; both pages fetched once untimed first (the first read settles BUILD servers); '
        + `with ${o.fill}: ${o.rounds} runs of ${o.listSeconds} s each for the gateway and the bare route in turn, medians of the runs' p50 and p99`,
    };
    results.rssWithServers = { [`with${created}Mb`]: rssAt1k, [`with${o.fill}AfterListingMb`]: rssAt10k };
    log(`servers: RSS ${rssAt1k} MB with ${created} servers, ${rssAt10k} MB with ${o.fill} after listing`);
  } finally {
    await g.stop();
    for (const p of others) await p.stop();
  }
  return results;
}
