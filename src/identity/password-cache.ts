/**
 * The verified-password cache: after a password passed its scrypt check, an
 * HMAC-SHA256 of (the stored hash, the password) under a random key of this
 * process is remembered for `ttlMs`, so the same login again (the openstack
 * CLI logs in on every command) costs one HMAC instead of ~50 ms of scrypt.
 *
 * As Apache's mod_authn_socache, it trades that fast path for exposure to an
 * attacker who can read this process's memory: with the key and the MACs they
 * can test guesses at HMAC speed instead of scrypt's (for passwords used within
 * the last ttl). Nothing is written anywhere. A wrong password never enters
 * and always pays full scrypt, so online guessing gets no faster; a password
 * change writes a new hash (new salt), which misses.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Lru } from '../lru.js';

interface Entry { mac: Buffer; until: number }

export class VerifiedPasswordCache {
  private readonly key = randomBytes(32);
  private readonly entries: Lru<string, Entry>;

  /** `ttlMs` 0 turns it off: every check is a miss and nothing is kept. */
  constructor(readonly ttlMs: number, max = 10_000, private readonly now: () => number = Date.now) {
    this.entries = new Lru(max);
  }

  get size(): number {
    return this.entries.size;
  }

  private mac(stored: string, password: string): Buffer {
    // The stored hash (scrypt$…, base64url) has no NUL, so the pair is unambiguous.
    return createHmac('sha256', this.key).update(stored, 'utf8').update('\0').update(password, 'utf8').digest();
  }

  /** Whether this password passed its check against this stored hash within the ttl. */
  has(stored: string, password: string): boolean {
    if (this.ttlMs <= 0) return false;
    const entry = this.entries.get(stored);
    if (!entry) return false;
    if (entry.until <= this.now()) {
      this.entries.delete(stored);
      return false;
    }
    return timingSafeEqual(entry.mac, this.mac(stored, password));
  }

  /** Remembers a password that just passed its scrypt check. */
  remember(stored: string, password: string): void {
    if (this.ttlMs <= 0) return;
    this.entries.set(stored, { mac: this.mac(stored, password), until: this.now() + this.ttlMs });
  }

  /** verifyPassword through the cache: a hit skips `verify`; a miss runs it and remembers a success. */
  async verify(password: string, stored: string | undefined | null, verify: (password: string, stored: string | undefined | null) => Promise<boolean>): Promise<boolean> {
    if (!stored) return verify(password, stored);
    if (this.has(stored, password)) return true;
    const ok = await verify(password, stored);
    if (ok) this.remember(stored, password);
    return ok;
  }
}
