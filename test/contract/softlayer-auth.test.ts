/**
 * The `softlayer` auth plugin beside `local`: SoftLayer users get shadow users,
 * local users keep their passwords, a local user can be mapped to SoftLayer
 * credentials kept in the environment.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

const MAPPED_ENV = 'SG_TEST_SOFTLAYER_MAPPED_KEY';

describe('softlayer: auth plugin', function () {
  this.timeout(30_000);
  let h: SoftLayerHarness;
  const mapped = { username: `SLMAPPED${randomBytes(3).toString('hex')}`, apiKey: randomBytes(32).toString('hex'), accountId: 777_001 };

  const tokenReq = (name: string, password: string, project?: string) => h.gw.request('POST', '/identity/v3/auth/tokens', {
    token: null,
    body: { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } }, ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}) } },
  });

  before(async () => {
    h = await startSoftLayerGateway({ overrides: { softlayer: { mappedUsers: { ops: { username: mapped.username, apiKeyEnv: MAPPED_ENV } } } } });
    h.sim.addUser(mapped.username, mapped.apiKey, mapped.accountId);
    process.env[MAPPED_ENV] = mapped.apiKey;
  });
  after(async () => {
    delete process.env[MAPPED_ENV];
    await h?.close();
  });

  it('a second login reuses the shadow user and project; the key is checked with SoftLayer each time', async () => {
    const a = await tokenReq(h.account.username, h.account.apiKey);
    const b = await tokenReq(h.account.username, h.account.apiKey);
    expect(a.status).to.equal(201);
    const ta = (a.json as Json).token;
    const tb = (b.json as Json).token;
    expect(tb.user.id).to.equal(ta.user.id);
    // No scope asked: the shadow user's default project, the account's.
    expect(ta.project.name).to.equal(h.account.project);
    expect(tb.project.id).to.equal(ta.project.id);
    expect((await tokenReq(h.account.username, 'nope')).status).to.equal(401);
    expect(a.text + JSON.stringify([...a.headers])).not.to.include(h.account.apiKey);
  });

  it('local users keep their passwords: a SoftLayer user named like a local one does not take it over', async () => {
    h.sim.addUser('admin', 'a'.repeat(64), 888_001);
    expect((await tokenReq('admin', 'a'.repeat(64), 'admin')).status).to.equal(401);
    expect((await tokenReq('admin', h.gw.adminPassword, 'admin')).status).to.equal(201);
    expect(h.sim.calls.some((c) => c.username === 'admin')).to.equal(false);
  });

  it('a mapped local user logs in with the gateway password and acts with the SoftLayer key from the environment', async () => {
    const admin = (path: string, method = 'GET', body?: unknown) => h.gw.request(method, `/identity/v3${path}`, body === undefined ? {} : { body });
    const user = ((await admin('/users', 'POST', { user: { name: 'ops', password: 'ops-password', domain_id: 'default' } })).json as Json).user;
    const project = ((await admin('/projects?name=admin')).json as Json).projects[0];
    const member = ((await admin('/roles?name=member')).json as Json).roles[0];
    expect((await admin(`/projects/${project.id}/users/${user.id}/roles/${member.id}`, 'PUT')).status).to.equal(204);

    expect((await tokenReq('ops', 'wrong', 'admin')).status).to.equal(401);
    const res = await tokenReq('ops', 'ops-password', 'admin');
    expect(res.status).to.equal(201);
    const token = res.headers.get('x-subject-token')!;
    const key = await h.gw.request('POST', '/compute/v2.1/os-keypairs', { token, body: { keypair: { name: 'ops-key', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOps ops' } } });
    expect(key.status, key.text).to.equal(200);
    expect([...h.sim.state.sshKeys.values()].find((k) => k.label === 'ops-key')?.accountId).to.equal(mapped.accountId);
    expect(h.sim.calls.filter((c) => c.method === 'createObject').map((c) => c.username)).to.deep.equal([mapped.username]);

    // SoftLayer no longer takes the key: the login is refused.
    h.sim.state.users.get(mapped.username)!.apiKey = 'revoked';
    expect((await tokenReq('ops', 'ops-password', 'admin')).status).to.equal(401);
  });
  it('a v2.0 token carries the SoftLayer credential too: old clients reach the backend', async () => {
    const res = await h.gw.request('POST', '/identity/v2.0/tokens', {
      token: null, body: { auth: { passwordCredentials: { username: h.account.username, password: h.account.apiKey }, tenantName: h.account.project } },
    });
    expect(res.status, res.text).to.equal(200);
    const token = (res.json as Json).access.token.id as string;
    const before = h.sim.calls.length;
    const keys = await h.gw.request('GET', '/compute/v2.1/os-keypairs', { token });
    expect(keys.status, keys.text).to.equal(200);
    expect(h.sim.calls.slice(before).some((c) => c.username === h.account.username)).to.equal(true);
    expect(res.text).not.to.include(h.account.apiKey);
  });
});
