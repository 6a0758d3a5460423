/**
 * The store interface the identity service and the sandbox cloud keep their
 * state behind: SQLite (src/store/sqlite.ts, one machine) or PostgreSQL
 * (src/store/postgres.ts, several). It is synchronous, as better-sqlite3 is:
 * code between two awaits runs without another request's writes in between,
 * and a transaction is one synchronous function, so the sandbox's check-then-
 * write logic (quotas, names, addresses) needs no locking of its own.
 *
 * SQL is written once, in the common dialect of both engines: `?`
 * placeholders, `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE`, row values,
 * `LIMIT ?`, `ORDER BY rowid` (a real column in the PostgreSQL tables). Only
 * migrations differ (column types), so a migration may carry its own
 * PostgreSQL text.
 */
import { Fault } from '../faults.js';

export interface Migration {
  /** Applied in order; never edit one that has shipped, add the next. */
  readonly version: number;
  /** SQLite's DDL. */
  readonly sql: string;
  /** PostgreSQL's DDL, where types or keys differ (BIGINT for times in ms, BIGSERIAL for rowid); default `sql`. */
  readonly postgres?: string;
}

export type Row = Record<string, unknown>;

export interface Store {
  /** Which engine, for messages and the few places where SQL differs. */
  readonly engine: 'sqlite' | 'postgres';
  /**
   * Runs fn in one transaction; a throw rolls it back. Writers are one at a
   * time across every process sharing the store, and a transaction's reads
   * see every write committed before it began.
   */
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
  /**
   * readEpoch, and also moved by every write through this connection: for
   * caches of whole answers (validated tokens) that nothing may go stale
   * under, where readEpoch suits readers that keep their own rows in step.
   */
  changeEpoch?(): string;
}

/** A duplicate primary or unique key, in either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * The store cannot answer now (unreachable, or another writer held it past
 * the wait): a 503 the client may retry, never a 500. The message names the
 * engine, never its address or credentials.
 */
export function storeUnavailable(engine: Store['engine'], why: string, cause?: unknown): Fault {
  return new Fault('backendUnavailable', `The gateway's store (${engine === 'postgres' ? 'PostgreSQL' : 'SQLite'}) ${why}; try again shortly.`, {
    headers: { 'Retry-After': '2' }, cause,
  });
}
