/**
 * The PostgreSQL store, for gateways on several machines sharing one cloud:
 * the `Store` interface of src/store/store.ts over one libpq connection per
 * process, synchronous as better-sqlite3 is (the interface's contract; see
 * there), so the identity service and the sandbox run on it unchanged.
 *
 * What carries over from SQLite, and how:
 * - One writer at a time: SQLite's `BEGIN IMMEDIATE` becomes a transaction
 *   that first takes one advisory lock (`pg_advisory_xact_lock`), so the
 *   sandbox's check-then-write transactions (addresses, quotas, names) are
 *   serialised across every process as they are on one file. Readers outside
 *   a transaction never wait. `lock_timeout` plays busy_timeout: a writer
 *   that waits longer gets a 503 to retry, never a 500.
 * - readEpoch (the sandbox's per-process scan cache): every committing
 *   writer bumps one counter row (`store_epoch`) inside its transaction;
 *   a counter moved by someone else drops the cache, our own bump does not
 *   (the cache was kept in step by our writes). It is read once per
 *   synchronous stretch of code, not once per lookup.
 * - Statements are prepared once per connection.
 *
 * The price of synchronous calls: each query holds this process's event
 * loop for one round trip (about 0.1 ms on loopback, as a better-sqlite3
 * read holds it for its page reads). Run more processes for more cores.
 * A lost connection is a 503 for the request that found it; the next one
 * reconnects (at most one attempt per second, so a dead server costs each
 * request nothing after the first).
 */
import { createRequire } from 'node:module';
import { Fault } from '../faults.js';
import { storeUnavailable, type Migration, type Row, type Store } from './store.js';

/** The part of the `libpq` binding (npm `libpq`, brianc's node-libpq) used here; it ships no types. */
interface PQ {
  connectSync(conninfo: string): void;
  finish(): void;
  exec(sql: string): void;
  prepare(name: string, sql: string, nParams: number): void;
  execPrepared(name: string, params: (string | null)[]): void;
  resultStatus(): string;
  resultErrorMessage(): string;
  resultErrorFields(): { sqlState?: string } | undefined;
  errorMessage(): string;
  /** 0 idle, 1 active, 2 in a transaction, 3 in a failed transaction, 4 unknown (the connection is bad). */
  transactionStatus(): number;
  ntuples(): number;
  nfields(): number;
  fname(i: number): string;
  ftype(i: number): number;
  getvalue(row: number, col: number): string;
  getisnull(row: number, col: number): boolean;
  cmdTuples(): string;
}

/** The one advisory lock every writer takes ('STKG'). One stackgate deployment per database. */
const WRITE_LOCK = 0x53544b47;

/** A failed connection attempt waits this long before the next one: connecting blocks the event loop. */
const RECONNECT_BACKOFF_MS = 1000;

/** SQLSTATEs meaning "not now": the connection or server went away, or a lock wait timed out. */
function unavailableKind(sqlState: string | undefined): 'unreachable' | 'busy' | null {
  if (!sqlState) return null;
  if (sqlState.startsWith('08') || sqlState === '57P01' || sqlState === '57P02' || sqlState === '57P03' || sqlState === '53300') return 'unreachable';
  if (sqlState === '55P03' || sqlState === '40P01' || sqlState === '40001' || sqlState === '57014') return 'busy';
  return null;
}

/** Column values arrive as text: integers and floats become numbers (COUNT, seq, times in ms), booleans booleans, the rest stays text. */
function parser(oid: number): ((v: string) => unknown) | null {
  switch (oid) {
    case 20: case 21: case 23: case 700: case 701: case 1700: return Number; // int8, int2, int4, float4, float8, numeric
    case 16: return (v) => v === 't';
    default: return null;
  }
}

/**
 * Parameters go as text, with SQLite's conventions: booleans as 1/0.
 * PostgreSQL text cannot hold U+0000 (SQLite's can): such a value, a name or
 * an id from a request, is the client's 400, not a 500.
 */
function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
      if (v.includes('\u0000')) throw Fault.badRequest('Invalid input: a value holds a NUL (\\u0000) character.');
      return v;
    case 'number': case 'bigint': return String(v);
    case 'boolean': return v ? '1' : '0';
    default:
      if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
      throw new TypeError(`PostgreSQL store: cannot bind a ${typeof v} parameter`);
  }
}

/** `?` placeholders → `$1, $2, …` (outside quoted text). */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else out += ch === '?' ? `$${++n}` : ch;
  }
  return out;
}

