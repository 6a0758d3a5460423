/**
 * The CloudStack backend's Nova through the gateway, against the CloudStack
 * simulator, with every response checked against the spec (contract mode):
 * login by API key + secret key, zones, offerings, templates, key pairs, and
 * servers through CloudStack's async jobs (BUILD and task states while a job
 * runs, ERROR with the job's message when it fails).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloudStackGateway, type CloudStackHarness } from '../helpers/cloudstack.js';
import { startGateway, type TestResponse } from '../helpers/gateway.js';
import { until } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

const MV = { 'OpenStack-API-Version': 'compute 2.79' };

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, `${res.text} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
}

/** A new public key and its MD5 fingerprint as ssh-keygen prints it. */
function sshPublicKey(): { pub: string; md5: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sg-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cs-test', '-f', join(dir, 'k')]);
    const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1]!.replace(/^MD5:/, '');
    return { pub: readFileSync(join(dir, 'k.pub'), 'utf8').trim(), md5 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('cloudstack: compute (Nova over CloudStack virtual machines and async jobs)', function () {
  this.timeout(30_000);
  let h: CloudStackHarness;
  const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = MV) =>
    h.gw.request(method, `/compute/v2.1${path}`, { token: h.token, headers, ...(body !== undefined ? { body } : {}) });
  const server = async (id: string) => {
    const res = await req('GET', `/servers/${id}`);
    expectStatus(res, 200);
    return (res.json as Json).server as Json;
  };
  const template = () => [...h.sim.state.templates.values()][0]!;
  const offering = (i = 0) => h.sim.state.serviceOfferings[i]!;

  before(async () => { h = await startCloudStackGateway({ jobMs: 600, overrides: { contract: true } }); });
  after(async () => { await h?.close(); });

  it('an API key + secret key log in as the shadow user (named by the key) of the account project', async () => {
    const res = await h.gw.request('GET', '/identity/v3/auth/tokens', { token: h.token, headers: { 'x-subject-token': h.token } });
    expect(res.status).to.equal(200);
    const t = (res.json as Json).token;
    expect(t.user.name).to.equal(h.account.apiKey);
    expect(t.project.name).to.equal(`cloudstack-${h.account.account}`);
    expect(t.roles.map((r: Json) => r.name)).to.include('member');
    expect(res.text).not.to.include(h.account.secretKey);
    expect(h.sim.calls.some((c) => c.command === 'listUsers' && c.verified)).to.equal(true);
  });

  it('a wrong secret key is a 401; the gateway admin (no CloudStack credential) is refused by the driver', async () => {
    await h.gw.login(h.account.apiKey, 'x'.repeat(86), h.account.project).then(() => { throw new Error('logged in'); }, (err: Error) => expect(err.message).to.match(/401/));
    expect(h.sim.calls.at(-1)).to.include({ command: 'listUsers', verified: false });
    const res = await h.gw.request('GET', '/compute/v2.1/servers');
    expect(res.status).to.equal(403);
    expect((res.json as Json).forbidden.message).to.match(/CloudStack credential/);
  });

  it('flavors are service offerings, availability zones are zones, Nova images are templates', async () => {
    const fl = await req('GET', '/flavors/detail');
    expectStatus(fl, 200);
    const flavors = (fl.json as Json).flavors as Json[];
    expect(flavors.map((f) => [f.id, f.name, f.vcpus, f.ram])).to.deep.equal(h.sim.state.serviceOfferings.map((o) => [o.id, o.name, o.cpunumber, o.memory]));
    const shown = await req('GET', `/flavors/${offering(1).id as string}`);
    expectStatus(shown, 200);
    expect((shown.json as Json).flavor.name).to.equal(offering(1).name);
    expectStatus(await req('GET', '/flavors/8b7c2d0e-0000-4000-8000-000000000000'), 404);
    const zones = ((await req('GET', '/os-availability-zone')).json as Json).availabilityZoneInfo as Json[];
    expect(zones.map((z) => z.zoneName)).to.deep.equal(h.sim.state.zones.map((z) => z.name));
    // Nova's image proxy ends at 2.35.
    const imgs = await req('GET', '/images/detail', undefined, { 'OpenStack-API-Version': 'compute 2.35' });
    expectStatus(imgs, 200);
    const images = (imgs.json as Json).images as Json[];
    expect(images.map((i) => i.name).sort()).to.deep.equal([...h.sim.state.templates.values()].map((t) => t.name).sort());
  });

  it('key pairs: register a public key, create one (CloudStack makes the private key), show, list, delete', async () => {
    const { pub, md5 } = sshPublicKey();
    const reg = await req('POST', '/os-keypairs', { keypair: { name: 'cs-reg', public_key: pub } });
    expectStatus(reg, 201);
    expect((reg.json as Json).keypair.fingerprint).to.equal(md5);
    const made = await req('POST', '/os-keypairs', { keypair: { name: 'cs-made' } });
    expectStatus(made, 201);
    expect((made.json as Json).keypair.private_key).to.match(/PRIVATE KEY/);
    expect((made.json as Json).keypair.public_key).to.match(/^ssh-rsa /);
    expectStatus(await req('POST', '/os-keypairs', { keypair: { name: 'cs-made' } }), 409);
    const show = await req('GET', '/os-keypairs/cs-reg');
    expectStatus(show, 200);
    expect((show.json as Json).keypair.public_key).to.equal(pub);
    const list = ((await req('GET', '/os-keypairs')).json as Json).keypairs as Json[];
    expect(list.map((k) => k.keypair.name)).to.deep.equal(['cs-made', 'cs-reg']);
    expectStatus(await req('DELETE', '/os-keypairs/cs-made'), 204);
    expectStatus(await req('GET', '/os-keypairs/cs-made'), 404);
    expect([...h.sim.state.sshKeyPairs.values()].map((k) => k.name)).to.deep.equal(['cs-reg']);
  });

  let serverId: string;

  it('create: deployVirtualMachine answers a job; the server is BUILD/spawning until queryAsyncJobResult says done, then ACTIVE', async () => {
    const res = await req('POST', '/servers', { server: {
      name: 'web-1', flavorRef: offering(1).id, imageRef: template().id, key_name: 'cs-reg', availability_zone: h.sim.state.zones[1]!.name, networks: 'auto',
    } });
    expectStatus(res, 202);
    serverId = (res.json as Json).server.id;
    expect(res.headers.get('location')).to.match(new RegExp(`/servers/${serverId}$`));
    const vm = h.sim.state.vms.get(serverId)!;
    expect([vm.name, vm.zonename, vm.serviceofferingid, vm.keypair]).to.deep.equal(['web-1', h.sim.state.zones[1]!.name, offering(1).id, 'cs-reg']);
    const first = await server(serverId);
    expect([first.status, first['OS-EXT-STS:task_state'], first['OS-EXT-STS:vm_state']]).to.deep.equal(['BUILD', 'spawning', 'building']);
    expect(h.sim.calls.some((c) => c.command === 'queryAsyncJobResult' && c.params.jobid === vm.jobid)).to.equal(true);
    const active = await until('ACTIVE', async () => { const s = await server(serverId); return s.status === 'ACTIVE' ? s : undefined; });
    expect(active).to.deep.include({ name: 'web-1', key_name: 'cs-reg', 'OS-EXT-AZ:availability_zone': h.sim.state.zones[1]!.name, 'OS-EXT-STS:task_state': null });
    expect(active.flavor).to.include({ vcpus: offering(1).cpunumber, ram: offering(1).memory, original_name: offering(1).name });
    expect(active.image.id).to.equal(template().id);
    expect(JSON.stringify(active.addresses)).to.include(String(vm.nic[0]!.ipaddress));
  });

  it('a name that is no host name stays the display name; list pages with limit and marker', async () => {
    const res = await req('POST', '/servers', { server: { name: 'my web server', flavorRef: offering(0).id, imageRef: template().id, networks: 'auto' } });
    expectStatus(res, 202);
    const vm = h.sim.state.vms.get((res.json as Json).server.id)!;
    expect(vm.displayname).to.equal('my web server');
    expect(vm.name).to.match(/^VM-/);
    const page1 = await req('GET', '/servers?limit=1');
    expectStatus(page1, 200);
    expect((page1.json as Json).servers.map((s: Json) => s.name)).to.deep.equal(['web-1']);
    expect((page1.json as Json).servers_links[0].href).to.include(`marker=${serverId}`);
    const page2 = await req('GET', `/servers?limit=1&marker=${serverId}`);
    expect((page2.json as Json).servers.map((s: Json) => s.name)).to.deep.equal(['my web server']);
    const detail = ((await req('GET', '/servers/detail?name=^my')).json as Json).servers as Json[];
    expect(detail.map((s) => s.name)).to.deep.equal(['my web server']);
  });

  it('stop, start, reboot: jobs shown as task states; a second action while one runs is 409', async () => {
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-stop': null }), 202);
    const stopping = await server(serverId);
    expect([stopping.status, stopping['OS-EXT-STS:task_state']]).to.deep.equal(['ACTIVE', 'powering-off']);
    expectStatus(await req('POST', `/servers/${serverId}/action`, { reboot: { type: 'SOFT' } }), 409);
    await until('SHUTOFF', async () => ((await server(serverId)).status === 'SHUTOFF' ? true : undefined));
    expect(h.sim.state.vms.get(serverId)!.state).to.equal('Stopped');
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-start': null }), 202);
    expect((await server(serverId))['OS-EXT-STS:task_state']).to.equal('powering-on');
    await until('ACTIVE', async () => ((await server(serverId)).status === 'ACTIVE' ? true : undefined));
    expectStatus(await req('POST', `/servers/${serverId}/action`, { reboot: { type: 'HARD' } }), 202);
    expect((await server(serverId)).status).to.equal('REBOOT');
    await until('ACTIVE after reboot', async () => ((await server(serverId)).status === 'ACTIVE' ? true : undefined));
    expect(h.sim.calls.filter((c) => ['stopVirtualMachine', 'startVirtualMachine', 'rebootVirtualMachine'].includes(c.command)).map((c) => c.command))
      .to.deep.equal(['stopVirtualMachine', 'startVirtualMachine', 'rebootVirtualMachine']);
  });

  it('metadata are resource tags (createTags/deleteTags jobs); rename is the display name; interfaces are the NICs', async () => {
    const set = await req('POST', `/servers/${serverId}/metadata`, { metadata: { role: 'web', tier: 'front' } });
    expectStatus(set, 200);
    expect((set.json as Json).metadata).to.deep.equal({ role: 'web', tier: 'front' });
    const vm = h.sim.state.vms.get(serverId)!;
    expect((vm.tags as Json[]).map((t) => [t.key, t.value, t.resourcetype])).to.deep.equal([['role', 'web', 'UserVm'], ['tier', 'front', 'UserVm']]);
    expectStatus(await req('PUT', `/servers/${serverId}/metadata/tier`, { meta: { tier: 'back' } }), 200);
    expect((await server(serverId)).metadata).to.deep.equal({ role: 'web', tier: 'back' });
    expectStatus(await req('DELETE', `/servers/${serverId}/metadata/role`), 204);
    expect(((await req('GET', `/servers/${serverId}/metadata`)).json as Json).metadata).to.deep.equal({ tier: 'back' });
    expectStatus(await req('GET', `/servers/${serverId}/metadata/role`), 404);

    const renamed = await req('PUT', `/servers/${serverId}`, { server: { name: 'web one' } });
    expectStatus(renamed, 200);
    expect([(renamed.json as Json).server.name, vm.displayname, vm.name]).to.deep.equal(['web one', 'web one', 'web-1']);

    const ifaces = ((await req('GET', `/servers/${serverId}/os-interface`)).json as Json).interfaceAttachments as Json[];
    expect(ifaces.map((i) => [i.port_id, i.net_id, i.mac_addr, i.fixed_ips[0].ip_address])).to.deep.equal(vm.nic.map((n) => [n.id, n.networkid, n.macaddress, n.ipaddress]));
    expectStatus(await req('GET', `/servers/${serverId}/os-interface/${vm.nic[0]!.id as string}`), 200);

    // os-server-password is getVMPassword: "" until CloudStack has an encrypted password for the VM.
    expect(((await req('GET', `/servers/${serverId}/os-server-password`)).json as Json).password).to.equal('');
    vm.encryptedpassword = Buffer.from('encrypted-with-the-ssh-key').toString('base64');
    expect(((await req('GET', `/servers/${serverId}/os-server-password`)).json as Json).password).to.equal(vm.encryptedpassword);

    // Consoles are CloudStack's noVNC console proxy (createConsoleEndpoint).
    const rc = await req('POST', `/servers/${serverId}/remote-consoles`, { remote_console: { protocol: 'vnc', type: 'novnc' } });
    expectStatus(rc, 200);
    expect((rc.json as Json).remote_console.url).to.match(/^https:\/\/console\.cloud\.example\/.*token=[0-9a-f-]{36}$/);
    expect(h.sim.calls.at(-1)).to.deep.include({ command: 'createConsoleEndpoint', verified: true });
    expectStatus(await req('POST', `/servers/${serverId}/remote-consoles`, { remote_console: { protocol: 'spice', type: 'spice-html5' } }), 400);
  });

  it('createImage is createTemplate from the root volume of a stopped server; the image is saving, then active', async () => {
    expectStatus(await req('POST', `/servers/${serverId}/action`, { createImage: { name: 'web-snap' } }), 409);
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-stop': null }), 202);
    await until('SHUTOFF', async () => ((await server(serverId)).status === 'SHUTOFF' ? true : undefined));
    const res = await req('POST', `/servers/${serverId}/action`, { createImage: { name: 'web-snap' } });
    expectStatus(res, 202);
    const imageId = (res.json as Json).image_id as string;
    const t = h.sim.state.templates.get(imageId)!;
    const root = [...h.sim.state.volumes.values()].find((v) => v.virtualmachineid === serverId && v.type === 'ROOT')!;
    expect([t.name, t.sourcevolumeid]).to.deep.equal(['web-snap', root.id]);
    const glance = (id: string) => h.gw.request('GET', `/image/v2/images/${id}`, { token: h.token });
    expect(((await glance(imageId)).json as Json).status).to.equal('saving');
    await until('active', async () => (((await glance(imageId)).json as Json).status === 'active' ? true : undefined));
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-start': null }), 202);
    await until('ACTIVE', async () => ((await server(serverId)).status === 'ACTIVE' ? true : undefined));
  });

  it('rebuild is restoreVirtualMachine with the new template (REBUILD while the job runs)', async () => {
    const other = [...h.sim.state.templates.values()][1]!;
    const res = await req('POST', `/servers/${serverId}/action`, { rebuild: { imageRef: other.id } });
    expectStatus(res, 202);
    expect((res.json as Json).server.status).to.equal('REBUILD');
    await until('ACTIVE after rebuild', async () => ((await server(serverId)).status === 'ACTIVE' ? true : undefined));
    expect((await server(serverId)).image.id).to.equal(other.id);
  });

  it('a deploy job that fails: the server is ERROR with the job\'s message as its fault', async () => {
    h.sim.state.jobFailures.count = 1;
    h.sim.state.jobFailures.message = 'Unable to create a deployment for VM[User|i-2-9-VM]: insufficient capacity';
    const res = await req('POST', '/servers', { server: { name: 'doomed', flavorRef: offering(2).id, imageRef: template().id, networks: 'auto' } });
    expectStatus(res, 202);
    const id = (res.json as Json).server.id as string;
    const failed = await until('ERROR', async () => { const s = await server(id); return s.status === 'ERROR' ? s : undefined; });
    expect(failed.fault).to.include({ code: 500, message: 'Unable to create a deployment for VM[User|i-2-9-VM]: insufficient capacity' });
    expect(failed['OS-EXT-STS:vm_state']).to.equal('error');
    expectStatus(await req('DELETE', `/servers/${id}`), 204);
  });

  it('delete: destroyVirtualMachine with expunge; the server is gone (404) at once', async () => {
    expectStatus(await req('DELETE', `/servers/${serverId}`), 204);
    expect(h.sim.calls.filter((c) => c.command === 'destroyVirtualMachine').at(-1)!.params).to.include({ id: serverId, expunge: 'true' });
    expectStatus(await req('GET', `/servers/${serverId}`), 404);
    expectStatus(await req('GET', '/servers/not-a-uuid'), 404);
  });

  it('limits come from listResourceLimits with what the account uses', async () => {
    const res = await req('GET', '/limits');
    expectStatus(res, 200);
    const abs = (res.json as Json).limits.absolute;
    expect([abs.maxTotalInstances, abs.maxTotalCores, abs.maxTotalRAMSize]).to.deep.equal([20, 40, 81920]);
    const mine = [...h.sim.state.vms.values()].filter((v) => v.account === h.account.account && !['Destroyed', 'Error'].includes(v.state));
    expect([abs.totalInstancesUsed, abs.totalCoresUsed, abs.totalRAMUsed]).to.deep.equal([mine.length, mine.reduce((n, v) => n + v.cpunumber, 0), mine.reduce((n, v) => n + v.memory, 0)]);
    expect(h.sim.calls.some((c) => c.command === 'listAccounts' && c.params.name === h.account.account)).to.equal(true);
  });

  it('quota sets are the resource limits, read-only', async () => {
    const project = (await h.gw.request('GET', '/identity/v3/auth/tokens', { token: h.token, headers: { 'x-subject-token': h.token } })).json as Json;
    const res = await req('GET', `/os-quota-sets/${project.token.project.id as string}/detail`);
    expectStatus(res, 200);
    expect((res.json as Json).quota_set.instances).to.include({ limit: 20 });
    // A member may not update quotas (policy, 403); CloudStack's updateResourceLimit is not mapped either.
    expectStatus(await req('PUT', `/os-quota-sets/${project.token.project.id as string}`, { quota_set: { instances: 5 } }), 403);
  });

  it('server groups are affinity groups: create (job), boot into one with a scheduler hint, members, delete', async () => {
    const made = await req('POST', '/os-server-groups', { server_group: { name: 'spread', policy: 'anti-affinity' } }, { 'OpenStack-API-Version': 'compute 2.64' });
    expectStatus(made, 200);
    const group = (made.json as Json).server_group;
    expect(group).to.include({ name: 'spread', policy: 'anti-affinity' });
    expect(h.sim.state.affinityGroups.get(group.id)).to.include({ type: 'host anti-affinity' });
    expectStatus(await req('POST', '/os-server-groups', { server_group: { name: 'soft', policy: 'soft-affinity' } }, { 'OpenStack-API-Version': 'compute 2.64' }), 400);
    const srv = await req('POST', '/servers', { server: { name: 'in-group', flavorRef: offering(0).id, imageRef: template().id, networks: 'auto' }, 'os:scheduler_hints': { group: group.id } });
    expectStatus(srv, 202);
    const id = (srv.json as Json).server.id as string;
    expect((await server(id)).server_groups).to.deep.equal([group.id]);
    const shown = await req('GET', `/os-server-groups/${group.id as string}`);
    expect((shown.json as Json).server_group.members).to.deep.equal([id]);
    expectStatus(await req('DELETE', `/os-server-groups/${group.id as string}`), 400);
    // One job at a time on a VM: no delete while the deploy runs.
    expectStatus(await req('DELETE', `/servers/${id}`), 409);
    await until('ACTIVE', async () => ((await server(id)).status === 'ACTIVE' ? true : undefined));
    expectStatus(await req('DELETE', `/servers/${id}`), 204);
    await until('group empty', async () => ((((await req('GET', `/os-server-groups/${group.id as string}`)).json as Json).server_group.members as string[]).length === 0 ? true : undefined));
    expectStatus(await req('DELETE', `/os-server-groups/${group.id as string}`), 204);
    expectStatus(await req('GET', `/os-server-groups/${group.id as string}`), 404);
  });

  it('a second gateway process sees the same job state: nothing about jobs is kept in the gateway', async () => {
    const other = await startGateway({ backend: 'cloudstack', identity: { auth: ['cloudstack', 'local'] }, contract: true, cloudstack: { endpoint: h.sim.endpoint, timeoutMs: 5000, retries: 1 } });
    try {
      const token = await other.login(h.account.apiKey, h.account.secretKey, h.account.project);
      const res = await req('POST', '/servers', { server: { name: 'seen-twice', flavorRef: offering(0).id, imageRef: template().id, networks: 'auto' } });
      expectStatus(res, 202);
      const id = (res.json as Json).server.id as string;
      const there = await other.request('GET', `/compute/v2.1/servers/${id}`, { token, headers: MV });
      expectStatus(there, 200);
      expect((there.json as Json).server).to.include({ status: 'BUILD', 'OS-EXT-STS:task_state': 'spawning' });
      await until('ACTIVE there', async () => (((await other.request('GET', `/compute/v2.1/servers/${id}`, { token, headers: MV })).json as Json).server.status === 'ACTIVE' ? true : undefined));
      expectStatus(await other.request('DELETE', `/compute/v2.1/servers/${id}`, { token, headers: MV }), 204);
      expectStatus(await req('GET', `/servers/${id}`), 404);
    } finally {
      await other.close();
    }
  });

  it('a job id CloudStack has purged (queryAsyncJobResult 431) leaves the VM\'s own state', async () => {
    const list = ((await req('GET', '/servers/detail')).json as Json).servers as Json[];
    const active = list.find((x) => x.status === 'ACTIVE')!;
    const vm = h.sim.state.vms.get(active.id)!;
    Object.assign(vm, { jobid: '0e0e0e0e-0000-4000-8000-000000000000', jobstatus: 0 });
    try {
      const shown = await server(active.id);
      expect([shown.status, shown['OS-EXT-STS:task_state']]).to.deep.equal(['ACTIVE', null]);
    } finally {
      delete vm.jobid;
      delete vm.jobstatus;
    }
  });

  it('what CloudStack cannot do is 501 (pause)', async () => {
    const list = ((await req('GET', '/servers')).json as Json).servers as Json[];
    expectStatus(await req('POST', `/servers/${list[0]!.id as string}/action`, { pause: null }), 501);
  });
});
