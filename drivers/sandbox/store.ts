/**
 * The sandbox cloud's state: every resource (server, port, network, image,
 * volume, …) is a JSON document keyed by kind and id, with its project, name
 * and creation order in indexed columns so lists page in SQL. It lives in the
 * gateway's store (SQLite, WAL; PostgreSQL when scaled out), one transaction
 * per mutating call.
 */
import { randomUUID } from 'node:crypto';
import type { Migration, Store } from '../../src/store/sqlite.js';

export const SANDBOX_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sandbox_resources (
        kind TEXT NOT NULL, id TEXT NOT NULL, project_id TEXT, name TEXT, data TEXT NOT NULL,
        seq INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE INDEX sandbox_resources_project ON sandbox_resources (kind, project_id, seq);
      CREATE INDEX sandbox_resources_seq ON sandbox_resources (kind, seq);
      CREATE INDEX sandbox_resources_name ON sandbox_resources (kind, name);
      CREATE TABLE sandbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `,
  },
];

/** Every sandbox resource has these; the rest is its kind's own. */
export interface Resource {
  id: string;
  project_id: string | null;
  name?: string | null;
  created_at: string;
  updated_at: string;
}

export interface ListOptions<T> {
  /** Only this project's (null: every project, for admins with all_tenants). */
  projectId?: string | null;
  /** Extra filter, applied in order of creation. */
  where?: (r: T) => boolean;
}

/** ISO time without zone, as Nova and Cinder write it (`2024-05-01T10:11:12.000000`). */
export function isoNoZone(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}

/** ISO time with Z, as Nova's server fields and Glance and Neutron write it. */
export function isoZ(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Parsed documents of the kinds that are listed with a `where` filter (ports by
 * device, floating IPs by port, …), in creation order, one set per connection.
 * Such a list then costs a predicate call per row instead of a SQLite read and
 * a JSON.parse per row: with 10,000 servers, GET /servers/detail?limit=100
 * looked up each server's ports by scanning all 10,000 (p50 7.4 s a page
 * before, 0.16 s with this; make bench).
 * insert, put and delete keep it in step (every write to sandbox_resources goes
 * through this class); it is dropped when the store's readEpoch changes (a
 * rollback here, a commit by another connection or process).
 */
interface ScanCache { epoch: string; kinds: Map<string, Map<string, CachedDoc>> }
/** The parsed document, for `where`, and its JSON, to hand out copies of matches as fast as a read from SQLite. */
interface CachedDoc { doc: Resource; data: string }
const scanCaches = new WeakMap<Store, ScanCache>();

export class SandboxStore {
  constructor(readonly db: Store) {
    db.migrate('sandbox', SANDBOX_MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  newId(): string {
    return randomUUID();
  }

  /** A counter that only grows (MAC addresses, instance names). */
  next(name: string): number {
    this.db.run('INSERT INTO sandbox_counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1', name);
    return this.db.get<{ value: number }>('SELECT value FROM sandbox_counters WHERE name = ?', name)!.value;
  }

  get<T extends Resource>(kind: string, id: string): T | undefined {
    const row = this.db.get<{ data: string }>('SELECT data FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id);
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** The kind's documents, parsed, from the scan cache (filled now if empty); undefined when the store has no readEpoch. */
  private scan(kind: string): Map<string, CachedDoc> | undefined {
    if (!this.db.readEpoch) return undefined;
    const epoch = this.db.readEpoch();
    let cache = scanCaches.get(this.db);
    if (!cache) scanCaches.set(this.db, cache = { epoch, kinds: new Map() });
    else if (cache.epoch !== epoch) {
      cache.epoch = epoch;
      cache.kinds.clear();
    }
    let docs = cache.kinds.get(kind);
    if (!docs) {
      docs = new Map();
      for (const r of this.db.all<{ id: string; data: string }>('SELECT id, data FROM sandbox_resources WHERE kind = ? ORDER BY seq', kind)) {
        docs.set(r.id, { doc: JSON.parse(r.data) as Resource, data: r.data });
      }
      cache.kinds.set(kind, docs);
    }
    return docs;
  }

  /** The scan cache's documents of a kind if it holds them, for a write to keep them in step. */
  private cached(kind: string): Map<string, CachedDoc> | undefined {
    return scanCaches.get(this.db)?.kinds.get(kind);
  }

  /**
   * In creation order; filtered by project in SQL, by `where` after. A list
   * with `where` filters the scan cache (`where` must not change its argument)
   * and returns copies of the matches, which callers may change.
   */
  list<T extends Resource>(kind: string, opts: ListOptions<T> = {}): T[] {
    const docs = opts.where ? this.scan(kind) : undefined;
    if (docs && opts.where) {
      const project = opts.projectId ?? null;
      const matches: T[] = [];
      for (const { doc, data } of docs.values()) {
        if (project !== null && doc.project_id !== project) continue;
        if (opts.where(doc as T)) matches.push(JSON.parse(data) as T);
      }
      return matches;
    }
    const rows = opts.projectId === undefined || opts.projectId === null
      ? this.db.all<{ data: string }>('SELECT data FROM sandbox_resources WHERE kind = ? ORDER BY seq', kind)
      : this.db.all<{ data: string }>('SELECT data FROM sandbox_resources WHERE kind = ? AND project_id = ? ORDER BY seq', kind, opts.projectId);
    const items = rows.map((r) => JSON.parse(r.data) as T);
    return opts.where ? items.filter(opts.where) : items;
  }

  count(kind: string, projectId?: string | null): number {
    return projectId === undefined || projectId === null
      ? this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sandbox_resources WHERE kind = ?', kind)!.n
      : this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sandbox_resources WHERE kind = ? AND project_id = ?', kind, projectId)!.n;
  }

  insert<T extends Resource>(kind: string, resource: T): T {
    const seq = this.next(`seq:${kind}`);
    const data = JSON.stringify(resource);
    this.db.run(
      'INSERT INTO sandbox_resources (kind, id, project_id, name, data, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      kind, resource.id, resource.project_id, resource.name ?? null, data, seq, resource.created_at, resource.updated_at,
    );
    // seq only grows, so a new document goes last, as ORDER BY seq has it.
    this.cached(kind)?.set(resource.id, { doc: JSON.parse(data) as Resource, data });
    return resource;
  }

  /** Writes the whole document back, with updated_at set now unless `touch` is false. */
  put<T extends Resource>(kind: string, resource: T, touch = true): T {
    if (touch) resource.updated_at = isoZ();
    const data = JSON.stringify(resource);
    const { changes } = this.db.run('UPDATE sandbox_resources SET data = ?, name = ?, project_id = ?, updated_at = ? WHERE kind = ? AND id = ?',
      data, resource.name ?? null, resource.project_id, resource.updated_at, kind, resource.id);
    // Map.set on a key it has keeps the key's place, as the row keeps its seq.
    if (changes > 0) this.cached(kind)?.set(resource.id, { doc: JSON.parse(data) as Resource, data });
    return resource;
  }

  delete(kind: string, id: string): boolean {
    const deleted = this.db.run('DELETE FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id).changes > 0;
    this.cached(kind)?.delete(id);
    return deleted;
  }
}