/** libpq's own timeout and a name in pg_stat_activity, unless the URL sets them. */
function withDefaults(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('connect_timeout')) parsed.searchParams.set('connect_timeout', '2');
  if (!parsed.searchParams.has('application_name')) parsed.searchParams.set('application_name', 'stackgate');
  return parsed.toString();
}

let binding: (new () => PQ) | undefined;
function loadBinding(): new () => PQ {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)('libpq') as new () => PQ;
  } catch (err) {
    throw new Error('store.engine postgres needs the libpq module (an optional dependency built against libpq): '
      + `apt-get install libpq-dev, then npm ci (${(err as Error).message.split('\n')[0]})`);
  }
  return binding;
}

export interface PostgresStoreOptions {
  /** `postgresql://user@host:port/db`; a password is better in PGPASSWORD or ~/.pgpass than here. */
  url: string;
  /** Longest wait for the write lock (as SQLite's busy_timeout). */
  lockTimeoutMs?: number;
  /** Longest any one statement may hold the event loop. */
  statementTimeoutMs?: number;
}

export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  private readonly pq: PQ;
  private readonly conninfo: string;
  private connected = false;
  private retryAt = 0;
  /** SQL text → prepared statement name (per connection) and its $n form. */
  private prepared = new Map<string, string>();
  /** Transactions open (nested ones are savepoints). */
  private depth = 0;
  /** A write ran in the open transaction: its commit bumps the epoch. */
  private wrote = false;
  /** The epoch counter as last seen, its generation here, and whether that is still good (this stretch of code, or the open transaction). */
  private seenN = -1;
  private generation = 0;
  private epochFresh = false;
  /** Transactions that threw (and so were rolled back), for readEpoch. */
  private rollbacks = 0;
  /** Writes through this connection, for changeEpoch. */
  private writes = 0;

  constructor(private readonly opts: PostgresStoreOptions) {
    const PQ = loadBinding();
    this.pq = new PQ();
    this.conninfo = withDefaults(opts.url);
    this.connect(true);
    this.tx(() => {
      this.simple(`CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS store_epoch (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
        INSERT INTO store_epoch (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`);
    });
  }

  private connect(first = false): void {
    if (this.connected) return;
    if (!first && performance.now() < this.retryAt) throw storeUnavailable('postgres', 'is unreachable');
    try {
      this.pq.connectSync(this.conninfo);
    } catch (err) {
      this.retryAt = performance.now() + RECONNECT_BACKOFF_MS;
      // libpq's message names host, port and user, never the password.
      if (first) throw new Error(`store.url: cannot connect to PostgreSQL: ${(err as Error).message.trim()}`);
      throw storeUnavailable('postgres', 'is unreachable', err);
    }
    this.connected = true;
    this.prepared.clear();
    this.simple(`SET lock_timeout = ${Math.round(this.opts.lockTimeoutMs ?? 5000)}; SET statement_timeout = ${Math.round(this.opts.statementTimeoutMs ?? 30_000)}; SET client_min_messages = warning`);
  }

  /** The error of the last result; a connection gone bad is dropped, to be made again on the next call. */
  private failure(): Error {
    const fields = this.pq.resultErrorFields() ?? {};
    const err = Object.assign(new Error(`PostgreSQL: ${(this.pq.resultErrorMessage() || this.pq.errorMessage()).trim()}`), { code: fields.sqlState });
    const bad = this.pq.transactionStatus() === 4;
    if (bad) {
      this.pq.finish();
      this.connected = false;
    }
    const kind = bad ? 'unreachable' : unavailableKind(fields.sqlState);
    if (kind === 'unreachable') return storeUnavailable('postgres', 'is unreachable', err);
    if (kind === 'busy') return storeUnavailable('postgres', 'is busy with another writer', err);
    return err;
  }

  private ok(): boolean {
    const s = this.pq.resultStatus();
    return s === 'PGRES_COMMAND_OK' || s === 'PGRES_TUPLES_OK' || s === 'PGRES_EMPTY_QUERY';
  }

  /** Statements without parameters (DDL, BEGIN, SET), several at once. */
  private simple(sql: string): void {
    this.connect();
    this.pq.exec(sql);
    if (!this.ok()) throw this.failure();
  }

  private execute(sql: string, params: unknown[]): void {
    this.connect();
    const values = params.map(toText);
    let name = this.prepared.get(sql);
    if (name === undefined) {
      const text = toPostgresPlaceholders(sql);
      name = `s${this.prepared.size + 1}`;
      this.pq.prepare(name, text, values.length);
      if (!this.ok()) throw this.failure();
      this.prepared.set(sql, name);
    }
    this.pq.execPrepared(name, values);
    if (!this.ok()) throw this.failure();
  }

  private rows<T>(): T[] {
    const pq = this.pq;
    const n = pq.ntuples();
    const f = pq.nfields();
    const names: string[] = [];
    const parsers: (((v: string) => unknown) | null)[] = [];
    for (let c = 0; c < f; c++) {
      names.push(pq.fname(c));
      parsers.push(parser(pq.ftype(c)));
    }
    const out: T[] = [];
    for (let r = 0; r < n; r++) {
      const row: Row = {};
      for (let c = 0; c < f; c++) {
        if (pq.getisnull(r, c)) row[names[c]!] = null;
        else {
          const v = pq.getvalue(r, c);
          const p = parsers[c];
          row[names[c]!] = p ? p(v) : v;
        }
      }
      out.push(row as T);
    }
    return out;
  }

  get<T = Row>(sql: string, ...params: unknown[]): T | undefined {
    this.execute(sql, params);
    return this.pq.ntuples() ? this.rows<T>()[0] : undefined;
  }

  all<T = Row>(sql: string, ...params: unknown[]): T[] {
    this.execute(sql, params);
    return this.rows<T>();
  }

  run(sql: string, ...params: unknown[]): { changes: number } {
    // A write outside a transaction is one of its own, so that it takes the write lock and bumps the epoch.
    if (this.depth === 0) return this.tx(() => this.run(sql, ...params));
    this.writes++;
    this.execute(sql, params);
    this.wrote = true;
    return { changes: Number(this.pq.cmdTuples() || 0) };
  }

  /**
   * One transaction under the write lock; one that wrote counts in the
   * epoch. Nested calls are savepoints, as better-sqlite3's are.
   */
  tx<T>(fn: () => T): T {
    if (this.depth > 0) return this.savepoint(fn);
    this.depth = 1;
    this.wrote = false;
    // Writers before us will have committed once we hold the lock: look at the epoch afresh.
    this.epochFresh = false;
    try {
      this.simple(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`);
      const out = fn();
      if (out instanceof Promise) throw new TypeError('a store transaction function cannot return a promise');
      if (this.wrote) {
        const n = this.get<{ n: number }>('UPDATE store_epoch SET n = n + 1 WHERE id = 1 RETURNING n')!.n;
        // Nobody else moved it since we last looked: our writes kept the caches in step.
        if (n - 1 === this.seenN) this.seenN = n;
      }
      this.simple('COMMIT');
      return out;
    } catch (err) {
      this.rollbacks++;
      if (this.connected) {
        try {
          this.simple('ROLLBACK');
        } catch {
          // The connection broke on the way; the server rolls back what it had.
        }
      }
      throw err;
    } finally {
      this.depth = 0;
      this.epochFresh = false;
    }
  }

  private savepoint<T>(fn: () => T): T {
    const name = `sp${this.depth}`;
    this.simple(`SAVEPOINT ${name}`);
    this.depth++;
    try {
      const out = fn();
      if (out instanceof Promise) throw new TypeError('a store transaction function cannot return a promise');
      this.simple(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      this.rollbacks++;
      if (this.connected) this.simple(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    } finally {
      this.depth--;
    }
  }

  readEpoch(): string {
    if (!this.epochFresh) {
      const n = this.get<{ n: number }>('SELECT n FROM store_epoch WHERE id = 1')!.n;
      if (n !== this.seenN) {
        this.seenN = n;
        this.generation++;
      }
      this.epochFresh = true;
      // Good for this synchronous stretch (inside a transaction, till its end: we hold the lock).
      if (this.depth === 0) queueMicrotask(() => { if (this.depth === 0) this.epochFresh = false; });
    }
    return `${this.generation}:${this.rollbacks}`;
  }

  changeEpoch(): string {
    return `${this.readEpoch()}:${this.writes}`;
  }

  /** The owner's migrations above its recorded version, in one transaction under the write lock. */
  migrate(owner: string, migrations: readonly Migration[]): void {
    this.tx(() => {
      const current = this.get<{ version: number }>('SELECT version FROM schema_versions WHERE owner = ?', owner)?.version ?? 0;
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= current) continue;
        this.simple(m.postgres ?? m.sql);
        this.run('INSERT INTO schema_versions (owner, version) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET version = excluded.version', owner, m.version);
      }
    });
  }

  close(): void {
    if (this.connected) this.pq.finish();
    this.connected = false;
    this.prepared.clear();
  }
}
