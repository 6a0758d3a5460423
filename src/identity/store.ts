/**
 * The local identity backend's data: Keystone's entities (domains, projects,
 * users, groups, roles, regions, services, endpoints, credentials, policies,
 * application credentials, …) as JSON documents keyed by kind and id, with a
 * unique key per kind (a project name within its domain), plus the relations
 * (role assignments, group members, implied roles, tags) and revocations.
 *
 * Identity data is small (hundreds of rows), so lists are filtered in memory.
 */
import { Fault } from '../faults.js';
import { isUniqueViolation, type Migration, type Store } from '../store/store.js';

export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE identity_entities (
        kind TEXT NOT NULL, id TEXT NOT NULL, unique_key TEXT, data TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE UNIQUE INDEX identity_entities_unique ON identity_entities (kind, unique_key) WHERE unique_key IS NOT NULL;
      CREATE TABLE identity_links (kind TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (kind, a, b));
      CREATE INDEX identity_links_b ON identity_links (kind, b);
      CREATE TABLE identity_assignments (
        type TEXT NOT NULL, actor_id TEXT NOT NULL, target_id TEXT NOT NULL, role_id TEXT NOT NULL, inherited INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (type, actor_id, target_id, role_id, inherited));
      CREATE INDEX identity_assignments_target ON identity_assignments (target_id);
      CREATE INDEX identity_assignments_role ON identity_assignments (role_id);
      CREATE TABLE identity_revocations (audit_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE TABLE identity_revoke_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, project_id TEXT, issued_before INTEGER NOT NULL, expires_at INTEGER NOT NULL);
      CREATE INDEX identity_revoke_events_user ON identity_revoke_events (user_id);
    `,
    // Times in ms need 64 bits; rowid is SQLite's own column, a real one here (insertion order).
    postgres: `
      CREATE TABLE identity_entities (
        kind TEXT NOT NULL, id TEXT NOT NULL, unique_key TEXT, data TEXT NOT NULL, seq BIGINT NOT NULL,
        PRIMARY KEY (kind, id));
      CREATE UNIQUE INDEX identity_entities_unique ON identity_entities (kind, unique_key) WHERE unique_key IS NOT NULL;
      CREATE TABLE identity_links (kind TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, rowid BIGSERIAL, PRIMARY KEY (kind, a, b));
      CREATE INDEX identity_links_b ON identity_links (kind, b);
      CREATE TABLE identity_assignments (
        type TEXT NOT NULL, actor_id TEXT NOT NULL, target_id TEXT NOT NULL, role_id TEXT NOT NULL, inherited INTEGER NOT NULL DEFAULT 0,
        rowid BIGSERIAL, PRIMARY KEY (type, actor_id, target_id, role_id, inherited));
      CREATE INDEX identity_assignments_target ON identity_assignments (target_id);
      CREATE INDEX identity_assignments_role ON identity_assignments (role_id);
      CREATE TABLE identity_revocations (audit_id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
      CREATE TABLE identity_revoke_events (
        id BIGSERIAL PRIMARY KEY, user_id TEXT, project_id TEXT, issued_before BIGINT NOT NULL, expires_at BIGINT NOT NULL);
      CREATE INDEX identity_revoke_events_user ON identity_revoke_events (user_id);
    `,
  },
];

export type Kind =
  | 'domain' | 'project' | 'user' | 'group' | 'role' | 'region' | 'service' | 'endpoint' | 'credential'
  | 'policy' | 'app_credential' | 'access_rule' | 'endpoint_group' | 'domain_config' | 'trust' | 'consumer'
  | 'limit' | 'registered_limit';

export type LinkKind = 'group_member' | 'implied_role' | 'project_tag' | 'project_endpoint' | 'endpoint_group_project' | 'policy_endpoint';

export type AssignmentType = 'UserProject' | 'GroupProject' | 'UserDomain' | 'GroupDomain' | 'UserSystem' | 'GroupSystem';

export interface Assignment {
  type: AssignmentType;
  actor_id: string;
  target_id: string;
  role_id: string;
  inherited: boolean;
}

/** Every stored entity has an id; the rest is the kind's own. */
export interface Entity {
  id: string;
  [k: string]: unknown;
}

/** Reads kept between two changes of the store's readEpoch, at most this many (then all are dropped). */
const READ_CACHE_ENTRIES = 20_000;

/**
 * Identity's state, with a per-process cache of what was read: validating a
 * token reads its user, project, domain, role assignments, groups and
 * implied roles and the revocations (about 20 queries, for every request of
 * every service; each a round trip on PostgreSQL). The cache holds the rows
 * as read (entities as their JSON, parsed anew for each caller, who may
 * change what it gets) and is dropped when the store's readEpoch moves
 * (another process committed, or a transaction here rolled back) and on
 * every write made through this class.
 */
export class IdentityStore {
  private cache = new Map<string, unknown>();
  private cacheEpoch = '';

  constructor(readonly db: Store) {
    db.migrate('identity', IDENTITY_MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  /** `load`'s answer, from the cache while the store's epoch holds; a store without readEpoch is not cached. */
  private read<T>(key: string, load: () => T): T {
    if (!this.db.readEpoch) return load();
    const epoch = this.db.readEpoch();
    if (epoch !== this.cacheEpoch || this.cache.size >= READ_CACHE_ENTRIES) {
      this.cache.clear();
      this.cacheEpoch = epoch;
    }
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const value = load();
    this.cache.set(key, value);
    return value;
  }

  /** Every write through this class: what was read may have changed. */
  private written(): void {
    this.cache.clear();
  }

  get<T extends Entity>(kind: Kind, id: string): T | undefined {
    const data = this.read(`get\0${kind}\0${id}`, () => this.db.get<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? AND id = ?', kind, id)?.data);
    return data === undefined ? undefined : (JSON.parse(data) as T);
  }

  /** In creation order. */
  list<T extends Entity>(kind: Kind): T[] {
    const rows = this.read(`list\0${kind}`, () => this.db.all<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? ORDER BY seq', kind).map((r) => r.data));
    return rows.map((d) => JSON.parse(d) as T);
  }

  findUnique<T extends Entity>(kind: Kind, uniqueKey: string): T | undefined {
    const data = this.read(`unique\0${kind}\0${uniqueKey}`, () => this.db.get<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? AND unique_key = ?', kind, uniqueKey)?.data);
    return data === undefined ? undefined : (JSON.parse(data) as T);
  }

  /** Inserts; a duplicate unique key or id is a 409 with `conflict` as its message. */
  create<T extends Entity>(kind: Kind, entity: T, uniqueKey: string | null, conflict: string): T {
    this.written();
    try {
      const seq = (this.db.get<{ n: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM identity_entities')?.n) ?? 1;
      this.db.run('INSERT INTO identity_entities (kind, id, unique_key, data, seq) VALUES (?, ?, ?, ?, ?)', kind, entity.id, uniqueKey, JSON.stringify(entity), seq);
    } catch (err) {
      if (isUniqueViolation(err)) throw Fault.conflict(conflict);
      throw err;
    }
    return entity;
  }

  put<T extends Entity>(kind: Kind, entity: T, uniqueKey: string | null, conflict: string): T {
    this.written();
    try {
      this.db.run('UPDATE identity_entities SET data = ?, unique_key = ? WHERE kind = ? AND id = ?', JSON.stringify(entity), uniqueKey, kind, entity.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw Fault.conflict(conflict);
      throw err;
    }
    return entity;
  }

  delete(kind: Kind, id: string): boolean {
    this.written();
    return this.db.run('DELETE FROM identity_entities WHERE kind = ? AND id = ?', kind, id).changes > 0;
  }

  link(kind: LinkKind, a: string, b: string): void {
    this.written();
    this.db.run('INSERT INTO identity_links (kind, a, b) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', kind, a, b);
  }

  unlink(kind: LinkKind, a: string, b: string): boolean {
    this.written();
    return this.db.run('DELETE FROM identity_links WHERE kind = ? AND a = ? AND b = ?', kind, a, b).changes > 0;
  }

  unlinkAll(kind: LinkKind, side: 'a' | 'b', id: string): void {
    this.written();
    this.db.run(`DELETE FROM identity_links WHERE kind = ? AND ${side} = ?`, kind, id);
  }

  linked(kind: LinkKind, a: string, b: string): boolean {
    return this.read(`linked\0${kind}\0${a}\0${b}`, () => this.db.get('SELECT 1 FROM identity_links WHERE kind = ? AND a = ? AND b = ?', kind, a, b) !== undefined);
  }

  /** The b's linked to a (or the a's linked to b). */
  links(kind: LinkKind, side: 'a' | 'b', id: string): string[] {
    const other = side === 'a' ? 'b' : 'a';
    return [...this.read(`links\0${kind}\0${side}\0${id}`,
      () => this.db.all<{ v: string }>(`SELECT ${other} AS v FROM identity_links WHERE kind = ? AND ${side} = ? ORDER BY rowid`, kind, id).map((r) => r.v))];
  }

  allLinks(kind: LinkKind): { a: string; b: string }[] {
    return this.read(`allLinks\0${kind}`, () => this.db.all<{ a: string; b: string }>('SELECT a, b FROM identity_links WHERE kind = ? ORDER BY rowid', kind))
      .map((l) => ({ ...l }));
  }

  grant(a: Assignment): void {
    this.written();
    this.db.run('INSERT INTO identity_assignments (type, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      a.type, a.actor_id, a.target_id, a.role_id, a.inherited ? 1 : 0);
  }

  revokeGrant(a: Assignment): boolean {
    this.written();
    return this.db.run('DELETE FROM identity_assignments WHERE type = ? AND actor_id = ? AND target_id = ? AND role_id = ? AND inherited = ?',
      a.type, a.actor_id, a.target_id, a.role_id, a.inherited ? 1 : 0).changes > 0;
  }

  assignments(filter: Partial<Assignment> = {}): Assignment[] {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const k of ['type', 'actor_id', 'target_id', 'role_id'] as const) {
      if (filter[k] !== undefined) { where.push(`${k} = ?`); params.push(filter[k]); }
    }
    if (filter.inherited !== undefined) { where.push('inherited = ?'); params.push(filter.inherited ? 1 : 0); }
    const sql = `SELECT type, actor_id, target_id, role_id, inherited FROM identity_assignments${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid`;
    const rows = this.read(`assignments\0${sql}\0${params.join('\0')}`, () => this.db.all<Omit<Assignment, 'inherited'> & { inherited: number }>(sql, ...params));
    return rows.map((r) => ({ ...r, inherited: Boolean(r.inherited) }));
  }

  /** Removes every assignment that names this actor, target or role. */
  dropAssignments(id: string): void {
    this.written();
    this.db.run('DELETE FROM identity_assignments WHERE actor_id = ? OR target_id = ? OR role_id = ?', id, id, id);
  }

  revokeToken(auditId: string, expiresAt: number): void {
    this.written();
    this.db.run('INSERT INTO identity_revocations (audit_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING', auditId, expiresAt);
    this.db.run('DELETE FROM identity_revocations WHERE expires_at < ?', Date.now());
  }

  /** Tokens of a user (or of a user on a project) issued before now stop working. */
  revokeUserTokens(userId: string, projectId: string | null, ttlMs: number): void {
    this.written();
    const now = Date.now();
    this.db.run('INSERT INTO identity_revoke_events (user_id, project_id, issued_before, expires_at) VALUES (?, ?, ?, ?)', userId, projectId, now, now + ttlMs);
    this.db.run('DELETE FROM identity_revoke_events WHERE expires_at < ?', now);
  }

  isRevoked(auditIds: readonly string[], userId: string, projectId: string | undefined, issuedAt: number): boolean {
    for (const a of auditIds) {
      if (this.read(`revoked\0${a}`, () => this.db.get('SELECT 1 FROM identity_revocations WHERE audit_id = ?', a) !== undefined)) return true;
    }
    return this.read(`revokedEvents\0${userId}\0${projectId ?? ''}\0${issuedAt}`, () => this.db.get(
      'SELECT 1 FROM identity_revoke_events WHERE user_id = ? AND (project_id IS NULL OR project_id = ?) AND issued_before >= ?',
      userId, projectId ?? '', issuedAt) !== undefined);
  }
}
