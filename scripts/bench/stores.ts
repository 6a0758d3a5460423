/**
 * The two stores side by side (BENCH_ONLY=stores): the same gateway on SQLite
 * and on PostgreSQL (a throwaway Debian PostgreSQL on loopback,
 * test/helpers/postgres.ts), each made by `stackgate init`, with runs in turn
 * so both see the same machine:
 *
 *   create    POST /compute/v2.1/servers by wrk with a few connections → servers/s
 *   list      GET /compute/v2.1/servers/detail?limit=100 with those servers,
 *             one connection → p50/p99 ms
 *   validate  GET /identity/v3/auth/tokens, a few connections → /s
 *
 * The ratio is PostgreSQL over SQLite: what the round trips of a synchronous
 * store on a server cost against a file in the process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, postgresBin } from '../../test/helpers/postgres.js';
import { initDataDir, startGateway, type BenchGateway } from './gateway.js';
import { log, median, round } from './lib.js';
import { wrk, type WrkRequest, type WrkResult } from './wrk.js';

export interface StoreBenchOptions { rounds: number; seconds: number; connections: number }

const LIST = '/compute/v2.1/servers/detail?limit=100';

/** A network, an image and quotas out of the way; the create requests wrk sends in turn. */
async function creates(g: BenchGateway): Promise<WrkRequest[]> {
  await g.api('PUT', `/compute/v2.1/os-quota-sets/${g.projectId}`, { quota_set: { instances: -1, cores: -1, ram: -1 } });
  await g.api('PUT', `/network/v2.0/quotas/${g.projectId}`, { quota: { port: -1 } });
  const net = await g.api<{ network: { id: string } }>('POST', '/network/v2.0/networks', { network: { name: 'bench-net' } });
  await g.api('POST', '/network/v2.0/subnets', { subnet: { network_id: net.network.id, ip_version: 4, cidr: '10.64.0.0/16' } });
  const image = await g.api<{ id: string }>('POST', '/image/v2/images', { name: 'bench-image', disk_format: 'raw', container_format: 'bare' });
  const put = await fetch(`${g.url}/image/v2/images/${image.id}/file`, { method: 'PUT', headers: { 'x-auth-token': g.token, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1024) });
  if (put.status !== 204) throw new Error(`bench image upload: ${put.status}`);
  const flavors = await g.api<{ flavors: { id: string; ram: number }[] }>('GET', '/compute/v2.1/flavors/detail');
  const flavorRef = [...flavors.flavors].sort((a, b) => a.ram - b.ram)[0]!.id;
  return Array.from({ length: 50 }, (_, i) => ({
    method: 'POST', path: '/compute/v2.1/servers', headers: { 'X-Auth-Token': g.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ server: { name: `bench-${i}`, flavorRef, imageRef: image.id, networks: [{ uuid: net.network.id }] } }),
  }));
}

export async function benchStores(o: StoreBenchOptions): Promise<Record<string, unknown>> {
  if (!postgresBin()) {
    log('stores: PostgreSQL not installed (apt-get install postgresql): no store comparison');
    return {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-stores-'));
  const pg = await startPostgres();
  const gateways: BenchGateway[] = [];
  try {
    const sqliteConfig = initDataDir(join(dir, 'sqlite'));
    const pgConfig = initDataDir(join(dir, 'postgres'), ['--store-url', pg.createDatabase('bench')]);
    const sides = { sqlite: await startGateway(sqliteConfig), postgres: await startGateway(pgConfig) };
    gateways.push(sides.sqlite, sides.postgres);
    const requests = { sqlite: await creates(sides.sqlite), postgres: await creates(sides.postgres) };
    const runs: Record<'sqlite' | 'postgres', { create: WrkResult[]; list: WrkResult[]; validate: WrkResult[] }> = {
      sqlite: { create: [], list: [], validate: [] }, postgres: { create: [], list: [], validate: [] },
    };
    for (let i = 0; i < o.rounds; i++) {
      for (const k of ['sqlite', 'postgres'] as const) {
        const g = sides[k];
        runs[k].create.push(await wrk({ base: g.url, requests: requests[k], seconds: o.seconds, connections: o.connections }));
        // The first read settles the new servers out of BUILD (a write each): untimed.
        await g.api('GET', LIST);
        runs[k].list.push(await wrk({ base: g.url, requests: [{ path: LIST, headers: { 'X-Auth-Token': g.token } }], seconds: o.seconds, connections: 1 }));
        runs[k].validate.push(await wrk({
          base: g.url, requests: [{ path: '/identity/v3/auth/tokens?nocatalog', headers: { 'X-Auth-Token': g.token, 'X-Subject-Token': g.token } }],
          seconds: o.seconds, connections: o.connections,
        }));
      }
    }
    const rate = (rs: WrkResult[]) => rs.reduce((n, r) => n + r.requests, 0) / rs.reduce((n, r) => n + r.seconds, 0);
    const figures = (k: 'sqlite' | 'postgres') => ({
      createPerSecond: round(rate(runs[k].create)),
      servers: runs[k].create.reduce((n, r) => n + r.requests, 0),
      listP50Ms: round(median(runs[k].list.map((r) => r.p50Ms)), 2),
      listP99Ms: round(median(runs[k].list.map((r) => r.p99Ms)), 2),
      validatePerSecond: round(rate(runs[k].validate)),
    });
    const s = figures('sqlite');
    const p = figures('postgres');
    const out = {
      sqlite: s, postgres: p,
      createRatio: round(p.createPerSecond / s.createPerSecond, 2),
      listP50Ratio: round(p.listP50Ms / s.listP50Ms, 2),
      validateRatio: round(p.validatePerSecond / s.validatePerSecond, 2),
      note: `the same gateway on SQLite and on PostgreSQL 15 (loopback, fsync off), runs in turn, ${o.rounds} rounds of ${o.seconds} s; `
        + `creates by wrk -c ${o.connections}, then GET ${LIST} by wrk -c 1 (PostgreSQL over SQLite: list p50 ratio; create and validate: rate ratios)`,
    };
    log(`stores: create ${p.createPerSecond}/s on PostgreSQL vs ${s.createPerSecond}/s on SQLite (${out.createRatio})`);
    log(`stores: servers/detail limit=100 p50 ${p.listP50Ms} ms vs ${s.listP50Ms} ms (${out.listP50Ratio}), ${p.servers} vs ${s.servers} servers`);
    log(`stores: token validate ${p.validatePerSecond}/s vs ${s.validatePerSecond}/s (${out.validateRatio})`);
    return { stores: out };
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
