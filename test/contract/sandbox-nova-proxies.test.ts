/**
 * Nova's proxy APIs in the sandbox (images, os-security-groups, os-floating-ips,
 * os-networks, os-volumes, os-snapshots) and the smaller admin APIs (os-hosts,
 * quota classes, extensions, audit log, server password), every response
 * checked against the spec (contract mode).
 */
import { expect } from 'chai';
import { startGateway, type Harness, type TestResponse } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, shapes asserted by the tests

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sandbox: Nova proxy APIs', function () {
  this.timeout(60_000);
  let h: Harness;
  let imageId: string;

  const old = { 'openstack-api-version': 'compute 2.1' };
  async function call(method: string, path: string, init: Parameters<Harness['request']>[2] = {}): Promise<TestResponse> {
    return h.request(method, path, { ...init, headers: { ...old, ...init.headers } });
  }
  async function ok(method: string, path: string, init: Parameters<Harness['request']>[2] = {}, status = 200): Promise<Json> {
    const r = await call(method, path, init);
    expect(r.status, `${method} ${path}: ${r.text} ${r.headers.get('x-stackgate-contract-violation') ?? ''}`).to.equal(status);
    return (r.json as Json) ?? {};
  }
  async function fails(method: string, path: string, status: number, init: Parameters<Harness['request']>[2] = {}): Promise<Json> {
    const r = await call(method, path, init);
    expect(r.status, `${method} ${path}: ${r.text}`).to.equal(status);
    return r.json as Json;
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 50 } });
    const r = await h.request('POST', '/image/v2/images', { body: { name: 'proxy-image', disk_format: 'qcow2', container_format: 'bare', visibility: 'public', min_ram: 64, os_distro: 'cirros' } });
    expect(r.status, r.text).to.equal(201);
    imageId = (r.json as Json).id;
    const up = await h.request('PUT', `/image/v2/images/${imageId}/file`, { raw: 'x'.repeat(2048), headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status, up.text).to.equal(204);
  });
  after(() => h.close());

  describe('images', () => {
    it('shows a Glance image as Nova does: status, sizes, metadata, three links', async () => {
      const img = (await ok('GET', `/compute/v2.1/images/${imageId}`)).image;
      expect(img).to.include({ id: imageId, name: 'proxy-image', status: 'ACTIVE', progress: 100, minRam: 64, minDisk: 0, 'OS-EXT-IMG-SIZE:size': 2048 });
      expect(img.metadata).to.deep.equal({ os_distro: 'cirros' });
      expect(img.created).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(img.links.map((l: Json) => l.rel)).to.deep.equal(['self', 'bookmark', 'alternate']);
    });

    it('lists with Nova filters, and is gone from 2.36', async () => {
      const names = (await ok('GET', '/compute/v2.1/images')).images.map((i: Json) => i.name);
      expect(names).to.include('proxy-image');
      expect((await ok('GET', '/compute/v2.1/images/detail?minRam=65')).images).to.have.length(0);
      expect((await ok('GET', '/compute/v2.1/images/detail?status=ACTIVE&name=proxy-image')).images).to.have.length(1);
      await fails('GET', '/compute/v2.1/images', 404, { headers: { 'openstack-api-version': 'compute 2.36' } });
    });

    it('answers 404 for unknown images, their metadata and keys', async () => {
      await fails('GET', '/compute/v2.1/images/00000000-0000-0000-0000-000000000000', 404);
      await fails('DELETE', '/compute/v2.1/images/-1', 404);
      await fails('GET', '/compute/v2.1/images/00000000-0000-0000-0000-000000000000/metadata', 404);
      await fails('GET', `/compute/v2.1/images/${imageId}/metadata/nope`, 404);
      await fails('DELETE', `/compute/v2.1/images/${imageId}/metadata/nope`, 404);
    });

    it('sets, replaces and deletes metadata as Glance properties', async () => {
      const r = await h.request('POST', '/image/v2/images', { body: { name: 'meta', disk_format: 'raw', container_format: 'bare' } });
      const id = (r.json as Json).id;
      expect((await ok('POST', `/compute/v2.1/images/${id}/metadata`, { body: { metadata: { a: '1', b: '2' } } })).metadata).to.deep.equal({ a: '1', b: '2' });
      expect((await ok('PUT', `/compute/v2.1/images/${id}/metadata`, { body: { metadata: { c: '3' } } })).metadata).to.deep.equal({ c: '3' });
      expect((await ok('PUT', `/compute/v2.1/images/${id}/metadata/d`, { body: { meta: { d: '4' } } })).meta).to.deep.equal({ d: '4' });
      await fails('PUT', `/compute/v2.1/images/${id}/metadata/d`, 400, { body: { meta: { e: '5' } } });
      expect((await ok('GET', `/compute/v2.1/images/${id}/metadata/c`)).meta).to.deep.equal({ c: '3' });
      await ok('DELETE', `/compute/v2.1/images/${id}/metadata/c`, {}, 204);
      expect((await ok('GET', `/compute/v2.1/images/${id}/metadata`)).metadata).to.deep.equal({ d: '4' });
      const glance = (await h.request('GET', `/image/v2/images/${id}`)).json as Json;
      expect(glance.d).to.equal('4');
      expect(glance).not.to.have.property('c');
      await ok('DELETE', `/compute/v2.1/images/${id}`, {}, 204);
      await fails('GET', `/compute/v2.1/images/${id}`, 404);
    });
  });

  describe('security groups', () => {
    it('creates, shows, updates and deletes through Neutron, with Nova-shaped rules', async () => {
      const g = (await ok('POST', '/compute/v2.1/os-security-groups', { body: { security_group: { name: ' web ', description: 'd' } } })).security_group;
      expect(g).to.include({ name: ' web ', description: 'd' });
      expect(g.rules).to.deep.equal([]);
      const peer = (await ok('POST', '/compute/v2.1/os-security-groups', { body: { security_group: { name: 'peer', description: 'p' } } })).security_group;
      const rule = (await ok('POST', '/compute/v2.1/os-security-group-rules', { body: { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' } } })).security_group_rule;
      expect(rule).to.include({ parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22 });
      expect(rule.ip_range).to.deep.equal({ cidr: '10.0.0.0/8' });
      const byGroup = (await ok('POST', '/compute/v2.1/os-security-group-rules', { body: { security_group_rule: { parent_group_id: g.id, ip_protocol: 'icmp', from_port: -1, to_port: -1, group_id: peer.id } } })).security_group_rule;
      expect(byGroup.group).to.deep.equal({ name: 'peer', tenant_id: g.tenant_id });
      await fails('POST', '/compute/v2.1/os-security-group-rules', 400, { body: { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' } } });
      const shown = (await ok('GET', `/compute/v2.1/os-security-groups/${g.id}`)).security_group;
      expect(shown.rules.map((r: Json) => r.id).sort()).to.deep.equal([rule.id, byGroup.id].sort());
      // Deleting the peer group takes its rules with it.
      await ok('DELETE', `/compute/v2.1/os-security-groups/${peer.id}`, {}, 202);
      expect((await ok('GET', `/compute/v2.1/os-security-groups/${g.id}`)).security_group.rules).to.have.length(1);
      const upd = (await ok('PUT', `/compute/v2.1/os-security-groups/${g.id}`, { body: { security_group: { name: 'web2', description: 'd2' } } })).security_group;
      expect(upd).to.include({ name: 'web2', description: 'd2' });
      await ok('DELETE', `/compute/v2.1/os-security-group-rules/${rule.id}`, {}, 202);
      await ok('DELETE', `/compute/v2.1/os-security-groups/${g.id}`, {}, 202);
      await fails('GET', `/compute/v2.1/os-security-groups/${g.id}`, 404);
    });

    it('refuses what Nova refuses', async () => {
      // A member's default group (an admin may remove one, as in Neutron).
      const p = (await ok('POST', '/identity/v3/projects', { body: { project: { name: 'sg-member', domain_id: 'default' } } }, 201)).project;
      const u = (await ok('POST', '/identity/v3/users', { body: { user: { name: 'sg-user', password: 'sg-pass', domain_id: 'default', default_project_id: p.id } } }, 201)).user;
      const roles = (await ok('GET', '/identity/v3/roles?name=member')).roles as Json[];
      await ok('PUT', `/identity/v3/projects/${p.id}/users/${u.id}/roles/${roles[0]!.id}`, {}, 204);
      const member = await h.login('sg-user', 'sg-pass', 'sg-member');
      const groups = (await ok('GET', '/compute/v2.1/os-security-groups', { token: member })).security_groups as Json[];
      const def = groups.find((x) => x.name === 'default')!;
      expect(def, 'the default group is listed').to.exist;
      await fails('DELETE', `/compute/v2.1/os-security-groups/${def.id}`, 400, { token: member });
      const missing = '7d4e1d3c-3209-4d6d-b020-986304ebad1f';
      await fails('DELETE', `/compute/v2.1/os-security-groups/${missing}`, 404);
      await fails('PUT', `/compute/v2.1/os-security-groups/${missing}`, 404, { body: { security_group: { name: 'n', description: 'd' } } });
      await fails('DELETE', '/compute/v2.1/os-security-groups/', 404);
      await fails('POST', '/compute/v2.1/os-security-group-rules', 404, { body: { security_group_rule: { parent_group_id: missing, ip_protocol: 'tcp', from_port: 22, to_port: 22 } } });
      await fails('POST', '/compute/v2.1/os-security-group-rules', 400, { body: { security_group_rule: { parent_group_id: 'not-a-uuid', ip_protocol: 'tcp', from_port: 22, to_port: 22 } } });
      for (const [proto, from, to] of [['tcp', 22, 21], ['tcp', 70000, 22], ['999x', 22, 22]] as const) {
        await fails('POST', '/compute/v2.1/os-security-group-rules', 400, { body: { security_group_rule: { parent_group_id: def.id, ip_protocol: proto, from_port: from, to_port: to } } });
      }
      await fails('DELETE', `/compute/v2.1/os-security-group-rules/${missing}`, 404);
    });
  });

  describe('floating IPs and networks', () => {
    it('allocates from the pool, shows, lists and releases', async () => {
      const pools = (await ok('GET', '/compute/v2.1/os-floating-ip-pools')).floating_ip_pools;
      expect(pools).to.deep.equal([{ name: 'public' }]);
      const fip = (await ok('POST', '/compute/v2.1/os-floating-ips', { body: { pool: 'public' } })).floating_ip;
      expect(fip).to.include({ pool: 'public', fixed_ip: null, instance_id: null });
      expect(fip.ip).to.match(/^172\.24\.4\./);
      expect((await ok('GET', `/compute/v2.1/os-floating-ips/${fip.id}`)).floating_ip).to.deep.equal(fip);
      expect((await ok('GET', '/compute/v2.1/os-floating-ips')).floating_ips).to.deep.include(fip);
      await ok('DELETE', `/compute/v2.1/os-floating-ips/${fip.id}`, {}, 202);
      await fails('GET', `/compute/v2.1/os-floating-ips/${fip.id}`, 404);
      await fails('POST', '/compute/v2.1/os-floating-ips', 404, { body: { pool: 'nowhere' } });
    });

    it('answers 404 for addresses that are no floating IP of the caller', async () => {
      const net = ((await h.request('POST', '/network/v2.0/networks', { body: { network: { name: 'fipnet' } } })).json as Json).network;
      await h.request('POST', '/network/v2.0/subnets', { body: { subnet: { network_id: net.id, ip_version: 4, cidr: '10.9.0.0/24' } } });
      const s = (await ok('POST', '/compute/v2.1/servers', { body: { server: { name: 'fip', flavorRef: '1', imageRef: imageId, networks: [{ uuid: net.id }] } } }, 202)).server;
      await sleep(100);
      await fails('POST', `/compute/v2.1/servers/${s.id}/action`, 404, { body: { addFloatingIp: { address: '0.0.0.0' } } });
      await fails('POST', `/compute/v2.1/servers/${s.id}/action`, 404, { body: { removeFloatingIp: { address: '0.0.0.0' } } });
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });

    it('shows Neutron networks as tenant networks', async () => {
      const r = await h.request('POST', '/network/v2.0/networks', { body: { network: { name: 'tn' } } });
      const id = (r.json as Json).network.id;
      expect((await ok('GET', '/compute/v2.1/os-tenant-networks')).networks).to.deep.include({ id, cidr: 'None', label: 'tn' });
      expect((await ok('GET', `/compute/v2.1/os-tenant-networks/${id}`)).network.label).to.equal('tn');
      expect((await ok('GET', '/compute/v2.1/os-networks')).networks.map((n: Json) => n.label)).to.include('tn');
      await fails('GET', '/compute/v2.1/os-tenant-networks/00000000-0000-0000-0000-000000000000', 404);
    });
  });

  describe('volumes and snapshots', () => {
    it('creates, shows, lists and deletes Cinder volumes and snapshots in Nova shape', async () => {
      const v = (await ok('POST', '/compute/v2.1/os-volumes', { body: { volume: { size: 1, display_name: 'nv', metadata: { k: 'v' } } } })).volume;
      expect(v).to.include({ size: 1, displayName: 'nv', snapshotId: null });
      expect(v.attachments).to.deep.equal([{}]);
      expect(v.metadata).to.deep.equal({ k: 'v' });
      let shown: Json = {};
      for (let i = 0; i < 40; i++) {
        shown = (await ok('GET', `/compute/v2.1/os-volumes/${v.id}`)).volume;
        if (shown.status === 'available') break;
        await sleep(25);
      }
      expect(shown.status).to.equal('available');
      expect((await ok('GET', '/compute/v2.1/os-volumes/detail?limit=1')).volumes).to.have.length(1);
      const snap = (await ok('POST', '/compute/v2.1/os-snapshots', { body: { snapshot: { volume_id: v.id, display_name: 'ns' } } })).snapshot;
      expect(snap).to.include({ volumeId: v.id, displayName: 'ns', size: 1 });
      expect((await ok('GET', '/compute/v2.1/os-snapshots')).snapshots.map((s: Json) => s.id)).to.include(snap.id);
      await fails('DELETE', `/compute/v2.1/os-volumes/${v.id}`, 400);
      for (let i = 0; i < 40 && (await ok('GET', `/compute/v2.1/os-snapshots/${snap.id}`)).snapshot.status !== 'available'; i++) await sleep(25);
      await ok('DELETE', `/compute/v2.1/os-snapshots/${snap.id}`, {}, 202);
    });

    it('refuses bad sizes and unknown volumes', async () => {
      await fails('POST', '/compute/v2.1/os-volumes', 400, { body: { volume: { size: 0 } } });
      await fails('POST', '/compute/v2.1/os-volumes', 400, { body: { volume: { size: '#$%' } } });
      await fails('GET', '/compute/v2.1/os-volumes/00000000-0000-0000-0000-000000000000', 404);
      await fails('DELETE', '/compute/v2.1/os-volumes/00000000-0000-0000-0000-000000000000', 404);
      await fails('GET', '/compute/v2.1/os-volumes/', 404);
    });
  });

  describe('snapshots, backups and volume swap', () => {
    const v237 = { 'openstack-api-version': 'compute 2.37' };
    async function activeServer(): Promise<Json> {
      const s = (await ok('POST', '/compute/v2.1/servers', { body: { server: { name: 'snap', flavorRef: '1', imageRef: imageId, networks: 'none' } }, headers: v237 }, 202)).server;
      for (let i = 0; i < 40 && (await ok('GET', `/compute/v2.1/servers/${s.id}`)).server.status !== 'ACTIVE'; i++) await sleep(20);
      return s;
    }
    async function idle(id: string): Promise<void> {
      for (let i = 0; i < 40 && (await ok('GET', `/compute/v2.1/servers/${id}`)).server['OS-EXT-STS:task_state'] !== null; i++) await sleep(20);
    }

    it('the metadata of a snapshot overrides the image_type Nova sets', async () => {
      const s = await activeServer();
      const r = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { body: { createImage: { name: 'typed', metadata: { image_type: 'test' } } } });
      expect(r.status, r.text).to.equal(202);
      const id = r.headers.get('location')!.split('/').pop()!;
      const img = (await ok('GET', `/compute/v2.1/images/${id}`)).image;
      expect(img.metadata).to.include({ image_type: 'test', instance_uuid: s.id });
      expect(img.server.id).to.equal(s.id);
      await ok('DELETE', `/compute/v2.1/images/${id}`, {}, 204);
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });

    it('keeps only the newest `rotation` backups', async () => {
      const s = await activeServer();
      const names: string[] = [];
      for (const n of ['b1', 'b2', 'b3']) {
        await idle(s.id);
        const r = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { body: { createBackup: { name: n, backup_type: 'daily', rotation: 2 } } });
        expect(r.status, r.text).to.equal(202);
        names.push(n);
      }
      const left = (await ok('GET', `/compute/v2.1/images/detail?server=${s.id}&type=backup`)).images.map((i: Json) => i.name).sort();
      expect(left).to.deep.equal(['b2', 'b3']);
      await idle(s.id);
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });

    it('rotation keeps a backup a server was booted from (Glance refuses to delete it) and still makes the new one', async () => {
      const s = await activeServer();
      await idle(s.id);
      const first = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { body: { createBackup: { name: 'kept', backup_type: 'weekly', rotation: 1 } } });
      expect(first.status, first.text).to.equal(202);
      const keptId = first.headers.get('location')!.split('/').pop()!;
      const booted = (await ok('POST', '/compute/v2.1/servers', { body: { server: { name: 'from-backup', flavorRef: '1', imageRef: keptId, networks: 'none' } }, headers: v237 }, 202)).server;
      await idle(s.id);
      const second = await call('POST', `/compute/v2.1/servers/${s.id}/action`, { body: { createBackup: { name: 'newer', backup_type: 'weekly', rotation: 1 } } });
      expect(second.status, second.text).to.equal(202);
      const left = (await ok('GET', `/compute/v2.1/images/detail?server=${s.id}&type=backup`)).images.map((i: Json) => i.name).sort();
      expect(left).to.include.members(['kept', 'newer']);
      await ok('DELETE', `/compute/v2.1/servers/${booted.id}`, {}, 204);
      await idle(s.id);
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });

    it('swaps: 404 for a volume not attached, 400 for an unknown new one', async () => {
      const s = await activeServer();
      const vol = (await ok('POST', '/compute/v2.1/os-volumes', { body: { volume: { size: 1 } } })).volume;
      for (let i = 0; i < 40 && (await ok('GET', `/compute/v2.1/os-volumes/${vol.id}`)).volume.status !== 'available'; i++) await sleep(20);
      await ok('POST', `/compute/v2.1/servers/${s.id}/os-volume_attachments`, { body: { volumeAttachment: { volumeId: vol.id } } });
      const missing = '00000000-0000-0000-0000-000000000000';
      await fails('PUT', `/compute/v2.1/servers/${s.id}/os-volume_attachments/${missing}`, 404, { body: { volumeAttachment: { volumeId: vol.id } } });
      await fails('PUT', `/compute/v2.1/servers/${s.id}/os-volume_attachments/${vol.id}`, 400, { body: { volumeAttachment: { volumeId: missing } } });
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });
  });

  describe('admin APIs', () => {
    it('os-hosts: power actions and updates on the compute host only', async () => {
      await fails('GET', '/compute/v2.1/os-hosts/nohost/reboot', 404);
      expect(await ok('GET', '/compute/v2.1/os-hosts/sandbox-compute/startup')).to.deep.equal({ host: 'sandbox-compute', power_action: 'startup' });
      await fails('PUT', '/compute/v2.1/os-hosts/nohost', 404, { body: { status: 'enable' } });
      await fails('PUT', '/compute/v2.1/os-hosts/sandbox-compute', 400, { body: {} });
      await fails('PUT', '/compute/v2.1/os-hosts/sandbox-compute', 400, { body: { status: 'bogus' } });
      expect(await ok('PUT', '/compute/v2.1/os-hosts/sandbox-compute', { body: { status: 'disable' } })).to.deep.equal({ host: 'sandbox-compute', status: 'disabled' });
      const svc = (await ok('GET', '/compute/v2.1/os-services?binary=nova-compute')).services[0];
      expect(svc.status).to.equal('disabled');
      await ok('PUT', '/compute/v2.1/os-hosts/sandbox-compute', { body: { status: 'enable' } });
    });

    it('quota classes change the defaults projects get', async () => {
      const before = (await ok('GET', '/compute/v2.1/os-quota-class-sets/default')).quota_class_set;
      expect(before.id).to.equal('default');
      const upd = (await ok('PUT', '/compute/v2.1/os-quota-class-sets/default', { body: { quota_class_set: { cores: before.cores + 100 } } })).quota_class_set;
      expect(upd.cores).to.equal(before.cores + 100);
      expect(upd).not.to.have.property('id');
      const project = h.gateway.identity.projectByName('default', 'admin')!.id;
      expect((await ok('GET', `/compute/v2.1/os-quota-sets/${project}/defaults`)).quota_set.cores).to.equal(before.cores + 100);
      const at257 = (await ok('GET', '/compute/v2.1/os-quota-class-sets/default', { headers: { 'openstack-api-version': 'compute 2.57' } })).quota_class_set;
      expect(at257).to.have.property('server_groups');
      expect(at257).not.to.have.property('injected_files');
      await ok('PUT', '/compute/v2.1/os-quota-class-sets/default', { body: { quota_class_set: { cores: before.cores } } });
    });

    it('extensions, audit log, server password, external events', async () => {
      expect((await ok('GET', '/compute/v2.1/extensions/os-consoles')).extension.alias).to.equal('os-consoles');
      await fails('GET', '/compute/v2.1/extensions/os-nothing', 404);
      expect((await ok('GET', '/compute/v2.1/extensions')).extensions.length).to.be.greaterThan(50);
      const log = (await ok('GET', '/compute/v2.1/os-instance_usage_audit_log/2020-03-15%2010:00:00')).instance_usage_audit_log;
      expect(log).to.include({ period_beginning: '2020-02-01 00:00:00', period_ending: '2020-03-01 00:00:00', total_instances: 0, num_hosts_done: 1 });
      await fails('GET', '/compute/v2.1/os-instance_usage_audit_log/not-a-time', 400);
      const s = (await ok('POST', '/compute/v2.1/servers', { body: { server: { name: 'pw', flavorRef: '1', imageRef: imageId, networks: 'none' } }, headers: { 'openstack-api-version': 'compute 2.37' } }, 202)).server;
      await sleep(100);
      expect(await ok('GET', `/compute/v2.1/servers/${s.id}/os-server-password`)).to.deep.equal({ password: '' });
      await ok('DELETE', `/compute/v2.1/servers/${s.id}/os-server-password`, {}, 204);
      const ev = (await ok('POST', '/compute/v2.1/os-server-external-events', { body: { events: [{ name: 'network-changed', server_uuid: s.id }] } })).events;
      expect(ev[0]).to.include({ code: 200, status: 'completed' });
      await fails('POST', `/compute/v2.1/servers/${s.id}/action`, 409, { body: { restore: null } });
      await fails('POST', '/compute/v2.1/servers/00000000-0000-0000-0000-000000000000/action', 404, { body: { restore: null } });
      await ok('DELETE', `/compute/v2.1/servers/${s.id}`, {}, 204);
    });
  });
});
