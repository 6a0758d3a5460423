/**
 * Crash safety of the sandbox cloud: a real `stackgate serve` process is
 * killed with SIGKILL in the middle of a burst of creates (servers booted from
 * an image, servers booted from a new volume, networks, volumes), restarted on
 * the same data dir, and the cloud it finds must be one a client could have
 * seen. Invariants checked after the restart:
 *
 *  1. The store is intact and the gateway opens it and serves, including new
 *     creates: SQLite's PRAGMA integrity_check = ok and foreign keys hold; on
 *     PostgreSQL the dead process's session and its write lock are gone.
 *  2. Every create answered 2xx is there: GET by id is 200, and it is in its
 *     list exactly once; nothing was made twice.
 *  3. Every create that got no answer (in flight at the kill) is there whole
 *     or not at all (found by its unique name: 0 or 1 of it); every create
 *     never sent is not there.
 *  4. Nothing half-made. Servers: each has its port on our network (Neutron
 *     port device_id = server, device_owner compute:*, an IP from the subnet
 *     that the server's addresses show), comes out of BUILD to ACTIVE, and a
 *     boot-from-volume one has its volume attached (in-use, attached to it,
 *     listed in os-extended-volumes). Ports: no compute port whose server
 *     does not exist. Volumes: available or in-use, never stuck in creating;
 *     an in-use volume is attached to a server that exists and lists it;
 *     an available one has no attachments.
 *  5. Usage agrees with what exists (Nova limits totalInstancesUsed = servers).
 *
 * On both engines: SQLite in the data dir, and PostgreSQL (a database of the
 * run's server, test/helpers/postgres.ts).
 *
 * Bounded: one burst of 160 creates, 12 at a time, killed after 50 answers;
 * the whole test well under 60 s per engine.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { registerSecret } from '../helpers/secrets.js';
import { sharedPostgres, startPostgres } from '../helpers/postgres.js';
import { ENGINES } from '../helpers/stores.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { keepAuditLog, serveProcess } from '../helpers/serve.js';
import { startGateway, until, type Harness } from '../helpers/gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/stackgate');
const exec = promisify(execFile);
const PASSWORD = 'crash-safety-pw';
registerSecret(PASSWORD, 'admin password of the served processes');
const BUILD_DELAY_MS = 150;
const BURST = 160;
const CONCURRENCY = 12;
const KILL_AFTER = 50;

type Json = Record<string, any>;

const serve = (config: string) => serveProcess(config, { STACKGATE_SANDBOX_BUILD_DELAY_MS: String(BUILD_DELAY_MS) });

/** A client of one gateway process, with one token. */
class Client {
  constructor(readonly url: string, readonly token: string) {}

