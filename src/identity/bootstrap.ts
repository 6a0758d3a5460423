/**
 * What `keystone-manage bootstrap` creates, done by `stackgate init`: the
 * Default domain, the admin/member/reader roles (admin implies member implies
 * reader), an admin project and an admin user holding admin on it and on the
 * system, and a `service` project for service users.
 */
import { DEFAULT_DOMAIN, IdentityService, newId, type Domain, type Project, type Role, type User } from './service.js';
import { hashPassword } from './passwords.js';

export async function bootstrapIdentity(identity: IdentityService, opts: { adminPassword: string; adminUser?: string; adminProject?: string }): Promise<{ user: User; project: Project }> {
  const store = identity.store;
  const hash = await hashPassword(opts.adminPassword);
  return store.tx(() => {
    if (!identity.domain(DEFAULT_DOMAIN)) {
      store.create<Domain>('domain', { id: DEFAULT_DOMAIN, name: 'Default', enabled: true, description: 'The default domain' }, 'Default', 'duplicate domain');
    }
    const role = (name: string): Role => identity.roleByName(name)
      ?? store.create<Role>('role', { id: newId(), name, domain_id: null, description: null }, `/${name}`, 'duplicate role');
    const admin = role('admin');
    const member = role('member');
    const reader = role('reader');
    role('service');
    store.link('implied_role', admin.id, member.id);
    store.link('implied_role', member.id, reader.id);
    const project = (name: string): Project => identity.projectByName(DEFAULT_DOMAIN, name)
      ?? store.create<Project>('project', { id: newId(), name, domain_id: DEFAULT_DOMAIN, enabled: true, parent_id: DEFAULT_DOMAIN, is_domain: false, description: '' }, `${DEFAULT_DOMAIN}/${name}`, 'duplicate project');
    const adminProject = project(opts.adminProject ?? 'admin');
    project('service');
    const name = opts.adminUser ?? 'admin';
    let user = identity.userByName(DEFAULT_DOMAIN, name);
    if (!user) {
      user = store.create<User>('user', {
        id: newId(), name, domain_id: DEFAULT_DOMAIN, enabled: true, password_hash: hash, default_project_id: adminProject.id,
        created_at: new Date().toISOString(),
      }, `${DEFAULT_DOMAIN}/${name}`, 'duplicate user');
    } else {
      user.password_hash = hash;
      store.put('user', user, `${DEFAULT_DOMAIN}/${name}`, 'duplicate user');
    }
    store.grant({ type: 'UserProject', actor_id: user.id, target_id: adminProject.id, role_id: admin.id, inherited: false });
    store.grant({ type: 'UserSystem', actor_id: user.id, target_id: 'system', role_id: admin.id, inherited: false });
    return { user, project: adminProject };
  });
}
