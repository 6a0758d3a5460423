/** Opens the store the config names: SQLite (the default) or PostgreSQL. */
import { storePath, type Config } from '../config.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export function openStore(config: Config): Store {
  if (config.store.engine === 'postgres') {
    return new PostgresStore({ url: config.store.url! });
  }
  return new SqliteStore(storePath(config));
}