  static async login(url: string): Promise<Client> {
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: PASSWORD } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } }),
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    return new Client(url, res.headers.get('x-subject-token')!);
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json }> {
    const res = await fetch(this.url + path, {
      method, headers: { 'x-auth-token': this.token, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Json = {};
    try { json = text ? JSON.parse(text) as Json : {}; } catch { json = { text }; }
    return { status: res.status, json };
  }

  async ok(method: string, path: string, body?: unknown, status = 200, headers: Record<string, string> = {}): Promise<Json> {
    const r = await this.call(method, path, body, headers);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.json).slice(0, 300)}`).to.equal(status);
    return r.json;
  }
}

type Kind = 'server' | 'bfv-server' | 'network' | 'volume';
interface Attempt {
  kind: Kind;
  name: string;
  /** sent: the request went out; answered: its status (undefined when the connection died first). */
  sent: boolean;
  status?: number;
  id?: string;
  error?: string;
}

for (const engine of ENGINES) describe(`crash safety (${engine}): SIGKILL in a burst of creates, restart on the same data dir`, function () {
  this.timeout(60_000);
  let dir: string;
  let storeUrl: string | undefined;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-crash-'));
    if (engine === 'postgres') storeUrl = (await sharedPostgres()).createDatabase('crash');
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    keepAuditLog(dir);
    rmSync(dir, { recursive: true, force: true });
    if (storeUrl) (await sharedPostgres()).dropDatabase(storeUrl);
  });

  it('every answered create is whole after the restart, unanswered ones whole or absent, nothing half-made', async () => {
    await exec('sh', [BIN, 'init', '--dir', dir, '--admin-password', PASSWORD, '--port', '0', ...(storeUrl ? ['--store-url', storeUrl] : [])]);
    const config = join(dir, 'stackgate.yaml');
    // A burst of writes is what the rate limiter exists to refuse; here every create must reach the store.
    const doc = YAML.parse(readFileSync(config, 'utf8')) as Json;
    doc.hooks = { ...(doc.hooks ?? {}), rateLimit: false };
    writeFileSync(config, YAML.stringify(doc));

    const first = await serve(config);
    children.push(first.child);
    const c = await Client.login(first.url);
    const project = (await c.ok('GET', '/identity/v3/auth/tokens', undefined, 200, { 'x-subject-token': c.token })).token.project.id as string;

    // Room for the burst: no quota may refuse a create (a 403 would be an answer, but not the point).
    await c.ok('PUT', `/compute/v2.1/os-quota-sets/${project}`, { quota_set: { instances: -1, cores: -1, ram: -1 } });
    await c.ok('PUT', `/network/v2.0/quotas/${project}`, { quota: { network: -1, subnet: -1, port: -1 } });
    await c.ok('PUT', `/volume/v3/${project}/os-quota-sets/${project}`, { quota_set: { volumes: -1, gigabytes: -1 } });

    // What servers boot from and attach to.
    const image = await c.ok('POST', '/image/v2/images', { name: 'crash-image', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' }, 201);
    const upload = await fetch(`${c.url}/image/v2/images/${image.id}/file`, { method: 'PUT', headers: { 'x-auth-token': c.token, 'content-type': 'application/octet-stream' }, body: 'x'.repeat(1024) });
    expect(upload.status, await upload.text()).to.equal(204);
    const net = (await c.ok('POST', '/network/v2.0/networks', { network: { name: 'crash-net' } }, 201)).network;
    const subnet = (await c.ok('POST', '/network/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.77.0.0/16', name: 'crash-subnet' } }, 201)).subnet;
    expect((await c.ok('GET', `/image/v2/images/${image.id}`)).status).to.equal('active');

    // ---- the burst ----------------------------------------------------------------
    const kinds: Kind[] = ['server', 'server', 'server', 'bfv-server', 'network', 'volume'];
    const attempts: Attempt[] = Array.from({ length: BURST }, (_, i) => ({ kind: kinds[i % kinds.length]!, name: `crash-${kinds[i % kinds.length]}-${i}`, sent: false }));
    const create = (a: Attempt): Promise<{ status: number; json: Json }> => {
      switch (a.kind) {
        case 'server': return c.call('POST', '/compute/v2.1/servers', { server: { name: a.name, flavorRef: '1', imageRef: image.id, networks: [{ uuid: net.id }] } });
        case 'bfv-server': return c.call('POST', '/compute/v2.1/servers', { server: {
          name: a.name, flavorRef: '1', imageRef: '', networks: [{ uuid: net.id }],
          block_device_mapping_v2: [{ boot_index: 0, uuid: image.id, source_type: 'image', destination_type: 'volume', volume_size: 1, delete_on_termination: true }],
        } });
        case 'network': return c.call('POST', '/network/v2.0/networks', { network: { name: a.name } });
        case 'volume': return c.call('POST', `/volume/v3/${project}/volumes`, { volume: { name: a.name, size: 1 } });
      }
    };
    const idOf = (a: Attempt, json: Json): string | undefined => (a.kind === 'network' ? json.network?.id : a.kind === 'volume' ? json.volume?.id : json.server?.id);

    let answered = 0;
    let killed = false;
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (!killed && next < attempts.length) {
        const a = attempts[next++]!;
        a.sent = true;
        try {
          const r = await create(a);
          a.status = r.status;
          a.id = idOf(a, r.json);
          if (r.status >= 300) a.error = JSON.stringify(r.json).slice(0, 300);
          if (++answered === KILL_AFTER && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        } catch (err) {
          // The connection died with the process: no answer.
          a.error = String((err as Error).cause ?? err);
        }
      }
    }));
    expect(killed, 'the process was killed mid-burst').to.equal(true);
    await new Promise<void>((ok) => (first.child.exitCode !== null || first.child.signalCode !== null ? ok() : first.child.once('exit', () => ok())));

    const ok2xx = attempts.filter((a) => a.status !== undefined && a.status >= 200 && a.status < 300);
    const refused = attempts.filter((a) => a.status !== undefined && a.status >= 300);
    const unanswered = attempts.filter((a) => a.sent && a.status === undefined);
    const unsent = attempts.filter((a) => !a.sent);
    // Every answer before the kill was a success (quotas lifted, rate limit off): a refusal would be a bug of its own.
    expect(refused.map((a) => `${a.name}: ${a.status} ${a.error}`)).to.deep.equal([]);
    expect(ok2xx.length).to.be.at.least(KILL_AFTER);
    expect(unsent.length, 'the kill came mid-burst').to.be.greaterThan(0);
    for (const a of ok2xx) expect(a.id, `${a.name} answered without an id`).to.be.a('string');

    // ---- 1. the store: intact, opens, serves ----------------------------------------------
    if (engine === 'sqlite') {
      const db = new Database(join(dir, 'stackgate.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
        expect(db.pragma('foreign_key_check')).to.deep.equal([]);
      } finally {
        db.close();
      }
    } else {
      const db = new PostgresStore({ url: storeUrl! });
      try {
        // The server saw the connection drop: the open transaction rolled back, the advisory write lock went with it.
        const name = new URL(storeUrl!).pathname.slice(1);
        await until('the dead gateway\'s session to end', async () =>
          db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()", name)!.n === 0 ? true : undefined);
        expect(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory'")!.n).to.equal(0);
      } finally {
        db.close();
      }
    }
    const second = await serve(config);
    children.push(second.child);
    // The token from before the crash still opens (keys on disk); a fresh login works too.
    const old = new Client(second.url, c.token);
    expect((await old.call('GET', '/compute/v2.1/flavors')).status).to.equal(200);
    const d = await Client.login(second.url);
    // Let every build and volume creation finish (the sandbox's delays run on the clock, not in the process that died).
    await new Promise((r) => setTimeout(r, BUILD_DELAY_MS * 3));

    // ---- what exists now ----------------------------------------------------------------
    const servers = (await d.ok('GET', '/compute/v2.1/servers/detail?limit=1000', undefined, 200, { 'openstack-api-version': 'compute 2.79' })).servers as Json[];
    const ports = (await d.ok('GET', '/network/v2.0/ports')).ports as Json[];
    const networks = (await d.ok('GET', '/network/v2.0/networks')).networks as Json[];
    const volumes = (await d.ok('GET', `/volume/v3/${project}/volumes/detail?limit=1000`)).volumes as Json[];
    const listOf = (k: Kind): Json[] => (k === 'network' ? networks : k === 'volume' ? volumes : servers);
    const problems: string[] = [];

    // ---- 2 and 3: answered creates are there once; unanswered whole or absent; unsent absent ----
    for (const a of attempts) {
      const named = listOf(a.kind).filter((r) => r.name === a.name);
      if (a.status !== undefined) {
        if (named.length !== 1 || named[0]!.id !== a.id) problems.push(`${a.name} answered ${a.status} (${a.id}) but listed ${named.length}× (${named.map((r) => r.id).join(', ')})`);
        const path = a.kind === 'network' ? `/network/v2.0/networks/${a.id}` : a.kind === 'volume' ? `/volume/v3/${project}/volumes/${a.id}` : `/compute/v2.1/servers/${a.id}`;
        const got = await d.call('GET', path);
        if (got.status !== 200) problems.push(`${a.name} answered ${a.status} (${a.id}) but GET is ${got.status}`);
      } else if (a.sent) {
        if (named.length > 1) problems.push(`${a.name} (unanswered) exists ${named.length}×`);
      } else if (named.length !== 0) {
        problems.push(`${a.name} was never sent but exists`);
      }
    }

    // ---- 4. nothing half-made ---------------------------------------------------------
    const serverIds = new Set(servers.map((s) => s.id as string));
    const volumeById = new Map(volumes.map((v) => [v.id as string, v]));
    for (const s of servers) {
      if (s.status !== 'ACTIVE') problems.push(`server ${s.name} is ${s.status} after the restart (${JSON.stringify(s.fault ?? null)})`);
      const mine = ports.filter((p) => p.device_id === s.id);
      if (mine.length !== 1) problems.push(`server ${s.name} has ${mine.length} ports`);
      for (const p of mine) {
        if (p.network_id !== net.id) problems.push(`server ${s.name}'s port ${p.id} is on ${p.network_id}`);
        if (!String(p.device_owner).startsWith('compute:')) problems.push(`server ${s.name}'s port ${p.id} is owned by ${p.device_owner}`);
        const ips = (p.fixed_ips as Json[]).map((f) => f.ip_address as string);
        if (ips.length !== 1 || (p.fixed_ips as Json[])[0]!.subnet_id !== subnet.id) problems.push(`server ${s.name}'s port has ${JSON.stringify(p.fixed_ips)}`);
        const shown = Object.values(s.addresses ?? {}).flat().map((x) => (x as Json).addr as string);
        for (const ip of ips) if (!shown.includes(ip)) problems.push(`server ${s.name} does not show its port's address ${ip} (${JSON.stringify(s.addresses)})`);
      }
      const attached = (s['os-extended-volumes:volumes_attached'] ?? []) as Json[];
      const bfv = String(s.name).startsWith('crash-bfv-server-');
      if (bfv && attached.length !== 1) problems.push(`boot-from-volume server ${s.name} has ${attached.length} volumes attached`);
      if (!bfv && attached.length !== 0) problems.push(`server ${s.name} has volumes ${JSON.stringify(attached)}`);
      for (const av of attached) {
        const v = volumeById.get(av.id);
        if (!v) problems.push(`server ${s.name} lists volume ${av.id}, which does not exist`);
        else if (v.status !== 'in-use' || !(v.attachments as Json[]).some((x) => x.server_id === s.id)) {
          problems.push(`server ${s.name}'s volume ${v.id} is ${v.status}, attached to ${JSON.stringify((v.attachments as Json[]).map((x) => x.server_id))}`);
        }
      }
    }
    for (const p of ports) {
      if (String(p.device_owner).startsWith('compute:') && !serverIds.has(p.device_id)) problems.push(`orphan port ${p.id}: device ${p.device_id} is no server`);
    }
    for (const v of volumes) {
      const atts = v.attachments as Json[];
      if (v.status === 'available') {
        if (atts.length) problems.push(`volume ${v.name} is available with attachments ${JSON.stringify(atts)}`);
      } else if (v.status === 'in-use') {
        for (const x of atts) {
          const s = servers.find((sv) => sv.id === x.server_id);
          if (!s) problems.push(`volume ${v.name} is attached to ${x.server_id}, which is no server`);
          else if (!((s['os-extended-volumes:volumes_attached'] ?? []) as Json[]).some((av) => av.id === v.id)) problems.push(`volume ${v.name} is attached to ${s.name}, which does not list it`);
        }
        if (!atts.length) problems.push(`volume ${v.name} is in-use without attachments`);
      } else {
        problems.push(`volume ${v.name} is ${v.status} after the restart`);
      }
    }

    // ---- 5. usage agrees with what exists ---------------------------------------------
    const limits = (await d.ok('GET', '/compute/v2.1/limits')).limits.absolute;
    if (limits.totalInstancesUsed !== servers.length) problems.push(`totalInstancesUsed ${limits.totalInstancesUsed}, servers ${servers.length}`);

    expect(problems, `answered ${ok2xx.length}, unanswered ${unanswered.length}, unsent ${unsent.length}`).to.deep.equal([]);

    // ---- and the restarted cloud takes new work ----------------------------------------
    const after = await d.ok('POST', '/compute/v2.1/servers', { server: { name: 'after-restart', flavorRef: '1', imageRef: image.id, networks: [{ uuid: net.id }] } }, 202);
    expect(ports.some((p) => p.device_id === after.server.id)).to.equal(false);
    expect((await d.ok('GET', `/network/v2.0/ports?device_id=${after.server.id}`)).ports).to.have.length(1);
    second.child.kill('SIGTERM');
  });
});

