/**
 * The `upstream-keystone` auth plugin: users of a real Keystone log in to the
 * gateway with their Keystone password.
 *
 * The gateway checks the password with the upstream Keystone and then issues
 * its own token, rather than handing out Keystone's: one token must work in
 * every region, and the other regions' backends (sandbox, SoftLayer,
 * CloudStack) cannot validate a Keystone token, while any gateway process can
 * open its own sealed tokens without a call out. The upstream token rides
 * sealed inside (for the passthrough regions, which act as the user upstream)
 * and the gateway's token expires no later than it.
 *
 * On each login the user's upstream view is mirrored into the gateway's
 * Keystone with the upstream ids: the user (a shadow user, no local
 * password), the domains and projects the user may use, and the roles held on
 * each (by name). Roles the upstream no longer gives are taken away.
 */
import type { Config } from '../../src/config.js';
import { isFault } from '../../src/faults.js';
import { isShadowUser, loginUser, type AuthPlugin, type AuthResult, type PasswordLogin, type ShadowUser } from '../../src/identity/auth.js';
import { DEFAULT_DOMAIN, newId, type Domain, type IdentityService, type Project, type Role } from '../../src/identity/service.js';
import type { UpstreamCredential } from './cloud.js';
import { UpstreamKeystone, type NamedRef, type PasswordUser, type UpstreamToken } from './keystone.js';

export const SHADOW_BACKEND = 'upstream-keystone';

/** At most this many projects are mirrored per login. */
const MAX_PROJECTS = 100;

interface Mirrored { user: NamedRef; projects: Array<{ project: NamedRef; roles: string[] }> }

function ensureDomain(identity: IdentityService, ref: { id: string; name?: string }): void {
  if (identity.domain(ref.id)) return;
  const name = ref.name ?? ref.id;
  identity.store.create<Domain>('domain', { id: ref.id, name, enabled: true, description: 'Mirrored from the upstream Keystone' }, name, `Domain ${name} exists with another id`);
}

function ensureRole(identity: IdentityService, name: string): Role {
  return identity.roleByName(name)
    ?? identity.store.create<Role>('role', { id: newId(), name, domain_id: null, description: 'Mirrored from the upstream Keystone' }, `/${name}`, 'duplicate role');
}

/** Writes the user's upstream view into the gateway's Keystone; the shadow user. */
function mirror(identity: IdentityService, view: Mirrored): ShadowUser {
  const store = identity.store;
  return store.tx(() => {
    const domainId = view.user.domain?.id ?? DEFAULT_DOMAIN;
    ensureDomain(identity, { id: domainId, ...(view.user.domain?.name ? { name: view.user.domain.name } : {}) });
    let user = identity.user(view.user.id) as ShadowUser | undefined;
    if (!user) {
      user = store.create<ShadowUser>('user', {
        id: view.user.id, name: view.user.name, domain_id: domainId, enabled: true,
        created_at: new Date().toISOString(), shadow_backend: SHADOW_BACKEND,
      }, `${domainId}/${view.user.name}`, `A local user named ${view.user.name} exists in domain ${domainId}`);
    }
    for (const a of store.assignments({ type: 'UserProject', actor_id: user.id })) store.revokeGrant(a);
    for (const { project, roles } of view.projects) {
      const pd = project.domain?.id ?? DEFAULT_DOMAIN;
      ensureDomain(identity, { id: pd, ...(project.domain?.name ? { name: project.domain.name } : {}) });
      if (!identity.project(project.id)) {
        // A local project already holding the name keeps it; the upstream one is not mirrored.
        if (identity.projectByName(pd, project.name)) continue;
        store.create<Project>('project', {
          id: project.id, name: project.name, domain_id: pd, enabled: true, parent_id: pd, is_domain: false,
          description: 'Mirrored from the upstream Keystone',
        }, `${pd}/${project.name}`, 'duplicate project');
      }
      for (const name of roles) {
        store.grant({ type: 'UserProject', actor_id: user.id, target_id: project.id, role_id: ensureRole(identity, name).id, inherited: false });
      }
    }
    return user;
  });
}

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(fn)));
  return out;
}

export function upstreamKeystoneAuth(config: Config): AuthPlugin {
  const { authUrl, timeoutMs } = config.identity.upstreamKeystone;
  if (!authUrl) throw new Error('identity.upstreamKeystone.authUrl is not set');
  const keystone = new UpstreamKeystone(authUrl, timeoutMs);

  return {
    name: SHADOW_BACKEND,
    async authenticate(login: PasswordLogin, identity: IdentityService): Promise<AuthResult> {
      const existing = loginUser(login, identity);
      // Local users, and those of other backends, are not the upstream's.
      if (existing && (!isShadowUser(existing) || existing.shadow_backend !== SHADOW_BACKEND)) return 'unknown';
      const who: PasswordUser = login.userId
        ? { id: login.userId }
        : { name: login.userName ?? '', domain: login.domain?.id ? { id: login.domain.id } : login.domain?.name ? { name: login.domain.name } : { id: DEFAULT_DOMAIN } };
      let base: UpstreamToken;
      try {
        base = await keystone.password(who, login.password);
      } catch (err) {
        // Not an upstream user (or a wrong password): a user we mirrored earlier is refused, anyone else asks the next plugin.
        if (isFault(err) && err.status === 401) return existing ? 'denied' : 'unknown';
        throw err;
      }
      const projects = (await keystone.projects(base.token)).filter((p) => p.enabled).slice(0, MAX_PROJECTS);
      const scoped = await inBatches(projects, 4, async (p) => {
        try {
          const t = await keystone.rescope(base.token, { id: p.id });
          return t.project ? { project: t.project, roles: t.roles.map((r) => r.name) } : undefined;
        } catch (err) {
          if (isFault(err) && err.status === 401) return undefined; // no role there after all
          throw err;
        }
      });
      let user: ShadowUser;
      try {
        user = mirror(identity, { user: base.user, projects: scoped.filter((s): s is NonNullable<typeof s> => s !== undefined) });
      } catch (err) {
        if (isFault(err) && err.status === 409) return 'unknown'; // a local user holds the name: theirs to answer
        throw err;
      }
      const backendCredential: UpstreamCredential = { kind: SHADOW_BACKEND, token: base.token };
      return { user, backendCredential, expiresAt: base.expiresAt };
    },
  };
}
