/**
 * The seeds' single pane of glass: three regions in one catalog — the sandbox
 * (RegionOne), a real Debian Keystone + Glance through the OpenStack
 * passthrough (RegionTwo) and the SoftLayer simulator (RegionThree) — driven
 * with the real `openstack` CLI, one region at a time. What the passthrough
 * writes is checked in the real Glance and Keystone directly.
 *
 * Users: the gateway's local admin (SoftLayer-mapped; in RegionTwo it acts
 * with the upstream service account) and users of the real Keystone, who log
 * in through the `upstream-keystone` plugin and act upstream as themselves.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { expectFailure, openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';
import { newAccount } from '../helpers/softlayer.js';
import { sharedUpstream, upstreamAvailable, type Credentials, type UpstreamOpenStack } from '../helpers/upstream-openstack.js';
import { startSoftLayerSimulator, type SoftLayerSimulator } from '../simulators/softlayer/server.js';

const SERVICE_ENV = 'STACKGATE_TEST_UPSTREAM_SERVICE_PW';
const SL_ENV = 'STACKGATE_TEST_REGIONS_OS_SL_KEY';

/** A token of the real Keystone, straight from it. */
async function upstreamLogin(up: UpstreamOpenStack, c: Credentials): Promise<{ token: string; projectId: string }> {
  const res = await fetch(`${up.keystoneUrl}/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000),
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } },
      scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
    } }),
  });
  if (res.status !== 201) throw new Error(`upstream login ${c.username}: ${res.status} ${await res.text()}`);
  const body = await res.json() as { token: { project: { id: string } } };
  return { token: res.headers.get('x-subject-token')!, projectId: body.token.project.id };
}

/** A JSON call to the real Keystone or Glance. */
async function upstreamCall(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- upstream JSON, shapes asserted below
  const res = await fetch(url, {
    method, signal: AbortSignal.timeout(30_000),
    headers: { 'x-auth-token': token, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('three regions with the real openstack CLI: sandbox, a real Keystone + Glance, the SoftLayer simulator', function () {
  this.timeout(240_000);
  let up: UpstreamOpenStack;
  let sim: SoftLayerSimulator;
  let h: Harness;
  let cli: OpenstackCli;
  let upAdmin: { token: string; projectId: string };
  /** An upstream user with admin on the upstream admin project; the gateway has no local user of that name. */
  let opsUser: Credentials;
  const tag = randomBytes(3).toString('hex');

  /** OS_* for a user of the real Keystone, logging in through the gateway. */
  const asUpstream = (c: Credentials, region: string): NodeJS.ProcessEnv => ({
    OS_USERNAME: c.username, OS_PASSWORD: c.password, OS_PROJECT_NAME: c.projectName,
    OS_USER_DOMAIN_NAME: c.userDomainName, OS_PROJECT_DOMAIN_NAME: c.projectDomainName, OS_REGION_NAME: region,
  });

  before(async function () {
    // CI installs Debian's keystone and glance (.ci/run); a machine without them cannot run this.
    if (!upstreamAvailable()) this.skip();
    up = await sharedUpstream();
    upAdmin = await upstreamLogin(up, up.admin);
    // Its own project: the gateway's local `admin` project keeps that name, so the upstream one is not mirrored.
    opsUser = { ...up.admin, username: `ops-${tag}`, password: randomBytes(12).toString('hex'), projectName: `ops-${tag}` };
    const project = await upstreamCall(`${up.keystoneUrl}/v3/projects`, upAdmin.token, 'POST', { project: { name: opsUser.projectName, domain_id: 'default' } });
    expect(project.status).to.equal(201);
    const made = await upstreamCall(`${up.keystoneUrl}/v3/users`, upAdmin.token, 'POST', { user: { name: opsUser.username, password: opsUser.password, domain_id: 'default' } });
    expect(made.status).to.equal(201);
    const adminRole = (await upstreamCall(`${up.keystoneUrl}/v3/roles?name=admin`, upAdmin.token)).json.roles[0].id as string;
    expect((await upstreamCall(`${up.keystoneUrl}/v3/projects/${project.json.project.id}/users/${made.json.user.id}/roles/${adminRole}`, upAdmin.token, 'PUT')).status).to.equal(204);

    sim = await startSoftLayerSimulator({ provisionMs: 200, transactionMs: 100, cancelMs: 100 });
    const slAccount = newAccount(sim);
    process.env[SL_ENV] = slAccount.apiKey;
    process.env[SERVICE_ENV] = up.admin.password;
    h = await startGateway({
      identity: { auth: ['softlayer', 'upstream-keystone', 'local'], upstreamKeystone: { authUrl: `${up.keystoneUrl}/v3`, forwardAdmin: true } },
      softlayer: { endpoint: sim.endpoint, timeoutMs: 5000, retries: 1, mappedUsers: { admin: { username: slAccount.username, apiKeyEnv: SL_ENV } } },
      regions: [
        {
          name: 'RegionTwo', backend: 'openstack',
          openstack: {
            authUrl: `${up.keystoneUrl}/v3`, credentials: 'user', services: ['image'], upstreamRegion: up.region,
            serviceAccount: { username: up.admin.username, passwordEnv: SERVICE_ENV, projectName: up.admin.projectName, userDomainName: 'Default', projectDomainName: 'Default' },
          },
        },
        { name: 'RegionThree', backend: 'softlayer' },
      ],
    });
    cli = openstackCli(h, 120_000);
  });
  after(async () => {
    await h?.close();
    await sim?.close();
    delete process.env[SL_ENV];
    delete process.env[SERVICE_ENV];
  });

  it('lists the three regions in one catalog', async () => {
    const catalog = await cli(['catalog', 'list', '-f', 'json']) as Array<{ Type: string; Endpoints: string | Array<{ region: string; url: string }> }>;
    const image = catalog.find((s) => s.Type === 'image');
    const text = JSON.stringify(image?.Endpoints);
    expect(text).to.contain(`${h.url}/image`);
    expect(text).to.contain(`${h.url}/region/RegionTwo/image`);
    expect(text).to.contain(`${h.url}/region/RegionThree/image`);
    const regions = (await cli(['region', 'list', '-f', 'json']) as Array<{ Region: string }>).map((r) => r.Region);
    expect(regions).to.include.members(['RegionOne', 'RegionTwo', 'RegionThree']);
  });

  it('one token works in every region: the same admin token reads all three', async () => {
    for (const [path, key] of [['/image/v2/images', 'images'], ['/region/RegionTwo/image/v2/images', 'images'], ['/region/RegionThree/compute/v2.1/flavors', 'flavors']] as const) {
      const res = await h.request('GET', path);
      expect(res.status, `${path}: ${res.text}`).to.equal(200);
      expect(res.json).to.have.property(key);
    }
  });

  it('routes the CLI by --os-region-name: sandbox flavors, SoftLayer flavors, the real Glance\'s images', async () => {
    const sandbox = (await cli(['flavor', 'list', '-f', 'json'], { OS_REGION_NAME: 'RegionOne' }) as Array<{ Name: string }>).map((f) => f.Name);
    const softlayer = (await cli(['flavor', 'list', '-f', 'json'], { OS_REGION_NAME: 'RegionThree' }) as Array<{ Name: string }>).map((f) => f.Name);
    expect(sandbox).to.include('m1.tiny').and.not.include('sl.1x1x25');
    expect(softlayer).to.include('sl.1x1x25').and.not.include('m1.tiny');
  });

  it('an image made through RegionTwo is in the real Glance, bytes equal; the sandbox does not have it', async () => {
    const file = join(h.dataDir, 'upload.raw');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(file, data);
    const name = `pass-${tag}`;
    const made = await cli(['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', name], { OS_REGION_NAME: 'RegionTwo' }) as { id: string };
    // In the real Glance, straight from it: the service account's project owns it.
    const direct = await upstreamCall(`${up.glanceUrl}/v2/images/${made.id}`, upAdmin.token);
    expect(direct.status).to.equal(200);
    expect(direct.json).to.include({ name, status: 'active', size: data.length, owner: upAdmin.projectId });
    const raw = await fetch(`${up.glanceUrl}/v2/images/${made.id}/file`, { headers: { 'x-auth-token': upAdmin.token } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(data)).to.equal(true);
    // Downloaded back through the gateway.
    const out = join(h.dataDir, 'download.raw');
    await cli(['image', 'save', '--file', out, made.id], { OS_REGION_NAME: 'RegionTwo' });
    expect(readFileSync(out).equals(data)).to.equal(true);
    const listed = (await cli(['image', 'list', '-f', 'json'], { OS_REGION_NAME: 'RegionTwo' }) as Array<{ ID: string; Name: string }>);
    expect(listed.map((i) => i.ID)).to.include(made.id);
    const sandbox = (await cli(['image', 'list', '-f', 'json'], { OS_REGION_NAME: 'RegionOne' }) as Array<{ ID: string }>);
    expect(sandbox.map((i) => i.ID)).not.to.include(made.id);
    // Links in the answers are the gateway's, not the upstream's.
    const shown = await h.request('GET', `/region/RegionTwo/image/v2/images/${made.id}`);
    expect(shown.text).not.to.contain(up.glanceUrl);
    await cli(['image', 'delete', made.id], { OS_REGION_NAME: 'RegionTwo' });
    expect((await upstreamCall(`${up.glanceUrl}/v2/images/${made.id}`, upAdmin.token)).status).to.equal(404);
  });

  it('a user of the real Keystone logs in through the gateway and acts upstream as themselves', async () => {
    const demo = up.demo;
    const issued = await cli(['token', 'issue', '-f', 'json'], asUpstream(demo, 'RegionOne')) as { id: string; project_id: string; user_id: string };
    const direct = await upstreamLogin(up, demo);
    // Mirrored with the upstream ids.
    expect(issued.project_id).to.equal(direct.projectId);
    await expectFailure(cli(['token', 'issue'], { ...asUpstream(demo, 'RegionOne'), OS_PASSWORD: 'not-the-password' }), /401|authenticat/i);

    const file = join(h.dataDir, 'demo.raw');
    const data = randomBytes(1024 * 1024);
    writeFileSync(file, data);
    const made = await cli(['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '-f', 'json', `demo-${tag}`], asUpstream(demo, 'RegionTwo')) as { id: string };
    const seen = await upstreamCall(`${up.glanceUrl}/v2/images/${made.id}`, direct.token);
    expect(seen.json).to.include({ owner: direct.projectId, size: data.length, status: 'active' });
    // The same gateway token works in the sandbox region; SoftLayer has no credential of this user.
    const token = issued.id;
    expect((await h.request('GET', '/compute/v2.1/servers', { token })).status).to.equal(200);
    expect((await h.request('GET', '/region/RegionTwo/image/v2/images', { token })).status).to.equal(200);
    const sl = await h.request('GET', '/region/RegionThree/compute/v2.1/flavors', { token });
    expect(sl.status).to.equal(403);
    expect(sl.text).to.contain('SoftLayer');
  });

  it('user and role operations of an upstream admin reach the real Keystone; a local admin is refused them', async () => {
    const newUser = `made-${tag}`;
    const pw = randomBytes(12).toString('hex');
    const env = asUpstream(opsUser, 'RegionOne');
    const made = await cli(['user', 'create', '--domain', 'default', '--password', pw, '-f', 'json', newUser], env) as { id: string; name: string };
    const direct = await upstreamCall(`${up.keystoneUrl}/v3/users/${made.id}`, upAdmin.token);
    expect(direct.status).to.equal(200);
    expect(direct.json.user.name).to.equal(newUser);
    await cli(['role', 'add', '--project', up.demo.projectName, '--project-domain', 'Default', '--user', made.id, 'member'], env);
    // The new user logs in through the gateway (checked by the real Keystone) and gets a demo-scoped token.
    const token = await cli(['token', 'issue', '-f', 'json'], { ...asUpstream({ ...up.demo, username: newUser, password: pw }, 'RegionOne') }) as { project_id: string };
    expect(token.project_id).to.equal((await upstreamLogin(up, up.demo)).projectId);
    const users = (await cli(['user', 'list', '-f', 'json'], env) as Array<{ Name: string }>).map((u) => u.Name);
    expect(users).to.include(newUser);
    await cli(['user', 'delete', made.id], env);
    expect((await upstreamCall(`${up.keystoneUrl}/v3/users/${made.id}`, upAdmin.token)).status).to.equal(404);
    // The gateway's own admin has no upstream login: Keystone's user operations are not theirs here.
    const refused = await h.request('GET', '/identity/v3/users');
    expect(refused.status).to.equal(403);
    expect(refused.text).to.match(/upstream/i);
  });
});
