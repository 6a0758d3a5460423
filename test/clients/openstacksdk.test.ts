/**
 * openstacksdk (Debian python3-openstacksdk) against the sandbox: a short
 * script connects with a password, lists flavors, builds a network, uploads
 * an image, boots a server, waits for it, reads it back and deletes it, then
 * prints a JSON summary that the test checks. Contract mode: every response
 * is checked against the spec (a violation is a 500 and fails the script).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGateway, type Harness } from '../helpers/gateway.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, os, sys
import openstack

conn = openstack.connect(
    auth_url=os.environ['SG_AUTH_URL'], username='admin', password=os.environ['SG_PASSWORD'],
    project_name='admin', user_domain_name='Default', project_domain_name='Default',
    region_name='RegionOne')
out = {}
out['flavors'] = sorted(f.name for f in conn.compute.flavors())
flavor = conn.compute.find_flavor('m1.tiny', ignore_missing=False)
out['flavor'] = {'id': flavor.id, 'name': flavor.name, 'ram': flavor.ram, 'vcpus': flavor.vcpus, 'disk': flavor.disk}

net = conn.network.create_network(name='sdk-net')
sub = conn.network.create_subnet(name='sdk-sub', network_id=net.id, ip_version=4, cidr='10.30.0.0/24')
out['network'] = {'id': net.id, 'name': net.name, 'status': net.status}
out['subnet'] = {'id': sub.id, 'cidr': sub.cidr, 'gateway_ip': sub.gateway_ip, 'network_id': sub.network_id}

data = bytes(range(256)) * 64
image = conn.image.create_image(name='sdk-image', data=data, disk_format='qcow2', container_format='bare')
image = conn.image.get_image(image.id)
out['image'] = {'id': image.id, 'name': image.name, 'status': image.status, 'size': image.size,
                'disk_format': image.disk_format, 'container_format': image.container_format}

server = conn.compute.create_server(name='sdk-vm', flavor_id=flavor.id, image_id=image.id, networks=[{'uuid': net.id}])
out['created_status'] = server.status
server = conn.compute.wait_for_server(server, status='ACTIVE', wait=60, interval=0.2)
got = conn.compute.get_server(server.id)
out['server'] = {'id': got.id, 'name': got.name, 'status': got.status, 'addresses': got.addresses,
                 'flavor': got.flavor.get('original_name') if isinstance(got.flavor, dict) else getattr(got.flavor, 'original_name', None),
                 'image_id': got.image.id if got.image else None, 'power_state': got.power_state}
out['listed'] = [s.name for s in conn.compute.servers()]

conn.compute.delete_server(got)
conn.compute.wait_for_delete(got, wait=60, interval=0.2)
out['deleted'] = conn.compute.find_server(got.id) is None
out['listed_after'] = [s.name for s in conn.compute.servers()]

conn.image.delete_image(image)
conn.network.delete_subnet(sub)
conn.network.delete_network(net)
out['networks_after'] = [n.name for n in conn.network.networks()]
out['images_after'] = [i.name for i in conn.image.images()]
print(json.dumps(out))
`;

describe('openstacksdk (python)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 200 } });
  });
  after(() => h.close());

  it('flavors, network + subnet, image upload, create_server + wait_for_server, get, delete + wait_for_delete', async () => {
    const file = join(h.dataDir, 'sdk.py');
    writeFileSync(file, SCRIPT);
    let stdout: string;
    try {
      ({ stdout } = await run(PYTHON, [file], {
        timeout: 90_000,
        env: { PATH: process.env.PATH, HOME: h.dataDir, SG_AUTH_URL: `${h.url}/identity`, SG_PASSWORD: h.adminPassword },
      }));
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`sdk script failed: ${e.stderr || e.stdout || e.message}`);
    }
    const out = JSON.parse(stdout.trim().split('\n').pop()!);

    expect(out.flavors).to.include.members(['m1.tiny', 'm1.small']);
    expect(out.flavor).to.include({ name: 'm1.tiny' });
    expect(out.flavor.ram).to.be.a('number');

    expect(out.network).to.include({ name: 'sdk-net', status: 'ACTIVE' });
    expect(out.subnet).to.deep.equal({ id: out.subnet.id, cidr: '10.30.0.0/24', gateway_ip: '10.30.0.1', network_id: out.network.id });

    expect(out.image).to.deep.equal({ id: out.image.id, name: 'sdk-image', status: 'active', size: 256 * 64, disk_format: 'qcow2', container_format: 'bare' });

    expect(out.created_status).to.be.oneOf([null, 'BUILD']);
    expect(out.server).to.include({ name: 'sdk-vm', status: 'ACTIVE', flavor: 'm1.tiny', image_id: out.image.id, power_state: 1 });
    expect(Object.keys(out.server.addresses)).to.deep.equal(['sdk-net']);
    expect(out.server.addresses['sdk-net']).to.have.length(1);
    expect(out.server.addresses['sdk-net'][0]).to.include({ version: 4, 'OS-EXT-IPS:type': 'fixed' });
    expect(out.server.addresses['sdk-net'][0].addr).to.match(/^10\.30\.0\.\d+$/);
    expect(out.listed).to.deep.equal(['sdk-vm']);

    expect(out.deleted).to.equal(true);
    expect(out.listed_after).to.deep.equal([]);
    expect(out.networks_after).to.not.include('sdk-net');
    expect(out.images_after).to.not.include('sdk-image');
  });
});
