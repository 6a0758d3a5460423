/**
 * The real `openstack` CLI against the sandbox's Nova (with its Glance and
 * Neutron for the image and the network), every response checked against the
 * spec (contract mode: a violation is a 500 and fails the command).
 */
import { expect } from 'chai';
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';

describe('openstack CLI: compute', function () {
  this.timeout(300_000);
  let h: Harness;

  let os: OpenstackCli;

  async function status(name: string): Promise<string> {
    return (await os(['server', 'show', name, '-f', 'json'])).status;
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 300 } });
    os = openstackCli(h);
  });
  after(() => h.close());

  it('flavor create, list, show, delete', async () => {
    const f = await os(['flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '1', '--property', 'hw:cpu_policy=shared', 'cli.small', '-f', 'json']);
    expect(f).to.include({ name: 'cli.small', ram: 256, disk: 1, vcpus: 1, 'os-flavor-access:is_public': true });
    const list = await os(['flavor', 'list', '-f', 'json']);
    expect(list.map((x: { Name: string }) => x.Name)).to.include.members(['m1.tiny', 'cli.small']);
    const shown = await os(['flavor', 'show', 'cli.small', '-f', 'json']);
    expect(shown.id).to.equal(f.id);
    expect(shown.properties).to.deep.equal({ 'hw:cpu_policy': 'shared' });
    await os(['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'cli.gone', '-f', 'json']);
    await os(['flavor', 'delete', 'cli.gone']);
    expect((await os(['flavor', 'list', '-f', 'json'])).map((x: { Name: string }) => x.Name)).to.not.include('cli.gone');
  });

  it('keypair create writes the private key; the fingerprint is Nova\'s', async () => {
    const file = join(h.dataDir, 'k1.pem');
    const k = await os(['keypair', 'create', '--private-key', file, 'k1', '-f', 'json']);
    const pem = readFileSync(file, 'utf8');
    expect(pem).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    createPrivateKey(pem);
    const shown = await os(['keypair', 'show', 'k1', '-f', 'json']);
    expect(shown.fingerprint).to.equal(k.fingerprint);
    const pub = (await os(['keypair', 'show', '--public-key', 'k1'])).trim();
    const md5 = createHash('md5').update(Buffer.from(pub.split(' ')[1], 'base64')).digest('hex').match(/../g)!.join(':');
    expect(k.fingerprint).to.equal(md5);
    const list = await os(['keypair', 'list', '-f', 'json']);
    expect(list).to.deep.include({ Name: 'k1', Fingerprint: md5, Type: 'ssh' });
  });

  it('server create --wait on a CLI-made image and network; list --long; reboot, stop/start, resize + confirm; delete --wait', async () => {
    const imgFile = join(h.dataDir, 'disk.img');
    writeFileSync(imgFile, Buffer.alloc(4096, 1));
    const img = await os(['image', 'create', '--file', imgFile, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'cirros-cli', '-f', 'json']);
    expect((await os(['image', 'show', img.id, '-f', 'json'])).status).to.equal('active');
    const net = await os(['network', 'create', 'net1', '-f', 'json']);
    await os(['subnet', 'create', '--network', 'net1', '--subnet-range', '10.10.0.0/24', 'sub1', '-f', 'json']);

    const s = await os(['server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros-cli', '--network', 'net1', '--key-name', 'k1', '--property', 'role=web', '--wait', 'vm1', '-f', 'json']);
    expect(s).to.include({ name: 'vm1', status: 'ACTIVE', key_name: 'k1' });
    expect(Object.keys(s.addresses)).to.deep.equal(['net1']);
    const ip = s.addresses.net1[0] as string;
    expect(ip).to.match(/^10\.10\.0\.\d+$/);

    const long = await os(['server', 'list', '--long', '-f', 'json']);
    expect(long).to.have.length(1);
    const row = long[0];
    expect(row.ID).to.equal(s.id);
    expect(row.Name).to.equal('vm1');
    expect(row.Status).to.equal('ACTIVE');
    expect(row['Task State']).to.equal(null);
    expect(row['Power State']).to.be.oneOf([1, 'Running']); // raw in JSON output
    expect(row.Networks).to.deep.equal({ net1: [ip] });
    expect(row['Image Name']).to.equal('cirros-cli');
    expect(row['Image ID']).to.equal(img.id);
    expect(row['Flavor Name'] ?? row.Flavor).to.equal('m1.tiny');
    expect(row['Availability Zone']).to.equal('nova');
    expect(row.Host).to.equal('sandbox-compute');
    expect(row.Properties).to.deep.equal({ role: 'web' });
    void net;

    await os(['server', 'reboot', '--wait', 'vm1']);
    expect(await status('vm1')).to.equal('ACTIVE');
    await os(['server', 'stop', 'vm1']);
    expect(await status('vm1')).to.equal('SHUTOFF');
    expect((await os(['server', 'show', 'vm1', '-f', 'json']))['OS-EXT-STS:power_state']).to.be.oneOf([4, 'Shutdown']);
    await os(['server', 'start', 'vm1']);
    expect(await status('vm1')).to.equal('ACTIVE');

    await os(['server', 'resize', '--flavor', 'm1.small', '--wait', 'vm1']);
    expect(await status('vm1')).to.equal('VERIFY_RESIZE');
    await os(['server', 'resize', 'confirm', 'vm1']);
    const resized = await os(['server', 'show', 'vm1', '-f', 'json']);
    expect(resized.status).to.equal('ACTIVE');
    expect(JSON.stringify(resized.flavor)).to.match(/m1\.small/);

    const actions = await os(['server', 'event', 'list', 'vm1', '-f', 'json']);
    expect(actions.map((a: { Action: string }) => a.Action)).to.include.members(['create', 'reboot', 'stop', 'start', 'resize', 'confirmResize']);

    await os(['server', 'delete', '--wait', 'vm1']);
    expect(await os(['server', 'list', '-f', 'json'])).to.deep.equal([]);
    const ports = await os(['port', 'list', '--network', 'net1', '-f', 'json']);
    expect(ports.filter((p: { 'Device Owner'?: string }) => (p['Device Owner'] ?? '').startsWith('compute:'))).to.deep.equal([]);
  });
});