describe('crash safety: PostgreSQL killed in a burst of creates, then back', function () {
  this.timeout(90_000);

  it('answers 503 with Retry-After while it is down (never a 500), keeps every create it answered 2xx, and serves again once it is back', async () => {
    const pg = await startPostgres();
    let h: Harness | undefined;
    try {
      h = await startGateway({ store: { engine: 'postgres', url: pg.createDatabase('pgcrash') }, hooks: { rateLimit: false } });
      const gw = h;
      const results: { name: string; status?: number; id?: string; body?: Json; retryAfter?: string | null }[] = [];
      let answered = 0;
      let next = 0;
      const TOTAL = 90;
      await Promise.all(Array.from({ length: 6 }, async () => {
        while (next < TOTAL) {
          const r: (typeof results)[number] = { name: `pgcrash-${next++}` };
          results.push(r);
          const res = await gw.request('POST', '/network/v2.0/networks', { body: { network: { name: r.name } } });
          r.status = res.status;
          r.body = res.json as Json;
          r.retryAfter = res.headers.get('retry-after');
          r.id = (res.json as Json | undefined)?.network?.id;
          if (++answered === 25) await pg.kill();
        }
      }));
      const ok = results.filter((r) => r.status === 201);
      const down = results.filter((r) => r.status !== 201);
      expect(ok.length).to.be.at.least(25);
      expect(down.length, 'creates after the kill found the store down').to.be.greaterThan(0);
      for (const r of down) {
        expect(r.status, `${r.name}: ${JSON.stringify(r.body)}`).to.equal(503);
        expect(r.retryAfter, r.name).to.match(/^\d+$/);
        expect(r.body?.NeutronError?.message, r.name).to.match(/store \(PostgreSQL\) is unreachable/);
      }
      // Reads too are a 503 fault, and the gateway itself stays up.
      const read = await gw.request('GET', '/compute/v2.1/servers');
      expect(read.status).to.equal(503);
      // Nova's fault shape: one element named for the fault, with code and message.
      const [fault] = Object.values(read.json as Json) as Json[];
      expect(fault?.code, read.text).to.equal(503);

      await pg.restart();
      const again = await until('the store to answer again', async () => {
        const res = await gw.request('GET', '/network/v2.0/networks?limit=1000');
        return res.status === 200 ? res : undefined;
      }, 20_000);
      const names = (again.json as Json).networks.map((n: Json) => n.name) as string[];
      for (const r of ok) expect(names.filter((n) => n === r.name), `${r.name} (answered 201)`).to.have.length(1);
      for (const r of down) expect(names, `${r.name} (answered 503)`).to.not.include(r.name);
      const after = await gw.request('POST', '/network/v2.0/networks', { body: { network: { name: 'after-pg-restart' } } });
      expect(after.status, after.text).to.equal(201);
    } finally {
      await h?.close();
      await pg.stop();
    }
  });
});
