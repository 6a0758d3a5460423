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
import type { IdentityService, User } from './service.js';

export interface PasswordLogin {
  userId?: string;
  userName?: string;
  domain?: { id?: string; name?: string };
  password: string;
}

export type AuthResult = { user: User; backendCredential?: unknown } | 'unknown' | 'denied';

export interface AuthPlugin {
  readonly name: string;
  authenticate(login: PasswordLogin, identity: IdentityService): Promise<AuthResult>;
}

/** Users and scrypt hashes in the gateway's own store. */
export const localAuth: AuthPlugin = {
  name: 'local',
  authenticate: (login, identity) => identity.localPasswordLogin(login),
};

export const AUTH_PLUGINS: Record<string, AuthPlugin> = { local: localAuth };
