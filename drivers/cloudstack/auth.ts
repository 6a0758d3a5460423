/**
 * The `cloudstack` auth plugin: an OpenStack user name is a CloudStack API key
 * and the password is its secret key. The pair is checked by a signed
 * listUsers (CloudStack answers 401 to a wrong signature) and listAccounts;
 * on success the key gets a shadow user (Default domain, no local password,
 * named by the API key) holding `member` on the project
 * `cloudstack-<account>`, and the pair rides sealed in the token. Nothing of
 * the secret is stored or logged.
 *
 * A local user named in `cloudstack.mappedUsers` logs in with their gateway
 * password instead; their keys come from environment variables.
 */
import type { Config } from '../../src/config.js';
import { isFault } from '../../src/faults.js';
import { isShadowUser, loginUser, type AuthPlugin, type AuthResult, type PasswordLogin, type ShadowUser } from '../../src/identity/auth.js';
import { DEFAULT_DOMAIN, newId, type IdentityService, type Project } from '../../src/identity/service.js';
import { CloudStackClient, type CloudStackCredential } from './client.js';

export const SHADOW_BACKEND = 'cloudstack';

/** The project that stands for a CloudStack account (names are unique within a CloudStack domain). */
export function accountProjectName(account: string): string {
  return `cloudstack-${account}`;
}

interface CsUser { id: string; username: string; account: string; accountid?: string; domainid: string; domain?: string; apikey?: string; state?: string }

function ensureShadow(identity: IdentityService, name: string, user: CsUser): ShadowUser {
  const store = identity.store;
  return store.tx(() => {
    const projectName = accountProjectName(user.account);
    let project = identity.projectByName(DEFAULT_DOMAIN, projectName);
    if (!project) {
      project = store.create<Project>('project', {
        id: newId(), name: projectName, domain_id: DEFAULT_DOMAIN, enabled: true, parent_id: DEFAULT_DOMAIN, is_domain: false,
        description: `CloudStack account ${user.account}${user.domain ? ` (domain ${user.domain})` : ''}`,
      }, `${DEFAULT_DOMAIN}/${projectName}`, 'duplicate project');
    }
    let shadow = identity.userByName(DEFAULT_DOMAIN, name) as ShadowUser | undefined;
    if (!shadow) {
      shadow = store.create<ShadowUser>('user', {
        id: newId(), name, domain_id: DEFAULT_DOMAIN, enabled: true, default_project_id: project.id,
        created_at: new Date().toISOString(), shadow_backend: SHADOW_BACKEND,
      }, `${DEFAULT_DOMAIN}/${name}`, 'duplicate user');
    }
    const member = identity.roleByName('member');
    if (!member) throw new Error('the member role is missing: run `stackgate init`');
    store.grant({ type: 'UserProject', actor_id: shadow.id, target_id: project.id, role_id: member.id, inherited: false });
    return shadow;
  });
}

export function cloudStackAuth(config: Config): AuthPlugin {
  const cs = config.cloudstack;
  const client = new CloudStackClient({ endpoint: cs.endpoint, timeoutMs: cs.timeoutMs, retries: cs.retries, signatureTtlSeconds: cs.signatureTtlSeconds });

  /** Checks a key pair with CloudStack: the user it belongs to, or 'denied' when CloudStack refuses the signature. */
  const verify = async (cred: CloudStackCredential): Promise<CsUser | 'denied'> => {
    try {
      const users = await client.list<CsUser>(cred, 'listUsers', 'user', {});
      const user = users.find((u) => u.apikey === cred.apiKey) ?? users[0];
      if (!user) return 'denied';
      const [account] = await client.list<{ name: string; domain?: string }>(cred, 'listAccounts', 'account', { name: user.account, domainid: user.domainid });
      return { ...user, ...(account?.domain ? { domain: account.domain } : {}) };
    } catch (err) {
      if (isFault(err) && (err.status === 401 || err.status === 403)) return 'denied';
      throw err; // CloudStack down or slow: the login fails with that fault, not a 401.
    }
  };

  const credOf = (cred: CloudStackCredential, user: CsUser): CloudStackCredential => ({ ...cred, account: user.account, domainId: user.domainid });

  return {
    name: 'cloudstack',
    async authenticate(login: PasswordLogin, identity: IdentityService): Promise<AuthResult> {
      const domain = identity.resolveDomain(login.domain ?? { id: DEFAULT_DOMAIN });
      if (!login.userId && domain?.id !== DEFAULT_DOMAIN) return 'unknown';
      const existing = loginUser(login, identity);
      if (existing && !isShadowUser(existing)) {
        const mapped = cs.mappedUsers[existing.name];
        if (!mapped) return 'unknown'; // a local user: the local plugin decides
        const local = await identity.localPasswordLogin(login);
        if (local === 'unknown' || local === 'denied') return local;
        const apiKey = process.env[mapped.apiKeyEnv];
        const secretKey = process.env[mapped.secretKeyEnv];
        if (!apiKey || !secretKey) throw new Error(`cloudstack.mappedUsers.${existing.name}: environment variable ${apiKey ? mapped.secretKeyEnv : mapped.apiKeyEnv} is not set`);
        const cred = { apiKey, secretKey };
        const checked = await verify(cred);
        if (checked === 'denied') return 'denied';
        return { user: local.user, backendCredential: credOf(cred, checked) };
      }
      if (existing && existing.shadow_backend !== SHADOW_BACKEND) return 'unknown';
      const apiKey = existing?.name ?? login.userName;
      if (!apiKey || !login.password) return 'unknown';
      const cred: CloudStackCredential = { apiKey, secretKey: login.password };
      const checked = await verify(cred);
      if (checked === 'denied') return existing ? 'denied' : 'unknown';
      const user = ensureShadow(identity, apiKey, checked);
      if (!user.enabled) return 'denied';
      return { user, backendCredential: credOf(cred, checked) };
    },
  };
}
