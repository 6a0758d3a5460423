/**
 * The real `openstack` CLI as a CloudStack user (user name = API key,
 * password = secret key) against stackgate's CloudStack backend, in front of
 * the CloudStack simulator; every response checked against the spec
 * (contract mode). Servers and volumes go through the simulator's async jobs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openstackCli, expectFailure, type OpenstackCli } from '../helpers/openstack-cli.js';
import { cloudStackCliEnv, startCloudStackGateway, type CloudStackHarness } from '../helpers/cloudstack.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- CLI JSON output, asserted field by field

describe('openstack CLI against the CloudStack backend', function () {
  this.timeout(300_000);
  let h: CloudStackHarness;
  let os: OpenstackCli;

  before(async () => {
    h = await startCloudStackGateway({ jobMs: 1000, overrides: { contract: true } });
    const base = openstackCli(h.gw);
    const env = cloudStackCliEnv(h);
    os = (args, extra = {}) => base(args, { ...env, ...extra });
  });
  after(async () => { await h?.close(); });

  /** Polls `server show` until the status (the CLI has no --wait for stop/start). */
  const serverStatus = async (name: string, want: string): Promise<Json> => {
    for (let i = 0; i < 40; i++) {
      const s = await os(['server', 'show', name, '-f', 'json']);
      if (s.status === want && !s['OS-EXT-STS:task_state']) return s;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`server ${name} never reached ${want}`);
  };
  // By id: this openstackclient's `volume show <name>` trips over its own lookup (Resource.get() arguments).
  const volumeStatus = async (id: string, want: string): Promise<Json> => {
    for (let i = 0; i < 40; i++) {
      const v = await os(['volume', 'show', id, '-f', 'json']);
      if (v.status === want) return v;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`volume ${id} never reached ${want}`);
  };

  it('token issue with a CloudStack API key and secret key', async () => {
    const t = await os(['token', 'issue', '-f', 'json']);
    expect(t.project_id).to.match(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(t)).not.to.include(h.account.secretKey);
    const project = await os(['project', 'show', t.project_id, '-f', 'json'], { OS_USERNAME: 'admin', OS_PASSWORD: h.gw.adminPassword, OS_PROJECT_NAME: 'admin' });
    expect(project.name).to.equal(`cloudstack-${h.account.account}`);
    await expectFailure(os(['token', 'issue'], { OS_PASSWORD: 'not-the-secret-key' }), /401|authenticat/i);
  });

  it('availability zone list, flavor list, image list', async () => {
    const zones = await os(['availability', 'zone', 'list', '--compute', '-f', 'json']);
    expect(zones.map((z: Json) => z['Zone Name'])).to.deep.equal(h.sim.state.zones.map((z) => z.name));
    const flavors = await os(['flavor', 'list', '-f', 'json']);
    expect(flavors.map((f: Json) => [f.Name, f.RAM, f.VCPUs])).to.deep.equal(h.sim.state.serviceOfferings.map((o) => [o.name, o.memory, o.cpunumber]));
    const images = await os(['image', 'list', '-f', 'json']);
    // Templates and ISOs are images.
    expect(images.map((i: Json) => i.Name).sort()).to.deep.equal([...h.sim.state.templates.values(), ...h.sim.state.isos.values()].map((t) => t.name).sort());
    const img = await os(['image', 'show', 'Ubuntu 22.04', '-f', 'json']);
    expect(img).to.include({ name: 'Ubuntu 22.04', visibility: 'public', disk_format: 'qcow2', status: 'active' });
  });

  it('keypair create from a public key: registerSSHKeyPair with the same fingerprint', async () => {
    const dir = h.gw.dataDir;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cli', '-f', join(dir, 'cli')]);
    const k = await os(['keypair', 'create', '--public-key', join(dir, 'cli.pub'), 'cli-key', '-f', 'json']);
    const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, 'cli.pub')], { encoding: 'utf8' }).split(' ')[1]!.replace(/^MD5:/, '');
    expect(k.fingerprint).to.equal(md5);
    expect(h.sim.state.sshKeyPairs.get(`${h.account.account}/cli-key`)?.publickey).to.equal(readFileSync(join(dir, 'cli.pub'), 'utf8').trim());
    expect((await os(['keypair', 'list', '-f', 'json'])).map((x: Json) => x.Name)).to.deep.equal(['cli-key']);
  });

  it('server create --wait through the deploy job; list, show; stop, start, reboot', async () => {
    const zone = h.sim.state.zones[1]!.name as string;
    const s = await os(['server', 'create', '--flavor', 'Medium Instance', '--image', 'Debian 12', '--key-name', 'cli-key',
      '--availability-zone', zone, '--wait', 'cli-web', '-f', 'json']);
    expect(s.status).to.equal('ACTIVE');
    const vm = h.sim.state.vms.get(s.id)!;
    expect([vm.name, vm.state, vm.zonename, vm.serviceofferingname, vm.templatename, vm.keypair]).to.deep.equal(['cli-web', 'Running', zone, 'Medium Instance', 'Debian 12', 'cli-key']);
    expect(h.sim.calls.filter((c) => c.command === 'queryAsyncJobResult').length).to.be.greaterThan(0);
    const list = await os(['server', 'list', '-f', 'json']);
    expect(list.map((x: Json) => [x.Name, x.Status, x.Flavor, x.Image])).to.deep.equal([['cli-web', 'ACTIVE', 'Medium Instance', 'Debian 12']]);
    const shown = await os(['server', 'show', 'cli-web', '-f', 'json']);
    expect(shown).to.include({ key_name: 'cli-key', 'OS-EXT-AZ:availability_zone': zone });
    expect(JSON.stringify(shown.addresses)).to.include(String(vm.nic[0]!.ipaddress));

    // Jobs held while the CLI looks at the state in flight, whatever the machine's speed.
    h.sim.state.holdJobs = true;
    await os(['server', 'stop', 'cli-web']);
    expect((await os(['server', 'show', 'cli-web', '-f', 'json']))['OS-EXT-STS:task_state']).to.equal('powering-off');
    h.sim.state.holdJobs = false;
    await serverStatus('cli-web', 'SHUTOFF');
    expect(vm.state).to.equal('Stopped');
    await os(['server', 'start', 'cli-web']);
    await serverStatus('cli-web', 'ACTIVE');
    await os(['server', 'reboot', '--wait', 'cli-web']);
    expect((await serverStatus('cli-web', 'ACTIVE')).status).to.equal('ACTIVE');
    expect(h.sim.calls.filter((c) => /VirtualMachine$/.test(c.command) && c.command !== 'listVirtualMachines').map((c) => c.command))
      .to.deep.equal(['deployVirtualMachine', 'stopVirtualMachine', 'startVirtualMachine', 'rebootVirtualMachine']);
    // CloudStack has no pause: the CLI hears Nova's 501, and the VM keeps running.
    await expectFailure(os(['server', 'pause', 'cli-web']), /not implemented|HTTP 501/i);
    expect(vm.state).to.equal('Running');
  });

  it('volume create, attach (attachVolume job), detach, delete', async () => {
    const zone = h.sim.state.zones[1]!.name as string;
    const v = await os(['volume', 'create', '--size', '7', '--availability-zone', zone, 'cli-data', '-f', 'json']);
    expect(v).to.include({ size: 7, name: 'cli-data' });
    await volumeStatus(v.id, 'available');
    const simVol = h.sim.state.volumes.get(v.id)!;
    expect([simVol.type, simVol.size, simVol.zonename]).to.deep.equal(['DATADISK', 7 * 1024 ** 3, zone]);

    h.sim.state.holdJobs = true;
    await os(['server', 'add', 'volume', 'cli-web', v.id]);
    expect((await os(['volume', 'show', v.id, '-f', 'json'])).status).to.equal('attaching');
    h.sim.state.holdJobs = false;
    const attached = await volumeStatus(v.id, 'in-use');
    expect(attached.attachments[0]).to.include({ server_id: h.sim.state.vms.values().next().value!.id, device: '/dev/vdb' });
    const shown = await os(['server', 'show', 'cli-web', '-f', 'json']);
    expect(JSON.stringify(shown.volumes_attached)).to.include(v.id);
    await expectFailure(os(['volume', 'delete', v.id]), /status must be available|Invalid volume|400/i);

    h.sim.state.holdJobs = true;
    await os(['server', 'remove', 'volume', 'cli-web', v.id]);
    expect((await os(['volume', 'show', v.id, '-f', 'json'])).status).to.equal('detaching');
    h.sim.state.holdJobs = false;
    await volumeStatus(v.id, 'available');
    expect(simVol.virtualmachineid).to.equal(undefined);
    await os(['volume', 'delete', v.id]);
    expect(h.sim.state.volumes.has(v.id)).to.equal(false);
  });

  it('security group create, rule create (authorize job), list', async () => {
    const sg = await os(['security', 'group', 'create', '--description', 'ssh in', 'cli-ssh', '-f', 'json']);
    const rule = await os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '10.0.0.0/8', 'cli-ssh', '-f', 'json']);
    expect(rule).to.include({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.0/8', direction: 'ingress' });
    const simGroup = h.sim.state.securityGroups.get(sg.id)!;
    expect((simGroup.ingressrule as Json[]).map((r) => [r.ruleid, r.protocol, r.startport, r.endport, r.cidr])).to.deep.equal([[rule.id, 'tcp', 22, 22, '10.0.0.0/8']]);
    const groups = await os(['security', 'group', 'list', '-f', 'json']);
    expect(groups.map((g: Json) => g.Name).sort()).to.deep.equal(['cli-ssh', 'default']);
    await os(['security', 'group', 'rule', 'delete', rule.id]);
    await os(['security', 'group', 'delete', sg.id]);
    expect(h.sim.state.securityGroups.has(sg.id)).to.equal(false);
  });

  it('floating ip create on the zone\'s public network, associate (static NAT) with the server, disassociate', async () => {
    const zone = h.sim.state.zones[1]!.name as string;
    const fip = await os(['floating', 'ip', 'create', `public-${zone}`, '-f', 'json']);
    expect(fip.floating_ip_address).to.match(/^203\.0\./);
    const ip = h.sim.state.publicIps.get(fip.id)!;
    expect(ip.ipaddress).to.equal(fip.floating_ip_address);
    await os(['server', 'add', 'floating', 'ip', 'cli-web', fip.floating_ip_address]);
    const vm = [...h.sim.state.vms.values()].find((x) => x.name === 'cli-web')!;
    expect([ip.isstaticnat, ip.virtualmachineid]).to.deep.equal([true, vm.id]);
    const shown = await os(['server', 'show', 'cli-web', '-f', 'json']);
    expect(JSON.stringify(shown.addresses)).to.include(fip.floating_ip_address);
    const listed = await os(['floating', 'ip', 'show', fip.id, '-f', 'json']);
    expect(listed).to.include({ fixed_ip_address: vm.nic[0]!.ipaddress, status: 'ACTIVE' });
    await os(['server', 'remove', 'floating', 'ip', 'cli-web', fip.floating_ip_address]);
    await os(['floating', 'ip', 'delete', fip.id]);
    expect((await os(['floating', 'ip', 'list', '-f', 'json'])).map((x: Json) => x.ID)).not.to.include(fip.id);
  });

  it('server delete --wait: destroyVirtualMachine, the server is gone', async () => {
    await os(['server', 'delete', '--wait', 'cli-web']);
    expect(await os(['server', 'list', '-f', 'json'])).to.deep.equal([]);
    expect(h.sim.calls.some((c) => c.command === 'destroyVirtualMachine' && c.params.expunge === 'true')).to.equal(true);
  });
});
