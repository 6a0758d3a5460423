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

  /** In creation order; filtered by project in SQL, by `where` after. */
  list<T extends Resource>(kind: string, opts: ListOptions<T> = {}): T[] {
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
    this.db.run(
      'INSERT INTO sandbox_resources (kind, id, project_id, name, data, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      kind, resource.id, resource.project_id, resource.name ?? null, JSON.stringify(resource), seq, resource.created_at, resource.updated_at,
    );
    return resource;
  }

  /** Writes the whole document back, with updated_at set now unless `touch` is false. */
  put<T extends Resource>(kind: string, resource: T, touch = true): T {
    if (touch) resource.updated_at = isoZ();
    this.db.run('UPDATE sandbox_resources SET data = ?, name = ?, project_id = ?, updated_at = ? WHERE kind = ? AND id = ?',
      JSON.stringify(resource), resource.name ?? null, resource.project_id, resource.updated_at, kind, resource.id);
    return resource;
  }

  delete(kind: string, id: string): boolean {
    return this.db.run('DELETE FROM sandbox_resources WHERE kind = ? AND id = ?', kind, id).changes > 0;
  }
}
