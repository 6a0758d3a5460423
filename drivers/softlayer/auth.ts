/**
 * The `softlayer` auth plugin: an OpenStack user name is a SoftLayer username
 * and the password is that user's API key. The pair is checked with
 * SoftLayer_Account::getCurrentUser; on success the user gets a shadow user
 * (Default domain, no local password) holding `member` on a project that
 * stands for the SoftLayer account, and the pair rides sealed in the token.
 * Nothing of the key is stored or logged.
 *
 * A local user named in `softlayer.mappedUsers` logs in with their gateway
 * password instead; their SoftLayer key comes from an environment variable.
 */
import type { Config } from '../../src/config.js';
import { isFault } from '../../src/faults.js';
import { isShadowUser, loginUser, type AuthPlugin, type AuthResult, type PasswordLogin, type ShadowUser } from '../../src/identity/auth.js';
import { DEFAULT_DOMAIN, newId, type IdentityService, type Project } from '../../src/identity/service.js';
import { SoftLayerClient, type SoftLayerCredential } from './client.js';

export const SHADOW_BACKEND = 'softlayer';

/** The project that stands for a SoftLayer account. */
export function accountProjectName(accountId: number): string {
  return `softlayer-${accountId}`;
}

interface CurrentUser { id: number; username: string; accountId: number }

/** Makes (once) the project of the account and the shadow user, and grants member. */
function ensureShadow(identity: IdentityService, slUser: CurrentUser, companyName: string | undefined): ShadowUser {
  const store = identity.store;
  return store.tx(() => {
    const projectName = accountProjectName(slUser.accountId);
    let project = identity.projectByName(DEFAULT_DOMAIN, projectName);
    if (!project) {
      project = store.create<Project>('project', {
        id: newId(), name: projectName, domain_id: DEFAULT_DOMAIN, enabled: true, parent_id: DEFAULT_DOMAIN, is_domain: false,
        description: `SoftLayer account ${slUser.accountId}${companyName ? ` (${companyName})` : ''}`,
      }, `${DEFAULT_DOMAIN}/${projectName}`, 'duplicate project');
    }
    let user = identity.userByName(DEFAULT_DOMAIN, slUser.username) as ShadowUser | undefined;
    if (!user) {
      user = store.create<ShadowUser>('user', {
        id: newId(), name: slUser.username, domain_id: DEFAULT_DOMAIN, enabled: true, default_project_id: project.id,
        created_at: new Date().toISOString(), shadow_backend: SHADOW_BACKEND,
      }, `${DEFAULT_DOMAIN}/${slUser.username}`, 'duplicate user');
    }
    const member = identity.roleByName('member');
    if (!member) throw new Error('the member role is missing: run `stackgate init`');
    store.grant({ type: 'UserProject', actor_id: user.id, target_id: project.id, role_id: member.id, inherited: false });
    return user;
  });
}

export function softLayerAuth(config: Config): AuthPlugin {
  const sl = config.softlayer;
  const client = new SoftLayerClient({ endpoint: sl.endpoint, timeoutMs: sl.timeoutMs, retries: sl.retries });

  /** Checks a credential with SoftLayer: the user, or 'denied' when SoftLayer refuses it. */
  const verify = async (cred: SoftLayerCredential): Promise<{ user: CurrentUser; company?: string } | 'denied'> => {
    try {
      const user = await client.call<CurrentUser>(cred, 'SoftLayer_Account', 'getCurrentUser', { mask: 'mask[id,username,accountId]' });
      const account = await client.call<{ companyName?: string }>(cred, 'SoftLayer_Account', 'getObject', { mask: 'mask[id,companyName]' });
      return { user, ...(account.companyName ? { company: account.companyName } : {}) };
    } catch (err) {
      if (isFault(err) && (err.status === 401 || err.status === 403)) return 'denied';
      throw err; // SoftLayer down or slow: the login fails with that fault, not a 401.
    }
  };

  return {
    name: 'softlayer',
    async authenticate(login: PasswordLogin, identity: IdentityService): Promise<AuthResult> {
      const domain = identity.resolveDomain(login.domain ?? { id: DEFAULT_DOMAIN });
      if (!login.userId && domain?.id !== DEFAULT_DOMAIN) return 'unknown';
      const existing = loginUser(login, identity);
      if (existing && !isShadowUser(existing)) {
        const mapped = sl.mappedUsers[existing.name];
        if (!mapped) return 'unknown'; // a local user: the local plugin decides
        const local = await identity.localPasswordLogin(login);
        if (local === 'unknown' || local === 'denied') return local;
        const apiKey = process.env[mapped.apiKeyEnv];
        if (!apiKey) throw new Error(`softlayer.mappedUsers.${existing.name}: environment variable ${mapped.apiKeyEnv} is not set`);
        const cred = { username: mapped.username, apiKey };
        const checked = await verify(cred);
        if (checked === 'denied') return 'denied';
        return { user: local.user, backendCredential: { ...cred, accountId: checked.user.accountId } };
      }
      if (existing && existing.shadow_backend !== SHADOW_BACKEND) return 'unknown';
      const username = existing?.name ?? login.userName;
      if (!username || !login.password) return 'unknown';
      const cred: SoftLayerCredential = { username, apiKey: login.password };
      const checked = await verify(cred);
      if (checked === 'denied') return existing ? 'denied' : 'unknown';
      if (checked.user.username !== username && checked.user.username.toLowerCase() !== username.toLowerCase()) return 'denied';
      const user = ensureShadow(identity, { ...checked.user, username }, checked.company);
      if (!user.enabled) return 'denied';
      return { user, backendCredential: { ...cred, accountId: checked.user.accountId } };
    },
  };
}
