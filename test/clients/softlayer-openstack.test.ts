/**
 * The real `openstack` CLI as a SoftLayer user (username + API key) against
 * stackgate's SoftLayer backend, in front of the SoftLayer simulator; every
 * response checked against the spec (contract mode).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openstackCli, expectFailure, type OpenstackCli } from '../helpers/openstack-cli.js';
import { softLayerCliEnv, startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- CLI JSON output, asserted field by field

describe('openstack CLI against the SoftLayer backend', function () {
  this.timeout(300_000);
  let h: SoftLayerHarness;
  let os: OpenstackCli;

  before(async () => {
    h = await startSoftLayerGateway({ provisionMs: 1500, transactionMs: 500, cancelMs: 500, overrides: { contract: true } });
    const base = openstackCli(h.gw);
    const env = softLayerCliEnv(h);
    os = (args, extra = {}) => base(args, { ...env, ...extra });
  });
  after(async () => { await h?.close(); });

  const guestOf = (id: string) => h.sim.state.guests.get(parseInt(id.slice(-12), 16));

  it('token issue with a SoftLayer username and API key', async () => {
    const t = await os(['token', 'issue', '-f', 'json']);
    expect(t.project_id).to.match(/^[0-9a-f]{32}$/);
    expect(t.id).to.be.a('string').and.not.include(h.account.apiKey);
    const project = await os(['project', 'show', t.project_id, '-f', 'json'], { OS_USERNAME: 'admin', OS_PASSWORD: h.gw.adminPassword, OS_PROJECT_NAME: 'admin' });
    expect(project.name).to.equal(`softlayer-${h.account.accountId}`);
    await expectFailure(os(['token', 'issue'], { OS_PASSWORD: '0'.repeat(64) }), /401|authenticat/i);
  });

  it('flavor list, availability zone list, image list and show, network list, volume list', async () => {
    const flavors = await os(['flavor', 'list', '-f', 'json']);
    expect(flavors.map((f: Json) => f.Name)).to.include.members(['sl.1x1x25', 'sl.2x4x25']);
    expect(flavors.find((f: Json) => f.Name === 'sl.2x4x25')).to.include({ RAM: 4096, Disk: 25, VCPUs: 2 });
    const zones = await os(['availability', 'zone', 'list', '--compute', '-f', 'json']);
    expect(zones.map((z: Json) => z['Zone Name'])).to.have.members(h.sim.state.datacenters.map((d) => d.name));
    const images = await os(['image', 'list', '-f', 'json']);
    expect(images.map((i: Json) => i.Name)).to.include('ubuntu-22-64-public');
    const img = await os(['image', 'show', 'ubuntu-22-64-public', '-f', 'json']);
    expect(img).to.include({ name: 'ubuntu-22-64-public', visibility: 'public', disk_format: 'vhd', status: 'active' });
    // SoftLayer's OS reference codes are images too, named by their code.
    expect(images.map((i: Json) => i.Name)).to.include.members(['UBUNTU_22_64', 'DEBIAN_11_64']);
    const osImg = await os(['image', 'show', 'UBUNTU_22_64', '-f', 'json']);
    expect(osImg).to.include({ name: 'UBUNTU_22_64', visibility: 'public', status: 'active' });
    expect(osImg.properties ?? osImg).to.include({ os_distro: 'ubuntu', softlayer_os_code: 'UBUNTU_22_64' });
    const nets = await os(['network', 'list', '-f', 'json']);
    const vlans = [...h.sim.state.vlans.values()].filter((v) => v.accountId === h.account.accountId);
    expect(nets).to.have.length(vlans.length);
    expect(nets.every((n: Json) => n.Subnets.length === 1)).to.equal(true);
    const vols = await os(['volume', 'list', '-f', 'json']);
    const storage = [...h.sim.state.storage.values()].filter((s) => s.accountId === h.account.accountId);
    expect(vols.map((v: Json) => [v.Name, v.Size, v.Status])).to.deep.equal(storage.map((s) => [s.username, s.capacityGb, 'available']));
  });

  it('security group create, rule create, list, delete: SoftLayer security groups', async () => {
    const sg = await os(['security', 'group', 'create', '--description', 'ssh in', 'cli-ssh', '-f', 'json']);
    const rule = await os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '10.0.0.0/8', 'cli-ssh', '-f', 'json']);
    expect(rule).to.include({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.0/8' });
    const simGroup = [...h.sim.state.securityGroups.values()].find((g) => g.name === 'cli-ssh')!;
    expect(simGroup.rules.map((r) => [r.direction, r.protocol, r.portRangeMin, r.remoteIp])).to.deep.equal([['ingress', 'tcp', 22, '10.0.0.0/8']]);
    expect((await os(['security', 'group', 'list', '-f', 'json'])).map((g: Json) => g.Name)).to.include('cli-ssh');
    await os(['security', 'group', 'delete', sg.id]);
    expect(h.sim.state.securityGroups.has(simGroup.id)).to.equal(false);
  });

  it('keypair create (from a public key, and generated), list, delete', async () => {
    const dir = h.gw.dataDir;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cli', '-f', join(dir, 'cli')]);
    const k = await os(['keypair', 'create', '--public-key', join(dir, 'cli.pub'), 'cli-key', '-f', 'json']);
    const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'cli.pub')], { encoding: 'utf8' }).split(' ')[1]!.replace(/^MD5:/, '');
    expect(k.fingerprint).to.equal(md5);
    expect([...h.sim.state.sshKeys.values()].find((x) => x.label === 'cli-key')?.key).to.equal(readFileSync(join(dir, 'cli.pub'), 'utf8').trim());
    await os(['keypair', 'create', '--private-key', join(dir, 'gen.pem'), 'gen-key', '-f', 'json']);
    expect(readFileSync(join(dir, 'gen.pem'), 'utf8')).to.match(/PRIVATE KEY/);
    const list = await os(['keypair', 'list', '-f', 'json']);
    expect(list.map((x: Json) => x.Name).sort()).to.deep.equal(['cli-key', 'gen-key']);
    await os(['keypair', 'delete', 'gen-key']);
    expect((await os(['keypair', 'list', '-f', 'json'])).map((x: Json) => x.Name)).to.deep.equal(['cli-key']);
  });

  it('server create --wait, list, show, reboot, stop, start, delete --wait', async () => {
    const s = await os(['server', 'create', '--flavor', 'sl.1x2x25', '--image', 'ubuntu-22-64-public', '--key-name', 'cli-key',
      '--availability-zone', 'fra02', '--wait', 'cli-web', '-f', 'json']);
    expect(s.status).to.equal('ACTIVE');
    const g = guestOf(s.id)!;
    expect([g.hostname, g.startCpus, g.maxMemory, h.sim.state.datacenter(g.datacenterId).name]).to.deep.equal(['cli-web', 1, 2048, 'fra02']);
    const list = await os(['server', 'list', '-f', 'json']);
    expect(list.map((x: Json) => [x.Name, x.Status])).to.deep.include(['cli-web', 'ACTIVE']);
    const shown = await os(['server', 'show', 'cli-web', '-f', 'json']);
    expect(shown.key_name).to.equal('cli-key');
    expect(shown['OS-EXT-AZ:availability_zone']).to.equal('fra02');
    expect(JSON.stringify(shown.addresses)).to.include(g.primaryIpAddress!).and.include(g.primaryBackendIpAddress);
    await os(['server', 'reboot', '--wait', 'cli-web']);
    expect((await os(['server', 'show', 'cli-web', '-f', 'json'])).status).to.equal('ACTIVE');
    expect(h.sim.calls.some((c) => c.method === 'rebootSoft')).to.equal(true);
    await os(['server', 'stop', 'cli-web']);
    expect((await os(['server', 'show', 'cli-web', '-f', 'json'])).status).to.equal('SHUTOFF');
    expect(g.power).to.equal('HALTED');
    await os(['server', 'start', 'cli-web']);
    expect((await os(['server', 'show', 'cli-web', '-f', 'json'])).status).to.equal('ACTIVE');
    // SoftLayer has no suspend: the CLI hears Nova's 501, and the guest keeps running.
    await expectFailure(os(['server', 'suspend', s.id]), /not implemented|HTTP 501/i);
    expect(g.power).to.equal('RUNNING');
    await os(['server', 'delete', '--wait', 'cli-web']);
    expect(await os(['server', 'list', '-f', 'json'])).to.deep.equal([]);
  });

  it('server create --image <OS reference code> --wait orders the code; show names the image', async () => {
    const s = await os(['server', 'create', '--flavor', 'sl.1x2x25', '--image', 'DEBIAN_11_64', '--wait', 'cli-os', '-f', 'json']);
    expect(s.status).to.equal('ACTIVE');
    const g = guestOf(s.id)!;
    expect([g.osCode, g.templateGroupId]).to.deep.equal(['DEBIAN_11_64', null]);
    const shown = await os(['server', 'show', 'cli-os', '-f', 'json']);
    expect(JSON.stringify(shown.image)).to.include('DEBIAN_11_64');
    await os(['server', 'delete', '--wait', 'cli-os']);
  });
});
