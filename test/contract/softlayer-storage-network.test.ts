/**
 * The SoftLayer backend's Glance, Cinder and Neutron through the gateway,
 * against the SoftLayer simulator, responses checked against the spec.
 */
import { expect } from 'chai';
import { startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';
import type { TestResponse } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, `${res.text} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
}

describe('softlayer: image, volume, network', function () {
  this.timeout(30_000);
  let h: SoftLayerHarness;
  const get = async (path: string, status = 200, headers: Record<string, string> = {}) => {
    const res = await h.gw.request('GET', path, { token: h.token, headers });
    expectStatus(res, status);
    return res.json as Json;
  };

  before(async () => { h = await startSoftLayerGateway({ overrides: { contract: true } }); });
  after(async () => { await h?.close(); });

  describe('Glance over image templates', () => {
    let privateId = '';

    before(async () => {
      // A guest to capture, made through Nova.
      const images = (await get('/compute/v2.1/images')).images as Json[];
      const res = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, body: { server: { name: 'src', flavorRef: 'sl.1x1x25', imageRef: images[0]!.id } } });
      expectStatus(res, 202);
      const id = (res.json as Json).server.id as string;
      for (let i = 0; i < 100 && (await get(`/compute/v2.1/servers/${id}`)).server.status !== 'ACTIVE'; i++) await new Promise((r) => setTimeout(r, 50));
      const snap = await h.gw.request('POST', `/compute/v2.1/servers/${id}/action`, { token: h.token, body: { createImage: { name: 'golden' } }, headers: { 'OpenStack-API-Version': 'compute 2.45' } });
      expectStatus(snap, 202);
      privateId = (snap.json as Json).image_id;
    });

    it('lists public and private templates with their visibility; shows one', async () => {
      const images = (await get('/image/v2/images')).images as Json[];
      const byName = Object.fromEntries(images.map((i) => [i.name, i]));
      expect(byName['ubuntu-22-64-public'].visibility).to.equal('public');
      expect(byName['ubuntu-22-64-public'].protected).to.equal(true);
      expect(byName.golden.visibility).to.equal('private');
      expect(byName.golden.owner).to.equal(String(h.account.accountId));
      expect(byName.golden.id).to.equal(privateId);
      expect((await get(`/image/v2/images?visibility=private`)).images.map((i: Json) => i.name)).to.deep.equal(['golden']);
      const one = await get(`/image/v2/images/${privateId}`);
      expect(one.name).to.equal('golden');
      expect(one.disk_format).to.equal('vhd');
      await get('/image/v2/images/00000000-0000-4000-8000-000000000000', 404);
      await get('/image/v2/schemas/image');
    });

    it('renames with a JSON patch; other attributes are read-only', async () => {
      const patch = (body: unknown) => h.gw.request('PATCH', `/image/v2/images/${privateId}`, {
        token: h.token, raw: JSON.stringify(body), headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
      });
      const res = await patch([{ op: 'replace', path: '/name', value: 'golden-2' }]);
      expectStatus(res, 200);
      expect((res.json as Json).name).to.equal('golden-2');
      expect([...h.sim.state.templates.values()].find((t) => t.globalIdentifier === privateId)!.name).to.equal('golden-2');
      expectStatus(await patch([{ op: 'replace', path: '/min_ram', value: 512 }]), 403);
    });

    it('members are SoftLayer sharing with other accounts', async () => {
      const add = await h.gw.request('POST', `/image/v2/images/${privateId}/members`, { token: h.token, body: { member: '424242' } });
      expectStatus(add, 200);
      expect((add.json as Json).status).to.equal('accepted');
      expect([...h.sim.state.templates.values()].find((t) => t.globalIdentifier === privateId)!.sharedAccountIds).to.deep.equal([424242]);
      expect((await get(`/image/v2/images/${privateId}/members`)).members.map((m: Json) => m.member_id)).to.deep.equal(['424242']);
      expectStatus(await h.gw.request('DELETE', `/image/v2/images/${privateId}/members/424242`, { token: h.token }), 204);
      expect((await get(`/image/v2/images/${privateId}/members`)).members).to.deep.equal([]);
    });

    it('deletes a private template; a public one is protected', async () => {
      const pub = ((await get('/image/v2/images?visibility=public')).images as Json[])[0]!;
      expectStatus(await h.gw.request('DELETE', `/image/v2/images/${pub.id}`, { token: h.token }), 403);
      expectStatus(await h.gw.request('DELETE', `/image/v2/images/${privateId}`, { token: h.token }), 204);
      await get(`/image/v2/images/${privateId}`, 404);
    });

    it('uploads have no SoftLayer counterpart: 501', async () => {
      expectStatus(await h.gw.request('POST', '/image/v2/images', { token: h.token, body: { name: 'x' } }), 501);
    });
  });

  describe('Cinder over block storage', () => {
    it('lists and shows the account\'s iSCSI volumes, with types, zones and limits', async () => {
      const mine = [...h.sim.state.storage.values()].filter((s) => s.accountId === h.account.accountId);
      const vols = (await get('/volume/v3/volumes/detail')).volumes as Json[];
      expect(vols.map((v) => [v.name, v.size, v.availability_zone, v.status, v.volume_type])).to.deep.equal(mine.map((s) => [s.username, s.capacityGb, 'dal10', 'available', 'endurance']));
      const one = (await get(`/volume/v3/volumes/${vols[0]!.id}`)).volume;
      expect(one.name).to.equal(mine[0]!.username);
      await get('/volume/v3/volumes/51000005-0000-4000-8000-00000000ffff', 404);
      expect(((await get('/volume/v3/types')).volume_types as Json[]).map((t) => t.name)).to.deep.equal(['endurance', 'performance']);
      expect(((await get('/volume/v3/os-availability-zone')).availabilityZoneInfo as Json[]).map((z) => z.zoneName)).to.include('dal10');
      expect((await get('/volume/v3/limits')).limits.absolute.totalGigabytesUsed).to.equal(mine[0]!.capacityGb);
      expectStatus(await h.gw.request('POST', '/volume/v3/volumes', { token: h.token, body: { volume: { size: 1 } } }), 501);
      const updated = await h.gw.request('PUT', `/volume/v3/volumes/${vols[0]!.id}`, { token: h.token, body: { volume: { description: 'logs' } } });
      expectStatus(updated, 200);
      expect((updated.json as Json).volume.description).to.equal('logs');
      expect(mine[0]!.notes).to.equal('logs');
      expectStatus(await h.gw.request('PUT', `/volume/v3/volumes/${vols[0]!.id}`, { token: h.token, body: { volume: { name: 'renamed' } } }), 400);
    });

    it('attach and detach are SoftLayer host authorizations on the LUN (allowAccessFromVirtualGuest)', async () => {
      const vol = ((await get('/volume/v3/volumes')).volumes as Json[])[0]!;
      const server = ((await get('/compute/v2.1/servers')).servers as Json[])[0]!;
      const mv = { 'OpenStack-API-Version': 'compute 2.79' };
      const att = await h.gw.request('POST', `/compute/v2.1/servers/${server.id}/os-volume_attachments`, { token: h.token, headers: mv, body: { volumeAttachment: { volumeId: vol.id } } });
      expectStatus(att, 200);
      expect((att.json as Json).volumeAttachment).to.include({ volumeId: vol.id, serverId: server.id });
      const simVol = [...h.sim.state.storage.values()].find((s) => s.username === vol.name)!;
      expect(simVol.allowedGuestIds).to.deep.equal([parseInt(server.id.slice(-12), 16)]);
      expectStatus(await h.gw.request('POST', `/compute/v2.1/servers/${server.id}/os-volume_attachments`, { token: h.token, headers: mv, body: { volumeAttachment: { volumeId: vol.id } } }), 409);
      expect((await get(`/compute/v2.1/servers/${server.id}/os-volume_attachments`, 200, mv)).volumeAttachments.map((a: Json) => a.volumeId)).to.deep.equal([vol.id]);
      expect((await get(`/compute/v2.1/servers/${server.id}`, 200, mv)).server['os-extended-volumes:volumes_attached']).to.deep.equal([{ id: vol.id, delete_on_termination: false }]);
      const shown = (await get(`/volume/v3/volumes/${vol.id}`)).volume;
      expect(shown.status).to.equal('in-use');
      expect(shown.attachments.map((a: Json) => a.server_id)).to.deep.equal([server.id]);
      expect((await get(`/compute/v2.1/os-volumes/${vol.id}`, 200, { 'OpenStack-API-Version': 'compute 2.35' })).volume.status).to.equal('in-use');
      expectStatus(await h.gw.request('DELETE', `/compute/v2.1/servers/${server.id}/os-volume_attachments/${vol.id}`, { token: h.token, headers: mv }), 202);
      expect(simVol.allowedGuestIds).to.deep.equal([]);
      expect((await get(`/volume/v3/volumes/${vol.id}`)).volume.status).to.equal('available');
    });
  });

  describe('Neutron over VLANs, subnets and network components', () => {
    it('networks are VLANs (public ones external), subnets their subnets', async () => {
      const mine = [...h.sim.state.vlans.values()].filter((v) => v.accountId === h.account.accountId);
      const nets = (await get('/network/v2.0/networks')).networks as Json[];
      expect(nets).to.have.length(mine.length);
      const pub = nets.find((n) => n['provider:segmentation_id'] === mine.find((v) => v.networkSpace === 'PUBLIC')!.vlanNumber)!;
      expect(pub['router:external']).to.equal(true);
      expect((await get(`/network/v2.0/networks/${pub.id}`)).network.name).to.equal(pub.name);
      expect(((await get('/network/v2.0/networks?router:external=true')).networks as Json[]).every((n) => n['router:external'])).to.equal(true);
      const subnet = (await get(`/network/v2.0/subnets/${pub.subnets[0]}`)).subnet;
      const simSubnet = [...h.sim.state.subnets.values()].find((s) => s.vlanId === mine.find((v) => v.networkSpace === 'PUBLIC')!.id)!;
      expect(subnet.cidr).to.equal(`${simSubnet.networkIdentifier}/${simSubnet.cidr}`);
      expect(subnet.gateway_ip).to.equal(simSubnet.gateway);
      expect(subnet.network_id).to.equal(pub.id);
      expect((await get(`/network/v2.0/subnets?network_id=${pub.id}`)).subnets).to.have.length(1);
      await get('/network/v2.0/networks/51000002-0000-4000-8000-00000000ffff', 404);
      expectStatus(await h.gw.request('POST', '/network/v2.0/networks', { token: h.token, body: { network: { name: 'n' } } }), 501);
    });

    it('ports are the guests\' network components, tied to servers and subnets', async () => {
      const servers = (await get('/compute/v2.1/servers')).servers as Json[];
      expect(servers.length).to.be.greaterThan(0);
      const ports = (await get(`/network/v2.0/ports?device_id=${servers[0]!.id}`)).ports as Json[];
      expect(ports).to.have.length(2);
      for (const p of ports) {
        expect(p.fixed_ips).to.have.length(1);
        await get(`/network/v2.0/subnets/${p.fixed_ips[0].subnet_id}`);
        expect((await get(`/network/v2.0/ports/${p.id}`)).port.mac_address).to.equal(p.mac_address);
      }
      expect(((await get('/network/v2.0/availability_zones')).availability_zones as Json[]).map((z) => z.name)).to.include('wdc07');
    });
  });

  describe('Neutron security groups over SoftLayer_Network_SecurityGroup', () => {
    const post = (path: string, body: unknown) => h.gw.request('POST', `/network/v2.0${path}`, { token: h.token, body });

    it('create, rename, add and remove rules, delete', async () => {
      const created = await post('/security-groups', { security_group: { name: 'web', description: 'web servers' } });
      expectStatus(created, 201);
      const sg = (created.json as Json).security_group;
      const simGroup = [...h.sim.state.securityGroups.values()].find((g) => g.name === 'web')!;
      expect(simGroup.accountId).to.equal(h.account.accountId);
      expect(sg.security_group_rules).to.deep.equal([]);

      const rule = await post('/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_ip_prefix: '0.0.0.0/0' } });
      expectStatus(rule, 201);
      const r = (rule.json as Json).security_group_rule;
      expect(r).to.include({ direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443, security_group_id: sg.id });
      expect(simGroup.rules.map((x) => [x.direction, x.protocol, x.portRangeMin, x.remoteIp])).to.deep.equal([['ingress', 'tcp', 443, '0.0.0.0/0']]);
      expectStatus(await post('/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443, remote_ip_prefix: '0.0.0.0/0' } }), 409);
      expectStatus(await post('/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'gre' } }), 400);

      expect((await get(`/network/v2.0/security-group-rules/${r.id}`)).security_group_rule.id).to.equal(r.id);
      expect(((await get(`/network/v2.0/security-group-rules?security_group_id=${sg.id}`)).security_group_rules as Json[]).map((x) => x.id)).to.deep.equal([r.id]);
      const renamed = await h.gw.request('PUT', `/network/v2.0/security-groups/${sg.id}`, { token: h.token, body: { security_group: { name: 'web-2' } } });
      expectStatus(renamed, 200);
      expect(simGroup.name).to.equal('web-2');
      expect(((await get('/network/v2.0/security-groups')).security_groups as Json[]).map((g) => g.name)).to.include('web-2');

      expectStatus(await h.gw.request('DELETE', `/network/v2.0/security-group-rules/${r.id}`, { token: h.token }), 204);
      expect(simGroup.rules).to.deep.equal([]);
      expectStatus(await h.gw.request('DELETE', `/network/v2.0/security-groups/${sg.id}`, { token: h.token }), 204);
      await get(`/network/v2.0/security-groups/${sg.id}`, 404);
    });

    it('a server\'s security groups are SoftLayer bindings of its interfaces: at create, add/remove, per port', async () => {
      const sg = ((await post('/security-groups', { security_group: { name: 'app' } })).json as Json).security_group;
      const images = (await get('/compute/v2.1/images')).images as Json[];
      const mv = { 'OpenStack-API-Version': 'compute 2.79' };
      const created = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, headers: mv, body: { server: { name: 'sg-1', flavorRef: 'sl.1x1x25', imageRef: images[0]!.id, networks: 'auto', security_groups: [{ name: 'app' }] } } });
      expectStatus(created, 202);
      const id = (created.json as Json).server.id as string;
      const guestId = parseInt(id.slice(-12), 16);
      const simGroup = [...h.sim.state.securityGroups.values()].find((g) => g.name === 'app')!;
      const boundTo = () => [...h.sim.state.bindings].filter(([c, set]) => Math.floor(c / 10) === guestId && set.has(simGroup.id)).map(([c]) => c % 10).sort();
      expect(boundTo()).to.deep.equal([0, 1]);
      expect(((await get(`/compute/v2.1/servers/${id}/os-security-groups`)).security_groups as Json[]).map((g) => g.name)).to.deep.equal(['app']);
      const ports = (await get(`/network/v2.0/ports?device_id=${id}`)).ports as Json[];
      expect(ports.map((p) => p.security_groups)).to.deep.equal([[sg.id], [sg.id]]);

      expectStatus(await h.gw.request('DELETE', `/network/v2.0/security-groups/${sg.id}`, { token: h.token }), 409);
      expectStatus(await h.gw.request('POST', `/compute/v2.1/servers/${id}/action`, { token: h.token, body: { removeSecurityGroup: { name: 'app' } } }), 202);
      expect(boundTo()).to.deep.equal([]);
      expectStatus(await h.gw.request('POST', `/compute/v2.1/servers/${id}/action`, { token: h.token, body: { addSecurityGroup: { name: 'app' } } }), 202);
      expect(boundTo()).to.deep.equal([0, 1]);
      const updated = await h.gw.request('PUT', `/network/v2.0/ports/${ports[0]!.id}`, { token: h.token, body: { port: { security_groups: [] } } });
      expectStatus(updated, 200);
      expect((updated.json as Json).port.security_groups).to.deep.equal([]);
      expect(boundTo()).to.have.length(1);
      expectStatus(await h.gw.request('PUT', `/network/v2.0/ports/${ports[0]!.id}`, { token: h.token, body: { port: { name: 'x' } } }), 400);
    });
  });
});
