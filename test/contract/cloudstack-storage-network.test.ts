/**
 * The CloudStack backend's Glance, Cinder and Neutron through the gateway,
 * against the CloudStack simulator, responses checked against the specs:
 * templates registered from a URL, volume types (disk offerings), snapshots,
 * networks/subnets/ports, security group rules both ways, floating IPs.
 */
import { expect } from 'chai';
import { startCloudStackGateway, type CloudStackHarness } from '../helpers/cloudstack.js';
import type { TestResponse } from '../helpers/gateway.js';
import { until } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, `${res.text} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
}

describe('cloudstack: images, volumes, networks', function () {
  this.timeout(30_000);
  let h: CloudStackHarness;
  const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    h.gw.request(method, path, { token: h.token, headers, ...(body !== undefined ? { body } : {}) });
  const zone = () => h.sim.state.zones[0]!;

  before(async () => { h = await startCloudStackGateway({ jobMs: 300, overrides: { contract: true } }); });
  after(async () => { await h?.close(); });

  it('image create registers a template from cloudstack_url; saving until downloaded; delete is deleteTemplate', async () => {
    const res = await req('POST', '/image/v2/images', {
      name: 'alpine', disk_format: 'qcow2', container_format: 'bare', cloudstack_url: 'https://images.example/alpine.qcow2', os_type: 'Other Linux (64-bit)',
    });
    expectStatus(res, 201);
    const img = res.json as Json;
    expect(img).to.include({ name: 'alpine', status: 'saving', visibility: 'private', disk_format: 'qcow2' });
    const t = h.sim.state.templates.get(img.id)!;
    expect([t.url, t.format, t.hypervisor, t.zonename, t.ostypename]).to.deep.equal(['https://images.example/alpine.qcow2', 'QCOW2', 'KVM', zone().name, 'Other Linux (64-bit)']);
    await until('active', async () => (((await req('GET', `/image/v2/images/${img.id as string}`)).json as Json).status === 'active' ? true : undefined));
    const patched = await h.gw.request('PATCH', `/image/v2/images/${img.id as string}`, {
      token: h.token, headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
      raw: JSON.stringify([{ op: 'replace', path: '/name', value: 'alpine-3' }, { op: 'add', path: '/description', value: 'Alpine 3' }]),
    });
    expectStatus(patched, 200);
    expect(patched.json as Json).to.include({ name: 'alpine-3', description: 'Alpine 3' });
    expect([t.name, t.displaytext]).to.deep.equal(['alpine-3', 'Alpine 3']);
    const schema = await req('GET', '/image/v2/schemas/image');
    expectStatus(schema, 200);
    expect((schema.json as Json).properties).to.have.property('cloudstack_url');
    expectStatus(await req('GET', '/image/v2/schemas/images'), 200);
    const plain = await req('POST', '/image/v2/images', { name: 'no-url', disk_format: 'qcow2', container_format: 'bare' });
    expectStatus(plain, 400);
    expect(plain.text).to.include('cloudstack_url');
    const pub = [...h.sim.state.templates.values()].find((x) => x.ispublic)!;
    expectStatus(await req('DELETE', `/image/v2/images/${pub.id as string}`), 403);
    expectStatus(await req('DELETE', `/image/v2/images/${img.id as string}`), 204);
    // deleteTemplate is a job: the image answers 404 once CloudStack has finished it.
    await until('image gone', async () => ((await req('GET', `/image/v2/images/${img.id as string}`)).status === 404 ? true : undefined));
    expect(h.sim.state.templates.has(img.id)).to.equal(false);
  });

  it('ISOs are images of disk_format iso: listed, registered (registerIso), deleted (deleteIso); a server cannot boot one', async () => {
    const list = ((await req('GET', '/image/v2/images?disk_format=iso')).json as Json).images as Json[];
    expect(list.map((i) => i.name)).to.deep.equal([...h.sim.state.isos.values()].map((i) => i.name));
    const res = await req('POST', '/image/v2/images', { name: 'rescue', disk_format: 'iso', container_format: 'bare', cloudstack_url: 'http://images.example/rescue.iso' });
    expectStatus(res, 201);
    const iso = res.json as Json;
    expect(h.sim.state.isos.get(iso.id)).to.include({ url: 'http://images.example/rescue.iso', bootable: true });
    const boot = await req('POST', '/compute/v2.1/servers', { server: { name: 'from-iso', flavorRef: h.sim.state.serviceOfferings[0]!.id, imageRef: list[0]!.id } });
    expectStatus(boot, 400);
    expect(boot.text).to.include('ISO');
    expectStatus(await req('DELETE', `/image/v2/images/${iso.id as string}`), 204);
    await until('ISO gone', async () => ((await req('GET', `/image/v2/images/${iso.id as string}`)).status === 404 ? true : undefined));
  });

  it('volume types are disk offerings; a fixed-size type takes its size only', async () => {
    const types = ((await req('GET', '/volume/v3/types')).json as Json).volume_types as Json[];
    expect(types.map((t) => t.name)).to.deep.equal(h.sim.state.diskOfferings.map((o) => o.name));
    const wrong = await req('POST', '/volume/v3/volumes', { volume: { size: 3, volume_type: 'Small' } });
    expectStatus(wrong, 400);
    const ok = await req('POST', '/volume/v3/volumes', { volume: { size: 5, volume_type: 'Small', name: 'small-one' } });
    expectStatus(ok, 202);
    expect((ok.json as Json).volume).to.include({ status: 'creating', size: 5, volume_type: 'Small' });
    const id = (ok.json as Json).volume.id as string;
    await until('available', async () => (((await req('GET', `/volume/v3/volumes/${id}`)).json as Json).volume.status === 'available' ? true : undefined));
    // os-extend is resizeVolume: extending while the job runs, then the new size.
    expectStatus(await req('POST', `/volume/v3/volumes/${id}/action`, { 'os-extend': { new_size: 3 } }), 400);
    expectStatus(await req('POST', `/volume/v3/volumes/${id}/action`, { 'os-extend': { new_size: 9 } }), 202);
    expect(((await req('GET', `/volume/v3/volumes/${id}`)).json as Json).volume.status).to.equal('extending');
    const grown = await until('extended', async () => { const v = ((await req('GET', `/volume/v3/volumes/${id}`)).json as Json).volume; return v.status === 'available' ? v : undefined; });
    expect(grown.size).to.equal(9);
    // Nova's volume proxy (up to 2.35) shows the same volume.
    const proxied = await req('GET', `/compute/v2.1/os-volumes/${id}`, undefined, { 'OpenStack-API-Version': 'compute 2.35' });
    expectStatus(proxied, 200);
    expect((proxied.json as Json).volume).to.include({ id, size: 9, status: 'available', displayName: 'small-one' });
    // A fixed-size offering cannot grow: the volume moved to the custom-size one.
    expect(grown.volume_type).to.equal(h.sim.state.diskOfferings.find((o) => o.iscustomized)!.name);
  });

  it('snapshots: create (job), list, a volume from it, delete', async () => {
    const vol = await req('POST', '/volume/v3/volumes', { volume: { size: 4, name: 'src' } });
    expectStatus(vol, 202);
    const volumeId = (vol.json as Json).volume.id as string;
    await until('available', async () => (((await req('GET', `/volume/v3/volumes/${volumeId}`)).json as Json).volume.status === 'available' ? true : undefined));
    const snap = await req('POST', '/volume/v3/snapshots', { snapshot: { volume_id: volumeId, name: 'snap-1' } });
    expectStatus(snap, 202);
    const snapId = (snap.json as Json).snapshot.id as string;
    expect((snap.json as Json).snapshot).to.include({ status: 'creating', volume_id: volumeId, size: 4 });
    await until('snapshot available', async () => (((await req('GET', `/volume/v3/snapshots/${snapId}`)).json as Json).snapshot.status === 'available' ? true : undefined));
    const list = ((await req('GET', '/volume/v3/snapshots/detail')).json as Json).snapshots as Json[];
    expect(list.map((s) => s.name)).to.deep.equal(['snap-1']);
    const restored = await req('POST', '/volume/v3/volumes', { volume: { snapshot_id: snapId, name: 'restored' } });
    expectStatus(restored, 202);
    expect((restored.json as Json).volume).to.include({ snapshot_id: snapId, size: 4 });
    expectStatus(await req('DELETE', `/volume/v3/snapshots/${snapId}`), 202);
    await until('snapshot gone', async () => ((await req('GET', `/volume/v3/snapshots/${snapId}`)).status === 404 ? true : undefined));
  });

  it('networks: the account\'s guest networks (one subnet each) and each zone\'s external public network', async () => {
    const nets = ((await req('GET', '/network/v2.0/networks')).json as Json).networks as Json[];
    const guest = [...h.sim.state.networks.values()].filter((n) => n.account === h.account.account);
    expect(nets.filter((n) => !n['router:external']).map((n) => n.id)).to.deep.equal(guest.map((n) => n.id));
    expect(nets.filter((n) => n['router:external']).map((n) => n.name)).to.deep.equal(h.sim.state.zones.map((z) => `public-${z.name as string}`));
    const subnets = ((await req('GET', `/network/v2.0/subnets?network_id=${guest[0]!.id as string}`)).json as Json).subnets as Json[];
    expect(subnets.map((s) => [s.cidr, s.gateway_ip])).to.deep.equal([[guest[0]!.cidr, guest[0]!.gateway]]);
    expectStatus(await req('GET', `/network/v2.0/subnets/${subnets[0]!.id as string}`), 200);
    expectStatus(await req('POST', '/network/v2.0/networks', { network: { name: 'x' } }), 501);
  });

  it('security group rules: ingress from a group, egress to a CIDR; ports of a server carry its groups', async () => {
    const web = await req('POST', '/network/v2.0/security-groups', { security_group: { name: 'web' } });
    expectStatus(web, 201);
    const webId = (web.json as Json).security_group.id as string;
    const groups = ((await req('GET', '/network/v2.0/security-groups')).json as Json).security_groups as Json[];
    const def = groups.find((g) => g.name === 'default')!;
    const fromGroup = await req('POST', '/network/v2.0/security-group-rules', { security_group_rule: { security_group_id: webId, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 443, remote_group_id: def.id } });
    expectStatus(fromGroup, 201);
    expect((fromGroup.json as Json).security_group_rule).to.include({ remote_group_id: def.id, port_range_min: 80, port_range_max: 443, remote_ip_prefix: null });
    const egress = await req('POST', '/network/v2.0/security-group-rules', { security_group_rule: { security_group_id: webId, direction: 'egress', protocol: 'udp', port_range_min: 53, remote_ip_prefix: '192.0.2.0/24' } });
    expectStatus(egress, 201);
    const g = h.sim.state.securityGroups.get(webId)!;
    expect((g.egressrule as Json[]).map((r) => [r.protocol, r.startport, r.endport, r.cidr])).to.deep.equal([['udp', 53, 53, '192.0.2.0/24']]);
    expectStatus(await req('DELETE', `/network/v2.0/security-groups/${def.id as string}`), 409);

    const images = ((await req('GET', '/image/v2/images')).json as Json).images as Json[];
    const srv = await req('POST', '/compute/v2.1/servers', { server: { name: 'sg-vm', flavorRef: h.sim.state.serviceOfferings[0]!.id, imageRef: images.find((i) => i.visibility === 'public' && i.disk_format !== 'iso')!.id, security_groups: [{ name: 'web' }] } });
    expectStatus(srv, 202);
    const serverId = (srv.json as Json).server.id as string;
    const ports = ((await req('GET', `/network/v2.0/ports?device_id=${serverId}`)).json as Json).ports as Json[];
    expect(ports).to.have.length(1);
    expect(ports[0]!.security_groups).to.deep.equal([webId]);
    expectStatus(await req('DELETE', `/network/v2.0/security-groups/${webId}`), 409);
    // Adding a group: updateVirtualMachine securitygroupids, for a stopped server only.
    await until('ACTIVE', async () => (((await req('GET', `/compute/v2.1/servers/${serverId}`)).json as Json).server.status === 'ACTIVE' ? true : undefined));
    expectStatus(await req('POST', `/compute/v2.1/servers/${serverId}/action`, { addSecurityGroup: { name: 'default' } }), 409);
    expectStatus(await req('POST', `/compute/v2.1/servers/${serverId}/action`, { 'os-stop': null }), 202);
    await until('SHUTOFF', async () => (((await req('GET', `/compute/v2.1/servers/${serverId}`)).json as Json).server.status === 'SHUTOFF' ? true : undefined));
    expectStatus(await req('POST', `/compute/v2.1/servers/${serverId}/action`, { addSecurityGroup: { name: 'default' } }), 202);
    const listed = ((await req('GET', `/compute/v2.1/servers/${serverId}/os-security-groups`)).json as Json).security_groups as Json[];
    expect(listed.map((g) => g.name).sort()).to.deep.equal(['default', 'web']);
    expectStatus(await req('POST', `/compute/v2.1/servers/${serverId}/action`, { removeSecurityGroup: { name: 'web' } }), 202);
    expect(h.sim.state.vms.get(serverId)!.securitygroup.map((g) => g.name)).to.deep.equal(['default']);
    expectStatus(await req('POST', `/compute/v2.1/servers/${serverId}/action`, { 'os-start': null }), 202);
  });

  it('floating IPs: create on a public network, associate to a port (static NAT), disassociate, release', async () => {
    const nets = ((await req('GET', '/network/v2.0/networks?router:external=true')).json as Json).networks as Json[];
    const fip = await req('POST', '/network/v2.0/floatingips', { floatingip: { floating_network_id: nets[0]!.id } });
    expectStatus(fip, 201);
    const f = (fip.json as Json).floatingip;
    expect(f).to.include({ status: 'DOWN', port_id: null });
    const vm = [...h.sim.state.vms.values()].find((v) => v.name === 'sg-vm')!;
    await until('vm running', async () => (((await req('GET', `/compute/v2.1/servers/${vm.id}`)).json as Json).server.status === 'ACTIVE' ? true : undefined));
    const port = (((await req('GET', `/network/v2.0/ports?device_id=${vm.id}`)).json as Json).ports as Json[])[0]!;
    const set = await req('PUT', `/network/v2.0/floatingips/${f.id as string}`, { floatingip: { port_id: port.id } });
    expectStatus(set, 200);
    expect((set.json as Json).floatingip).to.include({ port_id: port.id, fixed_ip_address: vm.nic[0]!.ipaddress, status: 'ACTIVE' });
    expect(h.sim.state.publicIps.get(f.id)).to.include({ isstaticnat: true, virtualmachineid: vm.id });
    const unset = await req('PUT', `/network/v2.0/floatingips/${f.id as string}`, { floatingip: { port_id: null } });
    expectStatus(unset, 200);
    await until('NAT gone', async () => (h.sim.state.publicIps.get(f.id)!.isstaticnat ? (await req('GET', `/network/v2.0/floatingips/${f.id as string}`), undefined) : true));
    expectStatus(await req('DELETE', `/network/v2.0/floatingips/${f.id as string}`), 204);
    expectStatus(await req('GET', `/network/v2.0/floatingips/${f.id as string}`), 404);
  });
});
