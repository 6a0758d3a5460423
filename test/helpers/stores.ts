/** Stores of either engine for tests that must hold on both: n connections to one fresh database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { sharedPostgres } from './postgres.js';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

export interface OpenedStores {
  stores: Store[];
  /** The PostgreSQL database's URL (password included). */
  url?: string;
  /** Another connection to the same database. */
  connect(): Store;
  close(): void;
}

export async function openStores(engine: Engine, n: number): Promise<OpenedStores> {
  const made: Store[] = [];
  let connect: () => Store;
  let cleanup = () => {};
  let url: string | undefined;
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'sg-store-'));
    connect = () => new SqliteStore(join(dir, 'db.sqlite'));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
  } else {
    const db = (await sharedPostgres()).createDatabase('store');
    url = db;
    connect = () => new PostgresStore({ url: db });
  }
  const open = () => { const s = connect(); made.push(s); return s; };
  for (let i = 0; i < n; i++) open();
  return {
    stores: [...made],
    url,
    connect: open,
    close() { for (const s of made) s.close(); cleanup(); },
  };
}

/** Lets a synchronous stretch end, as one request's does: the PostgreSQL store looks at its epoch afresh after it. */
export const tick = () => new Promise<void>((r) => setImmediate(r));
