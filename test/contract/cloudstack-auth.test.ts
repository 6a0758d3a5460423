/**
 * The `cloudstack` auth plugin beside `local`: CloudStack key pairs get shadow
 * users, users of one CloudStack account share its project, local users keep
 * their passwords, and a local user can be mapped to CloudStack keys kept in
 * the environment.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startCloudStackGateway, type CloudStackHarness } from '../helpers/cloudstack.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

const KEY_ENV = 'SG_TEST_CLOUDSTACK_MAPPED_KEY';
const SECRET_ENV = 'SG_TEST_CLOUDSTACK_MAPPED_SECRET';

describe('cloudstack: auth plugin', function () {
  this.timeout(30_000);
  let h: CloudStackHarness;
  const mapped = { apiKey: randomBytes(40).toString('base64url'), secretKey: randomBytes(40).toString('base64url'), account: `mapped-${randomBytes(2).toString('hex')}` };

  const tokenReq = (name: string, password: string, project?: string) => h.gw.request('POST', '/identity/v3/auth/tokens', {
    token: null,
    body: { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } }, ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}) } },
  });

  before(async () => {
    h = await startCloudStackGateway({ overrides: { cloudstack: { mappedUsers: { ops: { apiKeyEnv: KEY_ENV, secretKeyEnv: SECRET_ENV } } } } });
    h.sim.addUser(mapped.apiKey, mapped.secretKey, mapped.account);
    process.env[KEY_ENV] = mapped.apiKey;
    process.env[SECRET_ENV] = mapped.secretKey;
  });
  after(async () => {
    delete process.env[KEY_ENV];
    delete process.env[SECRET_ENV];
    await h?.close();
  });

  it('a second login reuses the shadow user and project; the keys are checked with CloudStack each time', async () => {
    const a = await tokenReq(h.account.apiKey, h.account.secretKey);
    const b = await tokenReq(h.account.apiKey, h.account.secretKey);
    expect(a.status).to.equal(201);
    const ta = (a.json as Json).token;
    expect((b.json as Json).token.user.id).to.equal(ta.user.id);
    expect(ta.project.name).to.equal(h.account.project);
    const verified = h.sim.calls.filter((c) => c.command === 'listUsers' && c.apiKey === h.account.apiKey && c.verified).length;
    expect(verified).to.be.greaterThanOrEqual(3); // the helper's login and these two
    expect((await tokenReq(h.account.apiKey, 'nope')).status).to.equal(401);
    expect(a.text + JSON.stringify([...a.headers])).not.to.include(h.account.secretKey);
  });

  it('two users of one CloudStack account share its project', async () => {
    const other = h.addAccount(h.account.account);
    const res = await tokenReq(other.apiKey, other.secretKey);
    expect(res.status).to.equal(201);
    const t = (res.json as Json).token;
    expect(t.project.name).to.equal(h.account.project);
    expect(t.user.name).to.equal(other.apiKey);
  });

  it('an unknown key is a 401 (the local plugin does not know it either)', async () => {
    expect((await tokenReq(randomBytes(40).toString('base64url'), 'x')).status).to.equal(401);
  });

  it('local users keep their passwords: the admin logs in locally, no CloudStack call', async () => {
    const before = h.sim.calls.length;
    expect((await tokenReq('admin', h.gw.adminPassword, 'admin')).status).to.equal(201);
    expect(h.sim.calls.length).to.equal(before);
  });

  it('a mapped local user logs in with the gateway password and acts with the CloudStack keys from the environment', async () => {
    const admin = h.gw.adminToken;
    const project = await h.gw.request('POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'ops-project', domain_id: 'default' } } });
    expect(project.status).to.equal(201);
    const user = await h.gw.request('POST', '/identity/v3/users', { token: admin, body: { user: { name: 'ops', password: 'ops-password', domain_id: 'default', default_project_id: (project.json as Json).project.id } } });
    expect(user.status).to.equal(201);
    const roles = ((await h.gw.request('GET', '/identity/v3/roles?name=member', { token: admin })).json as Json).roles as Json[];
    await h.gw.request('PUT', `/identity/v3/projects/${(project.json as Json).project.id as string}/users/${(user.json as Json).user.id as string}/roles/${roles[0]!.id as string}`, { token: admin });
    const res = await tokenReq('ops', 'ops-password', 'ops-project');
    expect(res.status, res.text).to.equal(201);
    const token = res.headers.get('x-subject-token')!;
    expect(h.sim.calls.some((c) => c.command === 'listUsers' && c.apiKey === mapped.apiKey && c.verified)).to.equal(true);
    const zones = await h.gw.request('GET', '/compute/v2.1/os-availability-zone', { token });
    expect(zones.status).to.equal(200);
    expect(h.sim.calls.at(-1)).to.include({ command: 'listZones', apiKey: mapped.apiKey, verified: true });
    expect((await tokenReq('ops', 'wrong', 'ops-project')).status).to.equal(401);
  });
});
