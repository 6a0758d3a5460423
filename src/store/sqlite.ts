/**
 * The SQLite store: one database file in the data dir, WAL so readers never
 * wait for the writer and several gateway processes on one machine can share
 * it, migrations numbered by `PRAGMA user_version`, statements prepared once.
 *
 * A PostgreSQL store for several machines implements the same `Store`
 * interface (the scale-out issue): every query here is plain SQL over the
 * same tables, and each mutating call runs in one transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export interface Migration {
  /** Applied in order; never edit one that has shipped, add the next. */
  readonly version: number;
  readonly sql: string;
}

export type Row = Record<string, unknown>;

export interface Store {
  /** Runs fn in one transaction; a throw rolls it back. */
  tx<T>(fn: () => T): T;
  get<T = Row>(sql: string, ...params: unknown[]): T | undefined;
  all<T = Row>(sql: string, ...params: unknown[]): T[];
  run(sql: string, ...params: unknown[]): { changes: number };
  migrate(owner: string, migrations: readonly Migration[]): void;
  close(): void;
  /**
   * Changes whenever rows this connection read may have changed behind its
   * back: another connection committed, or a transaction here rolled back.
   * Readers that keep parsed rows drop them when it changes; a store without
   * it gets no such caching.
   */
  readEpoch?(): string;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Transactions that threw (and so were rolled back), for readEpoch. */
  private rollbacks = 0;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.rollbacks++;
      throw err;
    }
  }

  readEpoch(): string {
    // data_version changes when another connection commits (not for this one's own writes).
    return `${(this.stmt('PRAGMA data_version').get() as { data_version: number }).data_version}:${this.rollbacks}`;
  }

  get<T = Row>(sql: string, ...params: unknown[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T = Row>(sql: string, ...params: unknown[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: unknown[]): { changes: number } {
    return { changes: this.stmt(sql).run(...params).changes };
  }

  /** Applies the owner's migrations above its recorded version, each in one transaction. */
  migrate(owner: string, migrations: readonly Migration[]): void {
    const row = this.get<{ version: number }>('SELECT version FROM schema_versions WHERE owner = ?', owner);
    let current = row?.version ?? 0;
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_versions (owner, version) VALUES (?, ?) ON CONFLICT(owner) DO UPDATE SET version = excluded.version').run(owner, m.version);
      }).immediate();
      current = m.version;
    }
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
