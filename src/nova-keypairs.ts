/**
 * Nova's key pair API shapes, the same whatever keeps the keys: the name
 * rule, the view by microversion, the list (sorted by name, paged from 2.35)
 * and the not-found fault. Drivers hand in what their backend knows of a key.
 */
import type { RequestContext } from '../generated/common.js';
import { Fault } from './faults.js';
import { atLeast } from './microversion.js';
import { nextLink, paginate } from './paging.js';

export interface KeypairFacts {
  name: string;
  publicKey: string;
  fingerprint: string;
  type: 'ssh' | 'x509';
  userId: string;
  /** Nova's zone-less time (`2024-05-01T10:11:12.000000`), or null when the backend does not say. */
  createdAt: string | null;
  /** Nova's integer id. */
  id: number;
}

/** The trimmed name, or 400 when Nova refuses it (2.92 allows `@` and `.`). */
export function keypairName(microversion: string | null, raw: string): string {
  const name = raw.trim();
  const allowed = atLeast(microversion, '2.92') ? /^[a-zA-Z0-9 _\-@.]+$/ : /^[a-zA-Z0-9 _-]+$/;
  if (!name || name.length > 255 || !allowed.test(name)) throw Fault.badRequest('Keypair data is invalid: Keypair name contains unsafe characters');
  return name;
}

/** From 2.92 a key pair must come with its public key: Nova no longer generates one. */
export function requirePublicKeyFrom292(microversion: string | null, publicKey: string | undefined): void {
  if (atLeast(microversion, '2.92') && !publicKey) throw Fault.badRequest("Invalid input for field/attribute keypair. Value: 'public_key' is a required property");
}

export function keypairNotFound(name: string, userId: string): Fault {
  return Fault.notFound(`Keypair ${name} not found for user ${userId}`);
}

/** A key pair as Nova shows it: in lists and on create, or in full on show (`detail`). */
export function keypairView(microversion: string | null, k: KeypairFacts, detail: boolean): Record<string, unknown> {
  const v: Record<string, unknown> = { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint };
  if (atLeast(microversion, '2.2')) v.type = k.type;
  if (detail) Object.assign(v, { user_id: k.userId, created_at: k.createdAt, deleted: false, deleted_at: null, updated_at: null, id: k.id });
  return v;
}

/** GET /os-keypairs: by name, paged with limit/marker (the name) from 2.35. */
export function keypairList(ctx: RequestContext, keys: readonly KeypairFacts[], query: Record<string, unknown>): Record<string, unknown> {
  const sorted = [...keys].sort((a, b) => a.name.localeCompare(b.name));
  const { items, more } = atLeast(ctx.microversion, '2.35') ? paginate(sorted, query, (k) => k.name) : { items: sorted, more: false };
  const body: Record<string, unknown> = { keypairs: items.map((k) => ({ keypair: keypairView(ctx.microversion, k, false) })) };
  if (more) body.keypairs_links = [nextLink(ctx.url, query, items[items.length - 1]!.name)];
  return body;
}
