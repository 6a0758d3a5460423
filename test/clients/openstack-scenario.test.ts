/**
 * One end-to-end scenario with the real `openstack` CLI (Debian
 * python3-openstackclient) against the sandbox: a network topology, a
 * security group, a keypair, an image round trip, a flavor, a server through
 * its lifecycle with a volume and a floating IP, then everything torn down.
 * Contract mode: every response is checked against the spec (a violation is a
 * 500 and fails the command).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { expectFailure, openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('openstack CLI: end-to-end scenario', function () {
  // A hang guard, not a speed check: about 140 s on SQLite and 170 s on PostgreSQL on an idle 2-core machine.
  this.timeout(420_000);
  let h: Harness;

  let os: OpenstackCli;


  /** Polls `<kind> show` until the status, as scripts around the CLI do. */
  async function waitStatus(kind: string[], name: string, status: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- CLI JSON output
    let last: unknown;
    for (let i = 0; i < 40; i++) {
      const v = await os([...kind, 'show', name, '-f', 'json']);
      if (v.status === status) return v;
      last = v.status;
      await sleep(150);
    }
    throw new Error(`${kind.join(' ')} ${name} never became ${status} (last ${String(last)})`);
  }

  async function serverStatus(name: string): Promise<string> {
    return (await os(['server', 'show', name, '-f', 'json'])).status;
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 200 } });
    os = openstackCli(h, 45_000);
  });
  after(() => h.close());

  it('network, security group, keypair, image, flavor, server lifecycle with volume and floating IP, then teardown', async () => {
    const projectId = h.gateway.identity.projectByName('default', 'admin')!.id;

    // --- network topology ---------------------------------------------------
    const net = await os(['network', 'create', 'scn-net', '-f', 'json']);
    expect(net).to.include({ name: 'scn-net', status: 'ACTIVE', admin_state_up: true, 'router:external': false, project_id: projectId });
    const sub = await os(['subnet', 'create', '--network', 'scn-net', '--subnet-range', '10.20.0.0/24', 'scn-sub', '-f', 'json']);
    expect(sub).to.include({ name: 'scn-sub', cidr: '10.20.0.0/24', gateway_ip: '10.20.0.1', ip_version: 4, network_id: net.id, enable_dhcp: true });
    expect(sub.allocation_pools).to.deep.equal([{ start: '10.20.0.2', end: '10.20.0.254' }]);
    const router = await os(['router', 'create', 'scn-router', '-f', 'json']);
    expect(router).to.include({ name: 'scn-router', status: 'ACTIVE', admin_state_up: true });
    await os(['router', 'add', 'subnet', 'scn-router', 'scn-sub']);
    const rPorts = await os(['port', 'list', '--router', 'scn-router', '-f', 'json']);
    expect(rPorts).to.have.length(1);
    expect(JSON.stringify(rPorts[0]['Fixed IP Addresses'])).to.include('10.20.0.1').and.to.include(sub.id);

    const pub = await os(['network', 'create', '--external', 'public', '-f', 'json']);
    expect(pub).to.include({ name: 'public', 'router:external': true, status: 'ACTIVE' });
    const pubSub = await os(['subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', 'public-sub', '-f', 'json']);
    expect(pubSub).to.include({ cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', network_id: pub.id });
    await os(['router', 'set', '--external-gateway', 'public', 'scn-router']);
    const rShown = await os(['router', 'show', 'scn-router', '-f', 'json']);
    expect(rShown.external_gateway_info.network_id).to.equal(pub.id);
    expect(rShown.external_gateway_info.external_fixed_ips).to.have.length(1);
    expect(rShown.external_gateway_info.external_fixed_ips[0].subnet_id).to.equal(pubSub.id);
    expect(rShown.external_gateway_info.external_fixed_ips[0].ip_address).to.match(/^203\.0\.113\.\d+$/);

    // --- security group -----------------------------------------------------
    const sg = await os(['security', 'group', 'create', '--description', 'ssh in', 'scn-ssh', '-f', 'json']);
    expect(sg).to.include({ name: 'scn-ssh', description: 'ssh in', project_id: projectId });
    const rule = await os(['security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', 'scn-ssh', '-f', 'json']);
    expect(rule).to.include({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, direction: 'ingress', ether_type: 'IPv4', security_group_id: sg.id });
    const rules = await os(['security', 'group', 'rule', 'list', 'scn-ssh', '-f', 'json']);
    expect(rules.map((r: { ID: string }) => r.ID)).to.include(rule.id);

    // --- keypair --------------------------------------------------------------
    const keyOut: string = await os(['keypair', 'create', 'scn-key']);
    expect(keyOut.trim()).to.match(/^-----BEGIN (RSA |OPENSSH )?PRIVATE KEY-----[\s\S]+-----END (RSA |OPENSSH )?PRIVATE KEY-----$/);
    const key = await os(['keypair', 'show', 'scn-key', '-f', 'json']);
    expect(key).to.include({ name: 'scn-key', type: 'ssh' });
    expect(key.fingerprint).to.match(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

    // --- image round trip ---------------------------------------------------
    const imgBytes = randomBytes(200 * 1024);
    const imgFile = join(h.dataDir, 'scn.img');
    writeFileSync(imgFile, imgBytes);
    const img = await os(['image', 'create', '--file', imgFile, '--disk-format', 'qcow2', '--container-format', 'bare', 'scn-image', '-f', 'json']);
    expect(img).to.include({ name: 'scn-image', disk_format: 'qcow2', container_format: 'bare' });
    const imgShown = await os(['image', 'show', 'scn-image', '-f', 'json']);
    expect(imgShown).to.include({ id: img.id, status: 'active', size: imgBytes.length });
    const savedFile = join(h.dataDir, 'scn.saved');
    await os(['image', 'save', '--file', savedFile, 'scn-image']);
    expect(readFileSync(savedFile).equals(imgBytes)).to.equal(true);

    // --- flavor -----------------------------------------------------------------
    const flavor = await os(['flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '1', 'm1.test', '-f', 'json']);
    expect(flavor).to.include({ name: 'm1.test', ram: 256, disk: 1, vcpus: 1, 'os-flavor-access:is_public': true });

    // --- server -----------------------------------------------------------------
    const s = await os(['server', 'create', '--image', 'scn-image', '--flavor', 'm1.test', '--network', 'scn-net', '--key-name', 'scn-key', '--security-group', 'scn-ssh', '--wait', 'scn-vm', '-f', 'json']);
    expect(s).to.include({ name: 'scn-vm', status: 'ACTIVE', key_name: 'scn-key' });
    expect(Object.keys(s.addresses)).to.deep.equal(['scn-net']);
    const ip = s.addresses['scn-net'][0] as string;
    expect(ip).to.match(/^10\.20\.0\.\d+$/);
    // Nova shows the group by its name (Neutron's), even when the CLI sent its id.
    expect(s.security_groups).to.deep.equal([{ name: 'scn-ssh' }]);
    expect(JSON.stringify(s.flavor)).to.include('m1.test');

    await os(['server', 'reboot', '--wait', 'scn-vm']);
    expect(await serverStatus('scn-vm')).to.equal('ACTIVE');
    await os(['server', 'stop', 'scn-vm']);
    expect(await serverStatus('scn-vm')).to.equal('SHUTOFF');
    await os(['server', 'start', 'scn-vm']);
    expect(await serverStatus('scn-vm')).to.equal('ACTIVE');
    await os(['server', 'resize', '--flavor', 'm1.small', '--wait', 'scn-vm']);
    expect(await serverStatus('scn-vm')).to.equal('VERIFY_RESIZE');
    await os(['server', 'resize', 'confirm', 'scn-vm']);
    const resized = await os(['server', 'show', 'scn-vm', '-f', 'json']);
    expect(resized.status).to.equal('ACTIVE');
    expect(JSON.stringify(resized.flavor)).to.include('m1.small').and.not.to.include('m1.test');

    // --- volume -------------------------------------------------------------------
    const vol = await os(['volume', 'create', '--size', '1', 'scn-vol', '-f', 'json']);
    expect(vol).to.include({ name: 'scn-vol', size: 1 });
    await waitStatus(['volume'], 'scn-vol', 'available');
    await os(['server', 'add', 'volume', 'scn-vm', 'scn-vol']);
    const inUse = await waitStatus(['volume'], 'scn-vol', 'in-use');
    expect(inUse.attachments).to.have.length(1);
    expect(inUse.attachments[0]).to.include({ server_id: s.id, volume_id: vol.id });
    expect(inUse.attachments[0].device).to.match(/^\/dev\/[a-z]+$/);
    const vmVols = await os(['server', 'volume', 'list', 'scn-vm', '-f', 'json']);
    expect(vmVols.map((a: { 'Volume ID': string }) => a['Volume ID'])).to.deep.equal([vol.id]);
    await os(['server', 'remove', 'volume', 'scn-vm', 'scn-vol']);
    const detached = await waitStatus(['volume'], 'scn-vol', 'available');
    expect(detached.attachments).to.deep.equal([]);
    const snap = await os(['volume', 'snapshot', 'create', '--volume', 'scn-vol', 'scn-snap', '-f', 'json']);
    expect(snap).to.include({ name: 'scn-snap', volume_id: vol.id, size: 1 });
    await waitStatus(['volume', 'snapshot'], 'scn-snap', 'available');

    // --- floating IP ----------------------------------------------------------------
    const fip = await os(['floating', 'ip', 'create', 'public', '-f', 'json']);
    expect(fip).to.include({ floating_network_id: pub.id, port_id: null, fixed_ip_address: null });
    const fipAddr = fip.floating_ip_address as string;
    expect(fipAddr).to.match(/^203\.0\.113\.\d+$/);
    await os(['server', 'add', 'floating', 'ip', 'scn-vm', fipAddr]);
    const fipShown = await os(['floating', 'ip', 'show', fip.id, '-f', 'json']);
    expect(fipShown).to.include({ fixed_ip_address: ip, router_id: router.id, status: 'ACTIVE' });
    expect(fipShown.port_id).to.be.a('string');
    const withFip = await os(['server', 'show', 'scn-vm', '-f', 'json']);
    expect(withFip.addresses).to.deep.equal({ 'scn-net': [ip, fipAddr] });

    // --- server list --long ---------------------------------------------------------
    const long = await os(['server', 'list', '--long', '-f', 'json']);
    expect(long).to.have.length(1);
    const row = long[0];
    expect(row.ID).to.equal(s.id);
    expect(row.Name).to.equal('scn-vm');
    expect(row.Status).to.equal('ACTIVE');
    expect(row['Task State']).to.equal(null);
    expect(row['Power State']).to.be.oneOf([1, 'Running']);
    expect(row.Networks).to.deep.equal({ 'scn-net': [ip, fipAddr] });
    expect(row['Image Name']).to.equal('scn-image');
    expect(row['Image ID']).to.equal(img.id);
    expect(row['Flavor Name'] ?? row.Flavor).to.equal('m1.small');
    expect(row['Availability Zone']).to.equal('nova');
    expect(row.Host).to.equal('sandbox-compute');

    // --- teardown -------------------------------------------------------------------
    // The image is in use by the server: Glance refuses to delete it (409).
    await expectFailure(os(['image', 'delete', 'scn-image']), /ConflictException: 409/);
    await os(['server', 'delete', '--wait', 'scn-vm']);
    expect(await os(['server', 'list', '-f', 'json'])).to.deep.equal([]);
    await expectFailure(os(['server', 'show', 'scn-vm', '-f', 'json']), /No server with a name or ID|not found/i);
    // The floating IP outlives the server, disassociated.
    const fipAfter = await os(['floating', 'ip', 'show', fip.id, '-f', 'json']);
    expect(fipAfter).to.include({ port_id: null, fixed_ip_address: null });
    await os(['floating', 'ip', 'delete', fip.id]);
    expect((await os(['floating', 'ip', 'list', '-f', 'json'])).map((f: { ID: string }) => f.ID)).to.not.include(fip.id);

    await os(['volume', 'snapshot', 'delete', 'scn-snap']);
    for (let i = 0; ; i++) {
      const left = await os(['volume', 'snapshot', 'list', '-f', 'json']);
      if (!left.some((x: { ID: string }) => x.ID === snap.id)) break;
      if (i > 40) throw new Error('snapshot never went away');
      await sleep(150);
    }
    await os(['volume', 'delete', 'scn-vol']);
    for (let i = 0; ; i++) {
      const left = await os(['volume', 'list', '-f', 'json']);
      if (!left.some((x: { ID: string }) => x.ID === vol.id)) break;
      if (i > 40) throw new Error('volume never went away');
      await sleep(150);
    }
    await os(['image', 'delete', 'scn-image']);
    expect((await os(['image', 'list', '-f', 'json'])).map((i: { ID: string }) => i.ID)).to.not.include(img.id);
    await os(['keypair', 'delete', 'scn-key']);
    expect((await os(['keypair', 'list', '-f', 'json'])).map((k: { Name: string }) => k.Name)).to.not.include('scn-key');
    await os(['security', 'group', 'delete', 'scn-ssh']);
    expect((await os(['security', 'group', 'list', '-f', 'json'])).map((g: { ID: string }) => g.ID)).to.not.include(sg.id);
    await os(['router', 'remove', 'subnet', 'scn-router', 'scn-sub']);
    await os(['router', 'unset', '--external-gateway', 'scn-router']);
    expect(await os(['port', 'list', '--router', 'scn-router', '-f', 'json'])).to.deep.equal([]);
    await os(['router', 'delete', 'scn-router']);
    expect((await os(['router', 'list', '-f', 'json'])).map((r: { ID: string }) => r.ID)).to.not.include(router.id);
    await os(['subnet', 'delete', 'scn-sub']);
    await os(['subnet', 'delete', 'public-sub']);
    expect(await os(['subnet', 'list', '-f', 'json'])).to.deep.equal([]);
    await os(['network', 'delete', 'scn-net']);
    await os(['network', 'delete', 'public']);
    expect(await os(['network', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(await os(['port', 'list', '-f', 'json'])).to.deep.equal([]);
    await os(['flavor', 'delete', 'm1.test']);
    expect((await os(['flavor', 'list', '-f', 'json'])).map((f: { Name: string }) => f.Name)).to.not.include('m1.test');
    await expectFailure(os(['flavor', 'show', 'm1.test', '-f', 'json']), /No Flavor found for m1.test/);
  });
});
