/** Policy: who may call what, the same for every service and backend. */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';

describe('policy', function () {
  this.timeout(60_000);
  let h: Harness;
  let member: string;
  let projectId: string;
  before(async () => {
    h = await startGateway({ contract: true });
    const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name: 'tenant-a' } } });
    projectId = (p.json as { project: { id: string } }).project.id;
    const u = await h.request('POST', '/identity/v3/users', { body: { user: { name: 'carol', password: 'carol-pw', default_project_id: projectId } } });
    const userId = (u.json as { user: { id: string } }).user.id;
    const roles = await h.request('GET', '/identity/v3/roles?name=member');
    const roleId = (roles.json as { roles: { id: string }[] }).roles[0]!.id;
    expect((await h.request('PUT', `/identity/v3/projects/${projectId}/users/${userId}/roles/${roleId}`)).status).to.equal(204);
    member = await h.login('carol', 'carol-pw', 'tenant-a');
  });
  after(() => h.close());

  it('a login without scope gets the default project; with scope "unscoped" (Horizon\'s login) an unscoped token', async () => {
    const login = (scope?: unknown) => h.request('POST', '/identity/v3/auth/tokens', { token: null, body: { auth: {
      identity: { methods: ['password'], password: { user: { name: 'carol', domain: { name: 'Default' }, password: 'carol-pw' } } },
      ...(scope !== undefined ? { scope } : {}),
    } } });
    const plain = await login();
    expect(plain.status).to.equal(201);
    expect(plain.json).to.have.nested.property('token.project.id', projectId);
    const unscoped = await login('unscoped');
    expect(unscoped.status).to.equal(201);
    expect(unscoped.json).not.to.have.nested.property('token.project');
    expect(unscoped.json).not.to.have.nested.property('token.catalog');
    const bad = await login('everything');
    expect(bad.status).to.equal(400);
  });

  it('no token: 401 with WWW-Authenticate, in every service\'s dialect', async () => {
    const nova = await h.request('GET', '/compute/v2.1/flavors', { token: null });
    expect(nova.status).to.equal(401);
    expect(nova.json).to.have.nested.property('unauthorized.code', 401);
    expect(nova.headers.get('www-authenticate')).to.equal(`Keystone uri="${h.url}/identity"`);
    const neutron = await h.request('GET', '/network/v2.0/networks', { token: null });
    expect(neutron.status).to.equal(401);
    expect(neutron.json).to.have.nested.property('NeutronError.type');
    const keystone = await h.request('GET', '/identity/v3/projects', { token: 'garbage-token-that-is-long-enough-to-look-real' });
    expect(keystone.status).to.equal(401);
    expect(keystone.json).to.have.nested.property('error.code', 401);
  });

  it('version documents and token issue need no token', async () => {
    expect((await h.request('GET', '/compute/', { token: null })).status).to.equal(200);
    expect((await h.request('GET', '/identity/v3', { token: null })).status).to.equal(200);
  });

  it('admin-only operations are 403 to a member, whatever the backend implements', async () => {
    const flavor = await h.request('POST', '/compute/v2.1/flavors', { token: member, body: { flavor: { name: 'x', ram: 1, vcpus: 1, disk: 1 } } });
    expect(flavor.status).to.equal(403);
    expect(flavor.json).to.have.nested.property('forbidden.code', 403);
    const quota = await h.request('PUT', `/compute/v2.1/os-quota-sets/${projectId}`, { token: member, body: { quota_set: { instances: 100 } } });
    expect(quota.status).to.equal(403);
    const users = await h.request('GET', '/identity/v3/users', { token: member });
    expect(users.status).to.equal(403);
    expect(users.json).to.have.nested.property('error.title', 'Forbidden');
    const types = await h.request('POST', '/volume/v3/types', { token: member, body: { volume_type: { name: 'fast' } } });
    expect(types.status).to.equal(403);
  });

  it('Neutron filters admin-only lists instead: a member gets them empty, and 403 on the rest', async () => {
    const agents = await h.request('GET', '/network/v2.0/agents', { token: member });
    expect(agents.status, agents.text).to.equal(200);
    expect(agents.json).to.deep.equal({ agents: [] });
    // Only for lists the backend serves: an unimplemented one stays 501, not an empty pretence.
    const ranges = await h.request('GET', '/network/v2.0/network-segment-ranges', { token: member });
    expect(ranges.status, ranges.text).to.equal(501);
    const one = await h.request('GET', '/network/v2.0/agents/0123456789abcdef0123456789abcdef', { token: member });
    expect(one.status).to.equal(403);
    expect(one.json).to.have.nested.property('NeutronError.type', 'HTTPForbidden');
    // Nova's admin-only lists stay 403.
    expect((await h.request('GET', '/compute/v2.1/os-hypervisors', { token: member })).status).to.equal(403);
  });

  it('all-tenants listings are 403 to a member', async () => {
    expect((await h.request('GET', '/compute/v2.1/servers/detail?all_tenants=1', { token: member })).status).to.equal(403);
    expect((await h.request('GET', '/volume/v3/volumes?all_tenants=true', { token: member })).status).to.equal(403);
  });

  it('Nova\'s security group list ignores a member\'s all_tenants; forceDelete is the member\'s own call', async () => {
    expect((await h.request('POST', '/network/v2.0/security-groups', { body: { security_group: { name: 'admins-own' } } })).status).to.equal(201);
    const groups = await h.request('GET', '/compute/v2.1/os-security-groups?all_tenants=1', { token: member, headers: { 'openstack-api-version': 'compute 2.1' } });
    expect(groups.status, groups.text).to.equal(200);
    const seen = (groups.json as { security_groups: { tenant_id: string }[] }).security_groups;
    expect(seen).to.not.be.empty; // the project's default group, made on first use
    for (const g of seen) expect(g.tenant_id).to.equal(projectId);
    const gone = await h.request('POST', '/compute/v2.1/servers/0123456789abcdef0123456789abcdef/action', { token: member, body: { forceDelete: null } });
    expect(gone.status, gone.text).to.equal(404);
  });

  it('a project in the URL must be the token\'s', async () => {
    const other = await h.request('GET', '/volume/v3/0123456789abcdef0123456789abcdef/volumes', { token: member });
    expect(other.status).to.equal(403);
  });

  it('a member manages what is theirs: reads their own user and projects', async () => {
    const me = (await h.request('GET', '/identity/v3/auth/tokens', { token: member, headers: { 'x-subject-token': member } })).json as { token: { user: { id: string } } };
    expect((await h.request('GET', `/identity/v3/users/${me.token.user.id}`, { token: member })).status).to.equal(200);
    const projects = await h.request('GET', `/identity/v3/users/${me.token.user.id}/projects`, { token: member });
    expect((projects.json as { projects: { name: string }[] }).projects.map((p) => p.name)).to.deep.equal(['tenant-a']);
  });
});
