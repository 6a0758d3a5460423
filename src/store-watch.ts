/**
 * A store that counts this process's writes, for caches that must notice
 * every change: `readEpoch` sees other connections' commits and rollbacks
 * here but not this connection's own writes, which the sandbox's scan cache
 * follows itself. `changes` differs after any of the three; undefined for a
 * store without readEpoch (no such caching then).
 */
import type { Store } from './store/sqlite.js';

export function watchWrites(store: Store): { store: Store; changes?: () => string } {
  if (!store.readEpoch) return { store };
  let writes = 0;
  const watched = new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key === 'run' || key === 'migrate') {
        return (...args: unknown[]) => {
          writes++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const readEpoch = store.readEpoch.bind(store);
  return { store: watched, changes: () => `${readEpoch()}:${writes}` };
}
