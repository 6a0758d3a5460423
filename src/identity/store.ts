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
import type { Migration, Store } from '../store/sqlite.js';

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

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string })?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class IdentityStore {
  constructor(readonly db: Store) {
    db.migrate('identity', IDENTITY_MIGRATIONS);
  }

  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  get<T extends Entity>(kind: Kind, id: string): T | undefined {
    const row = this.db.get<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? AND id = ?', kind, id);
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** In creation order. */
  list<T extends Entity>(kind: Kind): T[] {
    return this.db.all<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? ORDER BY seq', kind).map((r) => JSON.parse(r.data) as T);
  }

  findUnique<T extends Entity>(kind: Kind, uniqueKey: string): T | undefined {
    const row = this.db.get<{ data: string }>('SELECT data FROM identity_entities WHERE kind = ? AND unique_key = ?', kind, uniqueKey);
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** Inserts; a duplicate unique key or id is a 409 with `conflict` as its message. */
  create<T extends Entity>(kind: Kind, entity: T, uniqueKey: string | null, conflict: string): T {
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
    try {
      this.db.run('UPDATE identity_entities SET data = ?, unique_key = ? WHERE kind = ? AND id = ?', JSON.stringify(entity), uniqueKey, kind, entity.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw Fault.conflict(conflict);
      throw err;
    }
    return entity;
  }

  delete(kind: Kind, id: string): boolean {
    return this.db.run('DELETE FROM identity_entities WHERE kind = ? AND id = ?', kind, id).changes > 0;
  }

  link(kind: LinkKind, a: string, b: string): void {
    this.db.run('INSERT OR IGNORE INTO identity_links (kind, a, b) VALUES (?, ?, ?)', kind, a, b);
  }

  unlink(kind: LinkKind, a: string, b: string): boolean {
    return this.db.run('DELETE FROM identity_links WHERE kind = ? AND a = ? AND b = ?', kind, a, b).changes > 0;
  }

  unlinkAll(kind: LinkKind, side: 'a' | 'b', id: string): void {
    this.db.run(`DELETE FROM identity_links WHERE kind = ? AND ${side} = ?`, kind, id);
  }

  linked(kind: LinkKind, a: string, b: string): boolean {
    return this.db.get('SELECT 1 FROM identity_links WHERE kind = ? AND a = ? AND b = ?', kind, a, b) !== undefined;
  }

  /** The b's linked to a (or the a's linked to b). */
  links(kind: LinkKind, side: 'a' | 'b', id: string): string[] {
    const other = side === 'a' ? 'b' : 'a';
    return this.db.all<{ v: string }>(`SELECT ${other} AS v FROM identity_links WHERE kind = ? AND ${side} = ? ORDER BY rowid`, kind, id).map((r) => r.v);
  }

  allLinks(kind: LinkKind): { a: string; b: string }[] {
    return this.db.all<{ a: string; b: string }>('SELECT a, b FROM identity_links WHERE kind = ? ORDER BY rowid', kind);
  }

  grant(a: Assignment): void {
    this.db.run('INSERT OR IGNORE INTO identity_assignments (type, actor_id, target_id, role_id, inherited) VALUES (?, ?, ?, ?, ?)',
      a.type, a.actor_id, a.target_id, a.role_id, a.inherited ? 1 : 0);
  }

  revokeGrant(a: Assignment): boolean {
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
    return this.db.all<Omit<Assignment, 'inherited'> & { inherited: number }>(sql, ...params).map((r) => ({ ...r, inherited: Boolean(r.inherited) }));
  }

  /** Removes every assignment that names this actor, target or role. */
  dropAssignments(id: string): void {
    this.db.run('DELETE FROM identity_assignments WHERE actor_id = ? OR target_id = ? OR role_id = ?', id, id, id);
  }

  revokeToken(auditId: string, expiresAt: number): void {
    this.db.run('INSERT OR IGNORE INTO identity_revocations (audit_id, expires_at) VALUES (?, ?)', auditId, expiresAt);
    this.db.run('DELETE FROM identity_revocations WHERE expires_at < ?', Date.now());
  }

  /** Tokens of a user (or of a user on a project) issued before now stop working. */
  revokeUserTokens(userId: string, projectId: string | null, ttlMs: number): void {
    const now = Date.now();
    this.db.run('INSERT INTO identity_revoke_events (user_id, project_id, issued_before, expires_at) VALUES (?, ?, ?, ?)', userId, projectId, now, now + ttlMs);
    this.db.run('DELETE FROM identity_revoke_events WHERE expires_at < ?', now);
  }

  isRevoked(auditIds: readonly string[], userId: string, projectId: string | undefined, issuedAt: number): boolean {
    for (const a of auditIds) {
      if (this.db.get('SELECT 1 FROM identity_revocations WHERE audit_id = ?', a)) return true;
    }
    return this.db.get(
      'SELECT 1 FROM identity_revoke_events WHERE user_id = ? AND (project_id IS NULL OR project_id = ?) AND issued_before >= ?',
      userId, projectId ?? '', issuedAt) !== undefined;
  }
}
