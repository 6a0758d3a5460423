/**
 * The SoftLayer simulator, checked with SoftLayer's own client: Debian
 * python3-softlayer's `slcli` with its REST transport pointed at the simulator
 * (endpoint_url in a config file). If slcli can order, list, show, power and
 * cancel guests, add and list SSH keys, and list images and VLANs, the
 * simulator speaks SoftLayer the way the driver's tests assume.
 */
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSoftLayerSimulator, type SoftLayerSimulator } from '../simulators/softlayer/server.js';
import { newAccount, type SoftLayerAccount } from '../helpers/softlayer.js';

const run = promisify(execFile);
const SLCLI = '/usr/bin/slcli';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- slcli's JSON output, asserted field by field

describe('softlayer simulator, as slcli (python3-softlayer) sees it', function () {
  this.timeout(120_000);
  let sim: SoftLayerSimulator;
  let home: string;
  let account: SoftLayerAccount;

  /** Runs `slcli --config … <args>`; `--format json` output is parsed. */
  const slcli = async (args: string[], config = join(home, 'softlayer.conf')): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      const { stdout } = await run(SLCLI, ['--config', config, '-y', ...args], { env: { PATH: process.env.PATH, HOME: home }, timeout: 60_000 });
      return args.includes('json') ? JSON.parse(stdout) : stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`slcli ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
    }
  };

  before(async () => {
    sim = await startSoftLayerSimulator({ provisionMs: 1000, transactionMs: 200, cancelMs: 1000 });
    account = newAccount(sim);
    home = mkdtempSync(join(tmpdir(), 'sg-slcli-'));
    // A `/rest` endpoint makes slcli use its REST transport with HTTP basic auth.
    writeFileSync(join(home, 'softlayer.conf'), `[softlayer]\nusername = ${account.username}\napi_key = ${account.apiKey}\nendpoint_url = ${sim.endpoint}\ntimeout = 30\n`);
  });
  after(async () => {
    await sim?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  let guestId = 0;

  it('vs create orders a guest with Product_Order::placeOrder and prints its receipt', async () => {
    const out = await slcli(['vs', 'create', '--hostname', 'web1', '--domain', 'example.com', '--cpu', '2', '--memory', '2048', '--datacenter', 'dal10', '--os', 'UBUNTU_22_64']) as string;
    expect(out).to.include('web1.example.com');
    expect(out).to.match(/OrderId: \d+/);
    expect(out).to.match(/2 x 2\.0 GHz or higher Cores/);
    expect(out).to.match(/Total hourly cost/);
    const guests = [...sim.state.guests.values()].filter((g) => g.accountId === account.accountId);
    expect(guests).to.have.length(1);
    guestId = guests[0]!.id;
    expect([guests[0]!.startCpus, guests[0]!.maxMemory, guests[0]!.osCode]).to.deep.equal([2, 2048, 'UBUNTU_22_64']);
    expect(sim.calls.map((c) => `${c.service}::${c.method}`)).to.include.members(['SoftLayer_Virtual_Guest::generateOrderTemplate', 'SoftLayer_Product_Order::placeOrder']);
  });

  it('vs list shows it provisioning, then running, with the addresses SoftLayer gave it', async () => {
    const first = (await slcli(['--format', 'json', 'vs', 'list'])) as Json[];
    expect(first).to.have.length(1);
    expect(first[0]!.id).to.equal(guestId);
    expect(first[0]!.hostname).to.equal('web1');
    expect(first[0]!.datacenter).to.equal('dal10');
    // JSON output carries a transaction's name (the table shows its friendly name).
    expect(first[0]!.action).to.equal('PROVISION_CLOUD_INSTANCE');
    const g = sim.state.guests.get(guestId)!;
    expect(first[0]!.primary_ip).to.equal(g.primaryIpAddress);
    expect(first[0]!.backend_ip).to.equal(g.primaryBackendIpAddress);
    await new Promise((r) => setTimeout(r, 1100));
    const later = (await slcli(['--format', 'json', 'vs', 'list', '--datacenter', 'dal10', '--hostname', 'web1'])) as Json[];
    expect(later[0]!.action).to.equal(null);
    expect(later[0]!['deviceStatus.name']).to.equal('Running');
    expect((await slcli(['--format', 'json', 'vs', 'list', '--datacenter', 'fra02'])) as Json[]).to.deep.equal([]);
  });

  it('vs detail reads the masked relations: state, OS, disks, VLANs, owner', async () => {
    const d = (await slcli(['--format', 'json', 'vs', 'detail', String(guestId)])) as Json;
    expect(d.hostname).to.equal('web1');
    expect(d.fqdn).to.equal('web1.example.com');
    expect(d.state).to.equal('RUNNING');
    expect(d.datacenter).to.equal('dal10');
    expect(d.cores).to.equal(2);
    expect(d.memory).to.equal(2048);
    expect(d.os).to.match(/Ubuntu/);
    expect(d.owner).to.equal(account.username);
    expect(JSON.stringify(d.vlans)).to.match(/PUBLIC/).and.to.match(/PRIVATE/);
    expect(JSON.stringify(d.drives)).to.match(/25 GB/);
  });

  it('vs power-off and power-on change the power state', async () => {
    await slcli(['vs', 'power-off', String(guestId)]);
    expect(sim.state.guests.get(guestId)!.power).to.equal('HALTED');
    expect(((await slcli(['--format', 'json', 'vs', 'detail', String(guestId)])) as Json).state).to.equal('HALTED');
    await slcli(['vs', 'power-on', String(guestId)]);
    expect(((await slcli(['--format', 'json', 'vs', 'detail', String(guestId)])) as Json).state).to.equal('RUNNING');
  });

  it('sshkey add and list: SoftLayer computes the MD5 fingerprint ssh-keygen shows', async () => {
    const pub = join(home, 'id.pub');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slcli-test', '-f', join(home, 'id')]);
    const added = await slcli(['sshkey', 'add', '--in-file', pub, '--note', 'for tests', 'laptop']) as string;
    const md5 = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', pub], { encoding: 'utf8' }).split(' ')[1]!.replace(/^MD5:/, '');
    expect(added).to.include(md5);
    const keys = (await slcli(['--format', 'json', 'sshkey', 'list'])) as Json[];
    expect(keys).to.deep.equal([{ id: keys[0]!.id, label: 'laptop', fingerprint: md5, notes: 'for tests' }]);
    expect([...sim.state.sshKeys.values()].find((k) => k.id === keys[0]!.id)?.key).to.equal(readFileSync(pub, 'utf8').trim());
  });

  it('image list shows the public templates and the account\'s private ones', async () => {
    const before = (await slcli(['--format', 'json', 'image', 'list'])) as Json[];
    expect(before.every((i) => i.visibility === 'PUBLIC')).to.equal(true);
    expect(before.map((i) => i.name)).to.include('ubuntu-22-64-public');
    const captured = (await slcli(['--format', 'json', 'vs', 'capture', String(guestId), '--name', 'web1-golden'])) as Json;
    const template = [...sim.state.templates.values()].find((t) => t.name === 'web1-golden')!;
    expect(captured.globalIdentifier).to.equal(template.globalIdentifier);
    const after = (await slcli(['--format', 'json', 'image', 'list', '--private'])) as Json[];
    expect(after.map((i) => [i.name, i.visibility, i.account])).to.deep.equal([['web1-golden', 'PRIVATE', account.accountId]]);
  });

  it('vlan list shows the account\'s VLANs with their datacenters and guest counts', async () => {
    const vlans = (await slcli(['--format', 'json', 'vlan', 'list'])) as Json[];
    const mine = [...sim.state.vlans.values()].filter((v) => v.accountId === account.accountId);
    expect(vlans.map((v) => v.Id).sort()).to.deep.equal(mine.map((v) => v.id).sort());
    const g = sim.state.guests.get(guestId)!;
    const pub = vlans.find((v) => v.Id === g.publicVlanId)!;
    expect(pub.Network).to.equal('Public');
    expect(pub['Data center']).to.equal('dal10');
    expect(pub['Virtual servers']).to.equal(1);
    expect((await slcli(['--format', 'json', 'vlan', 'list', '--datacenter', 'fra02'])) as Json[]).to.have.length(2);
  });

  it('vs cancel starts the reclaim; the guest is gone once it ends', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const out = await slcli(['vs', 'cancel', String(guestId)]) as string;
    expect(out).to.include(`${guestId} was cancelled`);
    const listed = (await slcli(['--format', 'json', 'vs', 'list'])) as Json[];
    expect(listed[0]!.action).to.equal('CLOUD_INSTANCE_RECLAIM');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await slcli(['--format', 'json', 'vs', 'list'])) as Json[]).to.deep.equal([]);
  });

  it('a wrong API key is SoftLayer\'s 401, as slcli reports it', async () => {
    const bad = join(home, 'bad.conf');
    writeFileSync(bad, `[softlayer]\nusername = ${account.username}\napi_key = ${'0'.repeat(64)}\nendpoint_url = ${sim.endpoint}\n`);
    try {
      await slcli(['vs', 'list'], bad);
      throw new Error('slcli accepted a wrong key');
    } catch (err) {
      expect((err as Error).message).to.match(/SoftLayerAPIError\(401\): Access Denied/);
    }
  });
});
