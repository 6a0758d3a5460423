/**
 * Pluggable authentication. Each plugin gets a password login and answers:
 * the user (with, for backend plugins, the credential to seal in the token),
 * 'unknown' (not mine: ask the next plugin) or 'denied' (mine, and wrong).
 *
 * `local` checks users stored by the gateway. Backend plugins (SoftLayer
 * username + API key, CloudStack key + secret) and an upstream Keystone plug
 * in here: they verify against their API, find or create a shadow user for the
 * account, and return the credential, which only ever travels sealed.
 */
import type { Config } from '../config.js';
import { DEFAULT_DOMAIN, type IdentityService, type User } from './service.js';

export interface PasswordLogin {
  userId?: string;
  userName?: string;
  domain?: { id?: string; name?: string };
  password: string;
}

/** A plugin's verdict; `expiresAt` (ms) caps the token's lifetime (an upstream token's own expiry). */
export type AuthResult = { user: User; backendCredential?: unknown; expiresAt?: number } | 'unknown' | 'denied';

export interface AuthPlugin {
  readonly name: string;
  authenticate(login: PasswordLogin, identity: IdentityService): Promise<AuthResult>;
}

/**
 * A user a backend plugin made on first login carries the backend's name; it
 * has no local password, so the local plugin leaves it to that backend.
 */
export interface ShadowUser extends User { shadow_backend: string }

export function isShadowUser(user: User | undefined): user is ShadowUser {
  return typeof (user as ShadowUser | undefined)?.shadow_backend === 'string';
}

/** The stored user a login names, if any (by id, or by name in its domain). */
export function loginUser(login: PasswordLogin, identity: IdentityService): User | undefined {
  if (login.userId) return identity.user(login.userId);
  if (!login.userName) return undefined;
  const domain = identity.resolveDomain(login.domain ?? { id: DEFAULT_DOMAIN });
  return domain ? identity.userByName(domain.id, login.userName) : undefined;
}

/** Users and scrypt hashes in the gateway's own store. */
export const localAuth: AuthPlugin = {
  name: 'local',
  authenticate: (login, identity) => (isShadowUser(loginUser(login, identity)) ? Promise.resolve('unknown') : identity.localPasswordLogin(login)),
};

export const AUTH_PLUGINS: Record<string, AuthPlugin> = { local: localAuth };

/**
 * Plugins that need the gateway's config; their module loads on first use, so
 * a gateway that does not name them never loads their backend's client.
 */
const CONFIGURED_PLUGINS: Record<string, (config: Config) => Promise<AuthPlugin>> = {
  softlayer: async (config) => (await import('../../drivers/softlayer/auth.js')).softLayerAuth(config),
  cloudstack: async (config) => (await import('../../drivers/cloudstack/auth.js')).cloudStackAuth(config),
  'upstream-keystone': async (config) => (await import('../../drivers/openstack/auth.js')).upstreamKeystoneAuth(config),
};

/** The plugin config names `name`, or undefined when there is none. */
export function authPlugin(name: string, config: Config): AuthPlugin | undefined {
  const plain = AUTH_PLUGINS[name];
  if (plain) return plain;
  const make = CONFIGURED_PLUGINS[name];
  if (!make) return undefined;
  let loaded: Promise<AuthPlugin> | undefined;
  return {
    name,
    authenticate: async (login, identity) => (await (loaded ??= make(config))).authenticate(login, identity),
  };
}
