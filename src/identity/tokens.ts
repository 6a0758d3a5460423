/**
 * Sealed, stateless tokens: the claims are JSON encrypted with AES-256-GCM
 * under the repository's primary key. The token carries its key id in clear
 * (authenticated as additional data), so any process holding the key
 * directory can open it; nothing about a token is stored except revocations.
 *
 *   base64url( version:1 | key id:4 | iv:12 | ciphertext | tag:16 )
 *
 * A backend credential (SoftLayer API key, CloudStack secret) can ride inside
 * the claims: it is encrypted with the rest and never appears in clear.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRepository } from './keys.js';

const VERSION = 1;
const HEADER = 5;
const IV = 12;
const TAG = 16;

/** What a token says. Names are short: they travel in every request. */
export interface TokenClaims {
  /** user id */
  u: string;
  /** auth methods: password, token, application_credential */
  m: string[];
  /** project scope */
  p?: string;
  /** domain scope */
  d?: string;
  /** system scope (all) */
  s?: 1;
  /** audit id of this token, then of the token it was made from */
  a: string[];
  /** issued at, expires at: ms since the epoch */
  i: number;
  e: number;
  /** application credential id */
  x?: string;
  /** trust id (OS-TRUST) */
  t?: string;
  /** backend credential, opaque to the gateway */
  b?: unknown;
}

export class TokenError extends Error {}

export class TokenSealer {
  constructor(private readonly keys: KeyRepository) {}

  seal(claims: TokenClaims): string {
    const { id, key } = this.keys.primary;
    const header = Buffer.alloc(HEADER);
    header.writeUInt8(VERSION, 0);
    header.writeUInt32BE(id, 1);
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
    return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Opens a token; any damage, a wrong or retired key is a TokenError. Expiry is the caller's. */
  open(token: string): TokenClaims {
    if (!/^[A-Za-z0-9_-]{40,4096}$/.test(token)) throw new TokenError('malformed token');
    const raw = Buffer.from(token, 'base64url');
    // One token, one spelling: base64url ignores the unused low bits of the last character.
    if (raw.toString('base64url') !== token) throw new TokenError('malformed token');
    if (raw.length < HEADER + IV + TAG + 2) throw new TokenError('truncated token');
    if (raw.readUInt8(0) !== VERSION) throw new TokenError('unknown token version');
    const kid = raw.readUInt32BE(1);
    const key = this.keys.key(kid);
    if (!key) throw new TokenError(`token key ${kid} is unknown or retired`);
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(HEADER, HEADER + IV));
    decipher.setAAD(raw.subarray(0, HEADER));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    let text: string;
    try {
      text = Buffer.concat([decipher.update(raw.subarray(HEADER + IV, raw.length - TAG)), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenError('token does not authenticate');
    }
    const claims = JSON.parse(text) as TokenClaims;
    if (typeof claims.u !== 'string' || !Array.isArray(claims.a) || claims.a.length === 0 || typeof claims.e !== 'number') throw new TokenError('token claims incomplete');
    return claims;
  }
}

/** A new audit id: 22 url-safe characters, as Keystone's. */
export function newAuditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}
