/**
 * The SQLite store: one database file in the data dir, WAL so readers never
 * wait for the writer and several gateway processes on one machine can share
 * it, migrations per owner in `schema_versions`, statements prepared once.
 * For several machines, src/store/postgres.ts implements the same `Store`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { storeUnavailable, type Migration, type Row, type Store } from './store.js';

export type { Migration, Row, Store } from './store.js';

/** SQLITE_BUSY after busy_timeout: another process held the write lock too long. */
function busy(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' ? storeUnavailable('sqlite', 'is busy with another writer', err) : err;
}

export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Transactions that threw (and so were rolled back), for readEpoch. */
  private rollbacks = 0;
  /** Writes through this connection, for changeEpoch. */
  private writes = 0;
  /** data_version as read in this synchronous stretch of code (null: read it again). */
  private dataVersion: string | null = null;

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
      return this.db.transaction(() => {
        // Other writers before us have committed by now: look at data_version afresh.
        this.dataVersion = null;
        return fn();
      }).immediate();
    } catch (err) {
      this.rollbacks++;
      throw busy(err);
    }
  }

  /**
   * data_version changes when another connection commits (not for this one's
   * own writes). It is read once per synchronous stretch of code (a request
   * between two awaits; a transaction), not per lookup: the PRAGMA costs more
   * than a small SELECT, and a page of 100 servers looks up ports 100 times.
   */
  readEpoch(): string {
    if (this.dataVersion === null) {
      this.dataVersion = String((this.stmt('PRAGMA data_version').get() as { data_version: number }).data_version);
      queueMicrotask(() => { this.dataVersion = null; });
    }
    return `${this.dataVersion}:${this.rollbacks}`;
  }

  changeEpoch(): string {
    return `${this.readEpoch()}:${this.writes}`;
  }

  get<T = Row>(sql: string, ...params: unknown[]): T | undefined {
    try {
      return this.stmt(sql).get(...params) as T | undefined;
    } catch (err) {
      throw busy(err);
    }
  }

  all<T = Row>(sql: string, ...params: unknown[]): T[] {
    try {
      return this.stmt(sql).all(...params) as T[];
    } catch (err) {
      throw busy(err);
    }
  }

  run(sql: string, ...params: unknown[]): { changes: number } {
    this.writes++;
    try {
      return { changes: this.stmt(sql).run(...params).changes };
    } catch (err) {
      throw busy(err);
    }
  }

  /**
   * Applies the owner's migrations above its recorded version, in one
   * transaction that reads the version under the write lock: processes
   * starting together on one file apply each migration once.
   */
  migrate(owner: string, migrations: readonly Migration[]): void {
    this.writes++;
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT version FROM schema_versions WHERE owner = ?').get(owner) as { version: number } | undefined;
      const current = row?.version ?? 0;
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= current) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_versions (owner, version) VALUES (?, ?) ON CONFLICT(owner) DO UPDATE SET version = excluded.version').run(owner, m.version);
      }
    }).immediate();
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
