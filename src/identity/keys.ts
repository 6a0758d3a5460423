/**
 * The token key repository: numbered AES-256 keys in one directory, the
 * highest the primary (new tokens), the others still accepted until retired.
 * Like Keystone's fernet repository, every gateway process that shares the
 * directory validates every other's tokens, and `stackgate keys rotate` on one
 * of them is picked up by all (an unknown key id rereads the directory).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KEY_FILE = /^key-(\d+)$/;

export class KeyRepository {
  private keys = new Map<number, Buffer>();
  private primaryId = 0;

  constructor(readonly dir: string) {}

  /** Creates the directory and a first key when there is none. */
  ensure(): this {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.load();
    if (this.keys.size === 0) this.write(1);
    this.load();
    return this;
  }

  /** Rereads the directory. */
  load(): this {
    const keys = new Map<number, Buffer>();
    if (existsSync(this.dir)) {
      for (const name of readdirSync(this.dir)) {
        const m = KEY_FILE.exec(name);
        if (!m) continue;
        const key = Buffer.from(readFileSync(join(this.dir, name), 'utf8').trim(), 'base64');
        if (key.length !== 32) throw new Error(`token key ${join(this.dir, name)} is not 32 bytes of base64`);
        keys.set(Number(m[1]), key);
      }
    }
    this.keys = keys;
    this.primaryId = Math.max(0, ...keys.keys());
    return this;
  }

  get primary(): { id: number; key: Buffer } {
    const key = this.keys.get(this.primaryId);
    if (!key) throw new Error(`no token keys in ${this.dir}; run \`stackgate init\``);
    return { id: this.primaryId, key };
  }

  /** The key with this id, rereading the directory once if another process rotated. */
  key(id: number): Buffer | undefined {
    if (!this.keys.has(id) && id > this.primaryId) this.load();
    return this.keys.get(id);
  }

  ids(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  /**
   * A new primary key; keys beyond the newest `keep` are retired (tokens
   * sealed with them stop validating).
   */
  rotate(keep = 3): { primary: number; retired: number[] } {
    this.load();
    const next = this.primaryId + 1;
    this.write(next);
    this.load();
    const retired = this.ids().slice(0, Math.max(0, this.keys.size - keep));
    for (const id of retired) rmSync(join(this.dir, `key-${id}`));
    this.load();
    return { primary: next, retired };
  }

  private write(id: number): void {
    const file = join(this.dir, `key-${id}`);
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
}
