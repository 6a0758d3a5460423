/**
 * The real `openstack` CLI (Debian python3-openstackclient) against the
 * gateway's Keystone, with every response checked against the spec
 * (contract mode: a violation is a 500 and fails the command).
 */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { expectFailure, openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';

describe('openstack CLI: identity', function () {
  this.timeout(180_000);
  let h: Harness;

  let os: OpenstackCli;

  before(async () => {
    h = await startGateway({ contract: true });
    os = openstackCli(h);
  });
  after(() => h.close());

  it('token issue gives a project-scoped token that validates; token revoke ends it', async () => {
    const t = await os(['token', 'issue', '-f', 'json']);
    const admin = h.gateway.identity.userByName('default', 'admin')!;
    expect(t.user_id).to.equal(admin.id);
    expect(t.project_id).to.equal(h.gateway.identity.projectByName('default', 'admin')!.id);
    expect(new Date(t.expires).getTime()).to.be.greaterThan(Date.now() + 50 * 60_000);
    const ok = await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': t.id } });
    expect(ok.status).to.equal(200);
    await os(['token', 'revoke', t.id]);
    const gone = await h.request('GET', '/identity/v3/projects', { token: t.id });
    expect(gone.status).to.equal(401);
    expect(gone.headers.get('www-authenticate')).to.equal(`Keystone uri="${h.url}/identity"`);
  });

  it('catalog list, endpoint list and region list show the gateway\'s services', async () => {
    const catalog = await os(['catalog', 'list', '-f', 'json']);
    const types = catalog.map((c: { Type: string }) => c.Type);
    expect(types).to.include.members(['identity', 'compute', 'image', 'block-storage', 'network', 'placement']);
    const compute = catalog.find((c: { Type: string }) => c.Type === 'compute');
    expect(compute.Endpoints.map((e: { url: string }) => e.url)).to.include(`${h.url}/compute/v2.1`);
    const endpoints = await os(['endpoint', 'list', '--service', 'compute', '-f', 'json']);
    expect(endpoints.map((e: { Interface: string }) => e.Interface).sort()).to.deep.equal(['admin', 'internal', 'public']);
    expect(endpoints.every((e: { Region: string; URL: string }) => e.Region === 'RegionOne' && e.URL === `${h.url}/compute/v2.1`)).to.equal(true);
    const regions = await os(['region', 'list', '-f', 'json']);
    expect(regions.map((r: { Region: string }) => r.Region)).to.deep.equal(['RegionOne']);
  });

  it('project create, list, show, delete', async () => {
    const p = await os(['project', 'create', '--description', 'a demo', '--tag', 'blue', 'demo', '-f', 'json']);
    expect(p).to.include({ name: 'demo', description: 'a demo', domain_id: 'default', enabled: true });
    expect(p.tags).to.deep.equal(['blue']);
    const list = await os(['project', 'list', '-f', 'json']);
    expect(list.map((x: { Name: string }) => x.Name)).to.include.members(['admin', 'demo']);
    const shown = await os(['project', 'show', 'demo', '-f', 'json']);
    expect(shown.id).to.equal(p.id);
    await os(['project', 'delete', 'demo']);
    const after = await os(['project', 'list', '-f', 'json']);
    expect(after.map((x: { Name: string }) => x.Name)).to.not.include('demo');
  });

  it('user create, set --password, list, role add, role assignment list, delete', async () => {
    const project = await os(['project', 'create', 'team', '-f', 'json']);
    const u = await os(['user', 'create', '--project', 'team', '--password', 'first-pass', '--email', 'bob@example.com', 'bob', '-f', 'json']);
    expect(u).to.include({ name: 'bob', domain_id: 'default', enabled: true, default_project_id: project.id, email: 'bob@example.com' });
    expect(u).to.not.have.property('password');
    await os(['role', 'add', '--project', 'team', '--user', 'bob', 'member']);
    const assignments = await os(['role', 'assignment', 'list', '--user', 'bob', '--names', '-f', 'json']);
    expect(assignments).to.deep.equal([{ Role: 'member', User: 'bob@Default', Group: '', Project: 'team@Default', Domain: '', System: '', Inherited: false }]);
    // bob can log in with his password, then with the new one only.
    const bobEnv = { OS_USERNAME: 'bob', OS_PASSWORD: 'first-pass', OS_PROJECT_NAME: 'team' };
    expect((await os(['token', 'issue', '-f', 'json'], bobEnv)).project_id).to.equal(project.id);
    await os(['user', 'set', '--password', 'second-pass', 'bob']);
    await expectFailure(os(['token', 'issue', '-f', 'json'], bobEnv), /401|authenticat/i);
    expect((await os(['token', 'issue', '-f', 'json'], { ...bobEnv, OS_PASSWORD: 'second-pass' })).user_id).to.equal(u.id);
    // A member is not an admin: managing users is refused.
    await expectFailure(os(['user', 'list', '-f', 'json'], { ...bobEnv, OS_PASSWORD: 'second-pass' }), /403|not authorized/i);
    const users = await os(['user', 'list', '-f', 'json']);
    expect(users.map((x: { Name: string }) => x.Name)).to.include.members(['admin', 'bob']);
    await os(['user', 'delete', 'bob']);
    expect((await os(['user', 'list', '-f', 'json'])).map((x: { Name: string }) => x.Name)).to.not.include('bob');
  });

  it('application credential create, then authenticate with it', async () => {
    const cred = await os(['application', 'credential', 'create', '--role', 'member', 'ci-robot', '-f', 'json']);
    expect(cred.secret).to.be.a('string').with.length.greaterThan(20);
    expect(cred.roles).to.equal('member');
    const t = await os(['token', 'issue', '-f', 'json'], {
      OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: cred.id, OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
      OS_USERNAME: '', OS_PASSWORD: '', OS_PROJECT_NAME: '', OS_USER_DOMAIN_NAME: '', OS_PROJECT_DOMAIN_NAME: '',
    });
    expect(t.project_id).to.equal(cred.project_id);
    const v = await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': t.id } });
    expect((v.json as { token: { roles: { name: string }[]; application_credential: { id: string } } }).token.roles.map((r) => r.name)).to.deep.equal(['member']);
    expect((v.json as { token: { application_credential: { id: string } } }).token.application_credential.id).to.equal(cred.id);
    const wrong = await os(['application', 'credential', 'list', '-f', 'json']);
    expect(wrong.map((c: { Name: string }) => c.Name)).to.include('ci-robot');
  });

  it('a legacy v2.0 token request (--os-identity-api-version 2)', async () => {
    const t = await os(['token', 'issue', '-f', 'json'], {
      OS_AUTH_URL: `${h.url}/identity/v2.0`, OS_IDENTITY_API_VERSION: '2', OS_AUTH_TYPE: 'v2password',
      OS_TENANT_NAME: 'admin', OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: '', OS_PROJECT_DOMAIN_NAME: '',
    });
    expect(t.project_id).to.equal(h.gateway.identity.projectByName('default', 'admin')!.id);
    expect(t.id).to.be.a('string');
    const tenants = await h.request('GET', '/identity/v2.0/tenants', { token: t.id });
    expect((tenants.json as { tenants: { name: string }[] }).tenants.map((x) => x.name)).to.include('admin');
  });
});
