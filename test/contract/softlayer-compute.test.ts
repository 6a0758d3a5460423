/**
 * The SoftLayer backend's Nova through the gateway, against the SoftLayer
 * simulator, with every response checked against the spec (contract mode).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';
import type { TestResponse } from '../helpers/gateway.js';
import { until } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

const MV = { 'OpenStack-API-Version': 'compute 2.79' };

/** Asserts a status, showing the body (and any contract violation) when it differs. */
function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, `${res.text} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
}

function sshPublicKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sl-test', '-f', join(dir, 'k')]);
    return readFileSync(join(dir, 'k.pub'), 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('softlayer: compute (Nova over SoftLayer_Virtual_Guest)', function () {
  this.timeout(30_000);
  let h: SoftLayerHarness;
  const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = MV) =>
    h.gw.request(method, `/compute/v2.1${path}`, { token: h.token, headers, ...(body !== undefined ? { body } : {}) });

  before(async () => { h = await startSoftLayerGateway({ overrides: { contract: true } }); });
  after(async () => { await h?.close(); });

  /** The simulator's guest behind a server id (the SoftLayer id is the UUID's last group). */
  const guestOf = (id: string) => h.sim.state.guests.get(parseInt(id.slice(-12), 16));
  const status = async (id: string) => {
    const res = await req('GET', `/servers/${id}`);
    expectStatus(res, 200);
    return (res.json as Json).server.status as string;
  };

  it('a SoftLayer username + API key logs in as the shadow user of the account project', async () => {
    const res = await h.gw.request('GET', '/identity/v3/auth/tokens', { token: h.token, headers: { 'x-subject-token': h.token } });
    expect(res.status).to.equal(200);
    const t = (res.json as Json).token;
    expect(t.user.name).to.equal(h.account.username);
    expect(t.project.name).to.equal(`softlayer-${h.account.accountId}`);
    expect(t.roles.map((r: Json) => r.name)).to.include('member');
    expect(res.text).not.to.include(h.account.apiKey);
  });

  it('a wrong API key is a 401, and the gateway admin (no SoftLayer credential) is refused by the driver', async () => {
    await h.gw.login(h.account.username, 'f'.repeat(64), h.account.project).then(() => { throw new Error('logged in'); }, (err: Error) => expect(err.message).to.match(/401/));
    const res = await h.gw.request('GET', '/compute/v2.1/servers');
    expect(res.status).to.equal(403);
    expect((res.json as Json).forbidden.message).to.match(/SoftLayer credential/);
  });

  it('flavors are the configured sizes SoftLayer offers; availability zones are datacenters', async () => {
    const flavors = ((await req('GET', '/flavors/detail')).json as Json).flavors as Json[];
    expect(flavors.map((f) => f.name)).to.include.members(['sl.1x1x25', 'sl.2x4x25', 'sl.4x8x100']);
    const f = flavors.find((x) => x.name === 'sl.2x4x25')!;
    expect([f.vcpus, f.ram, f.disk]).to.deep.equal([2, 4096, 25]);
    expect(((await req('GET', '/flavors/sl.2x4x25')).json as Json).flavor.ram).to.equal(4096);
    // SoftLayer's own presets from getCreateObjectOptions come after the configured sizes.
    const preset = flavors.find((x) => x.name === 'B1_2X4X25')!;
    expect([preset.vcpus, preset.ram, preset.disk]).to.deep.equal([2, 4096, 25]);
    expectStatus(await req('GET', '/flavors/nope'), 404);
    const azs = ((await req('GET', '/os-availability-zone')).json as Json).availabilityZoneInfo as Json[];
    expect(azs.map((z) => z.zoneName)).to.have.members(h.sim.state.datacenters.map((d) => d.name));
  });

  it('key pairs are SoftLayer SSH keys: create with and without a public key, list, show, delete', async () => {
    const pub = sshPublicKey();
    const created = await req('POST', '/os-keypairs', { keypair: { name: 'mine', public_key: pub } });
    expect(created.status).to.equal(201);
    const fp = (created.json as Json).keypair.fingerprint;
    expect(fp).to.match(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect([...h.sim.state.sshKeys.values()].find((k) => k.label === 'mine')?.fingerprint).to.equal(fp);
    expectStatus(await req('POST', '/os-keypairs', { keypair: { name: 'mine', public_key: pub } }), 409);
    const generated = await req('POST', '/os-keypairs', { keypair: { name: 'made' } }, { 'OpenStack-API-Version': 'compute 2.10' });
    expect(generated.status).to.equal(201);
    expect((generated.json as Json).keypair.private_key).to.match(/BEGIN RSA PRIVATE KEY/);
    const list = ((await req('GET', '/os-keypairs')).json as Json).keypairs.map((k: Json) => k.keypair.name);
    expect(list).to.have.members(['made', 'mine']);
    expect(((await req('GET', '/os-keypairs/mine')).json as Json).keypair.public_key).to.equal(pub);
    expectStatus(await req('DELETE', '/os-keypairs/made'), 204);
    expectStatus(await req('GET', '/os-keypairs/made'), 404);
  });

  let serverId = '';
  let imageId = '';

  it('creates a server from a public image: BUILD while SoftLayer provisions, then ACTIVE with its addresses', async () => {
    const images = ((await req('GET', '/images', undefined, { 'OpenStack-API-Version': 'compute 2.35' })).json as Json).images as Json[];
    imageId = images.find((i) => /ubuntu/.test(i.name))!.id;
    const res = await req('POST', '/servers', { server: { name: 'web-1', flavorRef: 'sl.1x2x25', imageRef: imageId, key_name: 'mine', availability_zone: 'wdc07', networks: 'auto' } });
    expectStatus(res, 202);
    serverId = (res.json as Json).server.id;
    expect(res.headers.get('location')).to.match(new RegExp(`/servers/${serverId}$`));
    const guest = guestOf(serverId)!;
    expect([guest.hostname, guest.domain, guest.startCpus, guest.maxMemory, h.sim.state.datacenter(guest.datacenterId).name]).to.deep.equal(['web-1', 'stackgate.local', 1, 2048, 'wdc07']);
    expect(await status(serverId)).to.equal('BUILD');
    await until('ACTIVE', async () => ((await status(serverId)) === 'ACTIVE' ? true : undefined));
    const s = ((await req('GET', `/servers/${serverId}`)).json as Json).server;
    expect(s.name).to.equal('web-1');
    expect(s.key_name).to.equal('mine');
    expect(s.image.id).to.equal(imageId);
    expect(s['OS-EXT-AZ:availability_zone']).to.equal('wdc07');
    expect(s.addresses.public[0].addr).to.equal(guest.primaryIpAddress);
    expect(s.addresses.private[0].addr).to.equal(guest.primaryBackendIpAddress);
  });

  it('a SoftLayer preset flavor orders by flavorKeyName; a configured one by cores, memory and disk', async () => {
    const res = await req('POST', '/servers', { server: { name: 'preset-1', flavorRef: 'M1_2X16X25', imageRef: imageId, networks: 'auto' } });
    expectStatus(res, 202);
    const g = guestOf((res.json as Json).server.id)!;
    expect([g.startCpus, g.maxMemory, g.diskGb]).to.deep.equal([2, 16384, 25]);
    const big = await req('POST', '/servers', { server: { name: 'big-1', flavorRef: 'sl.4x8x100', imageRef: imageId, networks: 'auto' } });
    expectStatus(big, 202);
    const b = guestOf((big.json as Json).server.id)!;
    expect([b.startCpus, b.maxMemory, b.diskGb]).to.deep.equal([4, 8192, 100]);
    // The preset's size is no configured flavor: the server names an ad-hoc one that can be shown.
    const presetServer = ((await req('GET', `/servers/${(res.json as Json).server.id}`, undefined, { 'OpenStack-API-Version': 'compute 2.46' })).json as Json).server;
    expect(presetServer.flavor.id).to.equal('custom-2x16384x25');
    expect(((await req('GET', '/flavors/custom-2x16384x25')).json as Json).flavor).to.include({ vcpus: 2, ram: 16384, disk: 25 });
    for (const id of [(res.json as Json).server.id, (big.json as Json).server.id]) {
      await until(`${id} ACTIVE`, async () => ((await status(id)) === 'ACTIVE' ? true : undefined));
      expectStatus(await req('DELETE', `/servers/${id}`), 204);
    }
  });

  it('lists servers (filtered by name, paged) and shows their IPs and interfaces', async () => {
    const all = ((await req('GET', '/servers/detail')).json as Json).servers as Json[];
    expect(all.map((s) => s.id)).to.include(serverId);
    expect(((await req('GET', '/servers?name=web-1')).json as Json).servers.map((s: Json) => s.id)).to.deep.equal([serverId]);
    expect(((await req('GET', '/servers?name=nothing-like-it')).json as Json).servers).to.deep.equal([]);
    const ipsRes = await req('GET', `/servers/${serverId}/ips`);
    expectStatus(ipsRes, 200);
    const ips = (ipsRes.json as Json).addresses;
    expect(Object.keys(ips)).to.have.members(['public', 'private']);
    const ifRes = await req('GET', `/servers/${serverId}/os-interface`);
    expectStatus(ifRes, 200);
    const ifaces = (ifRes.json as Json).interfaceAttachments as Json[];
    expect(ifaces).to.have.length(2);
  });

  it('reboot, stop, start, pause, unpause go to SoftLayer and move the status', async () => {
    expectStatus(await req('POST', `/servers/${serverId}/action`, { reboot: { type: 'SOFT' } }), 202);
    expect(await status(serverId)).to.equal('REBOOT');
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-stop': null }), 409);
    await until('ACTIVE after reboot', async () => ((await status(serverId)) === 'ACTIVE' ? true : undefined));
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-stop': null }), 202);
    expect(await status(serverId)).to.equal('SHUTOFF');
    expect(guestOf(serverId)!.power).to.equal('HALTED');
    expectStatus(await req('POST', `/servers/${serverId}/action`, { pause: null }), 409);
    expectStatus(await req('POST', `/servers/${serverId}/action`, { 'os-start': null }), 202);
    expect(await status(serverId)).to.equal('ACTIVE');
    expectStatus(await req('POST', `/servers/${serverId}/action`, { pause: null }), 202);
    expect(await status(serverId)).to.equal('PAUSED');
    expectStatus(await req('POST', `/servers/${serverId}/action`, { unpause: null }), 202);
    expect(await status(serverId)).to.equal('ACTIVE');
  });

  it('SoftLayer has no suspend or resize: 501, and nothing happens', async () => {
    expectStatus(await req('POST', `/servers/${serverId}/action`, { suspend: null }), 501);
    expect(await status(serverId)).to.equal('ACTIVE');
  });

  it('tags are SoftLayer tag references', async () => {
    expectStatus(await req('PUT', `/servers/${serverId}/tags`, { tags: ['web', 'prod'] }), 200);
    expect(guestOf(serverId)!.tags).to.deep.equal(['web', 'prod']);
    expectStatus(await req('PUT', `/servers/${serverId}/tags/blue`), 201);
    expectStatus(await req('GET', `/servers/${serverId}/tags/blue`), 204);
    expectStatus(await req('DELETE', `/servers/${serverId}/tags/web`), 204);
    expect(((await req('GET', `/servers/${serverId}/tags`)).json as Json).tags).to.deep.equal(['prod', 'blue']);
  });

  it('createImage captures the guest into a private template; rebuild reloads the OS from it', async () => {
    const res = await req('POST', `/servers/${serverId}/action`, { createImage: { name: 'web-snap' } });
    expectStatus(res, 202);
    const snap = (res.json as Json).image_id as string;
    const template = [...h.sim.state.templates.values()].find((t) => t.globalIdentifier === snap)!;
    expect(template.name).to.equal('web-snap');
    expect(template.accountId).to.equal(h.account.accountId);
    await until('capture done', async () => ((await status(serverId)) === 'ACTIVE' && ((await req('GET', `/servers/${serverId}`)).json as Json).server['OS-EXT-STS:task_state'] === null ? true : undefined));
    const rebuilt = await req('POST', `/servers/${serverId}/action`, { rebuild: { imageRef: snap } });
    expect(rebuilt.status).to.equal(202);
    expect((rebuilt.json as Json).server.status).to.equal('REBUILD');
    await until('ACTIVE after rebuild', async () => ((await status(serverId)) === 'ACTIVE' ? true : undefined));
    expect(((await req('GET', `/servers/${serverId}`)).json as Json).server.image.id).to.equal(snap);
  });

  it('limits and quotas count what the account uses; SoftLayer sets no quota here (-1)', async () => {
    const abs = ((await req('GET', '/limits')).json as Json).limits.absolute;
    expect(abs.totalInstancesUsed).to.equal(1);
    expect(abs.totalCoresUsed).to.equal(1);
    expect(abs.totalRAMUsed).to.equal(2048);
    expect(abs.maxTotalInstances).to.equal(-1);
    const q = ((await req('GET', `/os-quota-sets/${h.account.project}/detail`)).json as Json).quota_set;
    expect(q.instances).to.deep.equal({ limit: -1, in_use: 1, reserved: 0 });
  });

  it('deletes the server: SoftLayer cancels the guest and Nova answers 404', async () => {
    expectStatus(await req('DELETE', `/servers/${serverId}`), 204);
    expectStatus(await req('GET', `/servers/${serverId}`), 404);
    expect(((await req('GET', '/servers')).json as Json).servers.map((s: Json) => s.id)).not.to.include(serverId);
    expectStatus(await req('GET', '/servers/not-a-number'), 404);
  });

  it('bad input is a 400 before SoftLayer is asked: a name SoftLayer cannot take, an unknown flavor or image', async () => {
    const calls = h.sim.calls.length;
    expectStatus(await req('POST', '/servers', { server: { name: 'bad name!', flavorRef: 'sl.1x2x25', imageRef: imageId, networks: 'auto' } }), 400);
    expectStatus(await req('POST', '/servers', { server: { name: 'ok', flavorRef: 'nope', imageRef: imageId, networks: 'auto' } }), 400);
    expect(h.sim.calls.slice(calls).some((c) => c.method === 'createObject')).to.equal(false);
    expectStatus(await req('POST', '/servers', { server: { name: 'ok', flavorRef: 'sl.1x2x25', imageRef: '00000000-0000-4000-8000-000000000000', networks: 'auto' } }), 400);
  });

  it('another SoftLayer account sees none of these servers or keys', async () => {
    const other = h.addAccount();
    const token = await h.gw.login(other.username, other.apiKey, other.project);
    const servers = await h.gw.request('GET', '/compute/v2.1/servers', { token });
    expect((servers.json as Json).servers).to.deep.equal([]);
    const keys = await h.gw.request('GET', '/compute/v2.1/os-keypairs', { token });
    expect((keys.json as Json).keypairs).to.deep.equal([]);
  });
});
