/**
 * Validated tokens, remembered while nothing in the store may have changed:
 * every request's X-Auth-Token was opened and checked afresh, some twenty
 * SQLite reads (user, project, domains, assignments, implied roles, each
 * role, revocations), 9% of a servers/detail request. An entry holds while
 * the store's change signature (another process's commit, a rollback, any
 * write by this process: Store.changeEpoch) is the one it was made under, and
 * the token has not expired; a hit is a copy, so no caller shares it.
 */
import { Lru } from '../lru.js';
import type { ValidToken } from './service.js';

interface Entry { valid: ValidToken; changes: string }

export class ValidatedTokenCache {
  private readonly entries: Lru<string, Entry>;

  constructor(private readonly changes: () => string, max = 1000) {
    this.entries = new Lru(max);
  }

  /** The store's signature now, to look up with and to remember under. */
  signature(): string {
    return this.changes();
  }

  get(token: string, signature: string, now: number): ValidToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.changes !== signature || entry.valid.claims.e <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return structuredClone(entry.valid);
  }

  set(token: string, signature: string, valid: ValidToken): void {
    this.entries.set(token, { valid: structuredClone(valid), changes: signature });
  }
}
