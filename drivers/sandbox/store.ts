/**
 * The sandbox cloud's state: every resource (server, port, network, image,
 * volume, …) is a JSON document keyed by kind and id, with its project, name
 * and creation order in indexed columns so lists page in SQL. It lives in the
 * gateway's store (SQLite, WAL; PostgreSQL when scaled out), one transaction
 * per mutating call.
 */
import { randomUUID } from 'node:crypto';
import type { Migration, Store } from '../../src/store/store.js';

const SANDBOX_V1 = `
      CREATE TABLE sandbox_resources (
        kind TEXT NOT NULL, id TEXT NOT NULL, project_id TEXT, name TEXT, data TEXT NOT NULL,
        seq INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE INDEX sandbox_resources_project ON sandbox_resources (kind, project_id, seq);
      CREATE INDEX sandbox_resources_seq ON sandbox_resources (kind, seq);
      CREATE INDEX sandbox_resources_name ON sandbox_resources (kind, name);
      CREATE TABLE sandbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `;

export const SANDBOX_MIGRATIONS: readonly Migration[] = [
  // PostgreSQL's INTEGER is 32 bits, SQLite's 64.
  { version: 1, sql: SANDBOX_V1, postgres: SANDBOX_V1.replace(/\bINTEGER\b/g, 'BIGINT') },
  {
    // Pages in creation order (newest first, as Nova lists servers) read from
    // these instead of sorting every row of the project: pageByCreation.
    version: 2,
    sql: `
      CREATE INDEX sandbox_resources_project_created ON sandbox_resources (kind, project_id, created_at, seq);
      CREATE INDEX sandbox_resources_created ON sandbox_resources (kind, created_at, seq);
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

/** Where a document stands in creation order: its created_at, then its seq for those made in the same second. */
export interface CreationKey { created_at: string; seq: number }

export interface CreationPage {
  /** Only this project's (null: every project). */
  projectId: string | null;
  /** Newest first (created_at, then seq, descending), else oldest first. */
  newestFirst: boolean;
  /** Only those after this one in that order (a marker's key). */
  after?: CreationKey;
  limit: number;
  /** Makes a row's document from its JSON (default JSON.parse): a caller may hand back one it parsed before. */
  parse?: (data: string) => unknown;
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
 * device, floating IPs by port, …), visited with forEach (a project's servers
 * for quota usage, a subnet's addresses) or looked up with listBy, in creation
 * order, one set per connection.
 * Such a list then costs a predicate call per row instead of a SQLite read and
 * a JSON.parse per row: with 10,000 servers, GET /servers/detail?limit=100
 * looked up each server's ports by scanning all 10,000 (p50 7.4 s a page
 * before, 0.16 s with this; make bench).
 * insert, put and delete keep it in step (every write to sandbox_resources goes
 * through this class); it is dropped when the store's readEpoch changes (a
 * rollback here, a commit by another connection or process).
 * A kind's documents may also be indexed by the value of a top-level field
 * (listBy: ports by device_id), built on first use and kept in step the same
 * way, for lookups made once per row of a page.
 */
interface ScanCache { epoch: string; kinds: Map<string, KindCache> }
interface KindCache {
  docs: Map<string, CachedDoc>;
  /** Field name → field value → ids of the documents with that value. */
  by: Map<string, Map<unknown, Set<string>>>;
}
/** The parsed document, for `where`, its JSON, to hand out copies of matches as fast as a read from SQLite, and its seq, for creation order. */
interface CachedDoc { doc: Resource; data: string; seq: number }
const scanCaches = new WeakMap<Store, ScanCache>();

/** A document's top-level field, for the field indexes. */
function fieldOf(doc: Resource, field: string): unknown {
  return (doc as unknown as Record<string, unknown>)[field];
}

function indexAdd(index: Map<unknown, Set<string>>, value: unknown, id: string): void {
  let ids = index.get(value);
  if (!ids) index.set(value, ids = new Set());
  ids.add(id);
}

function indexRemove(index: Map<unknown, Set<string>>, value: unknown, id: string): void {
  const ids = index.get(value);
  if (!ids) return;
  ids.delete(id);
  if (!ids.size) index.delete(value);
}

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
    this.db.run('INSERT INTO sandbox_counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = sandbox_counters.value + 1', name);
    return this.db.get<{ value: number }>('SELECT value FROM sandbox_counters WHERE name = ?', name)!.value;
  }

  get<T extends Resource>(kind: string, id: string): T | undefined {
    const row = this.db.get<{ data: string }>('SELECT data FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id);
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** The kind's documents, parsed, from the scan cache (filled now if empty); undefined when the store has no readEpoch. */
  private scan(kind: string): KindCache | undefined {
    if (!this.db.readEpoch) return undefined;
    const epoch = this.db.readEpoch();
    let cache = scanCaches.get(this.db);
    if (!cache) scanCaches.set(this.db, cache = { epoch, kinds: new Map() });
    else if (cache.epoch !== epoch) {
      cache.epoch = epoch;
      cache.kinds.clear();
    }
    let kc = cache.kinds.get(kind);
    if (!kc) {
      kc = { docs: new Map(), by: new Map() };
      for (const r of this.db.all<{ id: string; data: string; seq: number }>('SELECT id, data, seq FROM sandbox_resources WHERE kind = ? ORDER BY seq', kind)) {
        kc.docs.set(r.id, { doc: JSON.parse(r.data) as Resource, data: r.data, seq: r.seq });
      }
      cache.kinds.set(kind, kc);
    }
    return kc;
  }

  /** The scan cache's documents of a kind if it holds them, for a write to keep them in step. */
  private cached(kind: string): KindCache | undefined {
    return scanCaches.get(this.db)?.kinds.get(kind);
  }

  /** Puts a document in the kind's cache (and field indexes), in place of its old version. */
  private cacheSet(kc: KindCache, entry: CachedDoc): void {
    const old = kc.docs.get(entry.doc.id);
    for (const [field, index] of kc.by) {
      const value = fieldOf(entry.doc, field);
      if (old) {
        if (fieldOf(old.doc, field) === value) continue;
        indexRemove(index, fieldOf(old.doc, field), entry.doc.id);
      }
      indexAdd(index, value, entry.doc.id);
    }
    kc.docs.set(entry.doc.id, entry);
  }

  /**
   * In creation order; filtered by project in SQL, by `where` after. A list
   * with `where` filters the scan cache (`where` must not change its argument)
   * and returns copies of the matches, which callers may change.
   */
  list<T extends Resource>(kind: string, opts: ListOptions<T> = {}): T[] {
    const docs = opts.where ? this.scan(kind)?.docs : undefined;
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

  /**
   * Calls `visit` with every document of the kind (in creation order; this
   * project's only when given) without copying it, for callers that read a
   * field or two of every row (the addresses and MACs in use on a network):
   * list's copies cost a JSON.parse per row. `visit` must neither change nor
   * keep the document.
   */
  forEach<T extends Resource>(kind: string, visit: (r: Readonly<T>) => void, projectId: string | null = null): void {
    const kc = this.scan(kind);
    if (!kc) {
      for (const r of this.list<T>(kind, { projectId })) visit(r);
      return;
    }
    for (const { doc } of kc.docs.values()) if (projectId === null || doc.project_id === projectId) visit(doc as T);
  }

  /**
   * The kind's documents whose top-level `field` is `value` (===), in creation
   * order, as copies: list with that `where`, but through an index of the
   * field over the scan cache, for lookups made once per row of a page (a
   * server's ports by device_id), which otherwise test every document.
   */
  listBy<T extends Resource>(kind: string, field: keyof T & string, value: unknown): T[] {
    const kc = this.scan(kind);
    if (!kc) return this.list<T>(kind, { where: (r) => r[field] === value });
    return this.matchesBy(kc, field, value).map((c) => JSON.parse(c.data) as T);
  }

  /**
   * For each of `values` in turn, calls `visit` with the kind's documents
   * whose top-level `field` is that value, in creation order, without copying
   * them: listBy for a whole page of rows (the ports of 100 servers) with one
   * look at the scan cache, and no JSON.parse per match. `visit` must neither
   * change nor keep the document.
   */
  forEachBy<T extends Resource>(kind: string, field: keyof T & string, values: Iterable<unknown>, visit: (r: Readonly<T>, value: unknown) => void): void {
    const kc = this.scan(kind);
    for (const value of values) {
      if (!kc) for (const r of this.list<T>(kind, { where: (d) => d[field] === value })) visit(r, value);
      else for (const c of this.matchesBy(kc, field, value)) visit(c.doc as T, value);
    }
  }

  /** The cached documents whose `field` is `value`, in creation order, through the field's index (built on first use). */
  private matchesBy(kc: KindCache, field: string, value: unknown): CachedDoc[] {
    let index = kc.by.get(field);
    if (!index) {
      index = new Map();
      for (const [id, { doc }] of kc.docs) indexAdd(index, fieldOf(doc, field), id);
      kc.by.set(field, index);
    }
    const ids = index.get(value);
    if (!ids) return [];
    // A set's order is insertion order; a put that changed the field appended its id, so order by seq.
    return [...ids].map((id) => kc.docs.get(id)!).sort((a, b) => a.seq - b.seq);
  }

  /** The document's place in creation order, if it is of the kind (and of the project, when one is given). */
  creationKey(kind: string, id: string, projectId: string | null): CreationKey | undefined {
    return projectId === null
      ? this.db.get<CreationKey>('SELECT created_at, seq FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id)
      : this.db.get<CreationKey>('SELECT created_at, seq FROM sandbox_resources WHERE kind = ? AND id = ? AND project_id = ?', kind, id, projectId);
  }

  /**
   * One page in creation order by the created_at column, then seq, read
   * through the (kind, [project_id,] created_at, seq) indexes: a page costs
   * its own rows, not a read and sort of the whole kind. The order is
   * created_at's binary order, which is its time order as long as the kind
   * writes created_at in one fixed-width format (isoZ).
   */
  pageByCreation<T extends Resource>(kind: string, page: CreationPage): T[] {
    const [cmp, dir] = page.newestFirst ? ['<', 'DESC'] : ['>', 'ASC'];
    const where = ['kind = ?'];
    const params: unknown[] = [kind];
    if (page.projectId !== null) {
      where.push('project_id = ?');
      params.push(page.projectId);
    }
    if (page.after) {
      where.push(`(created_at, seq) ${cmp} (?, ?)`);
      params.push(page.after.created_at, page.after.seq);
    }
    const rows = this.db.all<{ data: string }>(
      `SELECT data FROM sandbox_resources WHERE ${where.join(' AND ')} ORDER BY created_at ${dir}, seq ${dir} LIMIT ?`, ...params, page.limit);
    const parse = page.parse ?? JSON.parse;
    return rows.map((r) => parse(r.data) as T);
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
    const kc = this.cached(kind);
    if (kc) this.cacheSet(kc, { doc: JSON.parse(data) as Resource, data, seq });
    return resource;
  }

  /** Writes the whole document back, with updated_at set now unless `touch` is false. */
  put<T extends Resource>(kind: string, resource: T, touch = true): T {
    if (touch) resource.updated_at = isoZ();
    const data = JSON.stringify(resource);
    const { changes } = this.db.run('UPDATE sandbox_resources SET data = ?, name = ?, project_id = ?, updated_at = ? WHERE kind = ? AND id = ?',
      data, resource.name ?? null, resource.project_id, resource.updated_at, kind, resource.id);
    // Map.set on a key it has keeps the key's place, as the row keeps its seq.
    const kc = changes > 0 ? this.cached(kind) : undefined;
    const old = kc?.docs.get(resource.id);
    if (kc && old) this.cacheSet(kc, { doc: JSON.parse(data) as Resource, data, seq: old.seq });
    // Not cached though the kind is: never so while the cache is in step; start the kind afresh.
    else if (kc) scanCaches.get(this.db)?.kinds.delete(kind);
    return resource;
  }

  delete(kind: string, id: string): boolean {
    const deleted = this.db.run('DELETE FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id).changes > 0;
    const kc = this.cached(kind);
    const old = kc?.docs.get(id);
    if (kc && old) {
      for (const [field, index] of kc.by) indexRemove(index, fieldOf(old.doc, field), id);
      kc.docs.delete(id);
    }
    return deleted;
  }
}
