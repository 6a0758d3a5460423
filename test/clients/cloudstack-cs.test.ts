/**
 * The CloudStack simulator checked with a real CloudStack client: `cs`
 * (Debian python3-cs), which signs requests itself (signatureVersion 3 with
 * expires) and parses `<command>response` envelopes. If the simulator's
 * signature check or answers differ from CloudStack's, cs fails here.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startCloudStackSimulator, type CloudStackSimulator } from '../simulators/cloudstack/server.js';
import { CloudStackClient } from '../../drivers/cloudstack/client.js';

const run = promisify(execFile);
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- cs JSON output, asserted field by field

describe('cs (python3-cs) against the CloudStack simulator', function () {
  this.timeout(60_000);
  let sim: CloudStackSimulator;
  const apiKey = randomBytes(32).toString('base64url');
  const secretKey = randomBytes(32).toString('base64url');

  const cs = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: Json; stderr: string; code: number }> => {
    const e = { PATH: process.env.PATH, HOME: '/nonexistent', CLOUDSTACK_ENDPOINT: sim.endpoint, CLOUDSTACK_KEY: apiKey, CLOUDSTACK_SECRET: secretKey, CLOUDSTACK_POLL_INTERVAL: '0.2', ...env };
    try {
      const { stdout, stderr } = await run('/usr/bin/python3', ['-m', 'cs', ...args], { env: e, timeout: 30_000 });
      return { out: JSON.parse(stdout) as Json, stderr, code: 0 };
    } catch (err) {
      const x = err as { stdout?: string; stderr?: string; code?: number };
      return { out: x.stdout ? JSON.parse(x.stdout) as Json : {}, stderr: x.stderr ?? '', code: x.code ?? 1 };
    }
  };

  before(async () => {
    sim = await startCloudStackSimulator({ jobMs: 500 });
    sim.addUser(apiKey, secretKey, 'acct-cs');
  });
  after(async () => { await sim?.close(); });

  it('listZones: signed by cs, verified, answered in listzonesresponse', async () => {
    const { out, code } = await cs(['listZones']);
    expect(code).to.equal(0);
    expect(out.count).to.equal(sim.state.zones.length);
    expect(out.zone.map((z: Json) => z.name)).to.deep.equal(sim.state.zones.map((z) => z.name));
    const call = sim.calls.at(-1)!;
    expect(call).to.include({ command: 'listZones', verified: true });
    expect(call.params).to.include({ signatureversion: '3', response: 'json' });
    expect(call.params.expires).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  });

  it('a wrong secret: 401 with errorcode 401 in the envelope, as CloudStack', async () => {
    // cs exits 0 whatever happens (its __main__ drops main()'s answer): the error is on stderr.
    const { out, stderr } = await cs(['listZones'], { CLOUDSTACK_SECRET: 'not-the-secret' });
    expect(stderr).to.include('CloudStack error: HTTP 401 response from CloudStack');
    expect(out.listzonesresponse).to.deep.include({ errorcode: 401, errortext: 'unable to verify user credentials and/or request signature' });
  });

  it('a value with spaces and symbols is signed with %20 and verified (POST too)', async () => {
    const name = `key with spaces*and.dots-${randomBytes(2).toString('hex')}`;
    const made = await cs(['createSSHKeyPair', `name=${name}`]);
    expect(made.code).to.equal(0);
    expect(made.out.keypair.name).to.equal(name);
    expect(made.out.keypair.privatekey).to.match(/BEGIN RSA PRIVATE KEY/);
    const listed = await cs(['--post', 'listSSHKeyPairs', `name=${name}`]);
    expect(listed.out.sshkeypair.map((k: Json) => k.fingerprint)).to.deep.equal([made.out.keypair.fingerprint]);
  });

  it('deployVirtualMachine waits through queryAsyncJobResult; listVirtualMachines shows it Running', async () => {
    const zone = sim.state.zones[0]!;
    const offering = sim.state.serviceOfferings[0]!;
    const template = [...sim.state.templates.values()][0]!;
    const { out, code } = await cs(['deployVirtualMachine', `zoneid=${zone.id as string}`, `serviceofferingid=${offering.id as string}`, `templateid=${template.id as string}`, 'name=cs-vm1']);
    expect(code).to.equal(0);
    expect(out.virtualmachine).to.include({ name: 'cs-vm1', state: 'Running', zonename: zone.name, serviceofferingname: offering.name, templatename: template.name });
    const polls = sim.calls.filter((c) => c.command === 'queryAsyncJobResult');
    expect(polls.length).to.be.greaterThan(0);
    const vms = await cs(['listVirtualMachines', `id=${out.virtualmachine.id as string}`]);
    expect(vms.out.virtualmachine).to.have.length(1);
    expect(vms.out.virtualmachine[0]).to.include({ id: out.virtualmachine.id, state: 'Running', cpunumber: offering.cpunumber, memory: offering.memory });
  });

  it('queryAsyncJobResult: pending (0), then succeeded (1) with the job result; a failing job is 2 with the error', async () => {
    const vm = [...sim.state.vms.values()][0]!;
    // The job is held while cs looks at it in flight, whatever the machine's speed (a loaded one starts python slowly).
    sim.state.holdJobs = true;
    const stop = await cs(['--async', 'stopVirtualMachine', `id=${vm.id}`]);
    const jobid = stop.out.jobid as string;
    expect(jobid).to.be.a('string');
    const pending = await cs(['queryAsyncJobResult', `jobid=${jobid}`]);
    sim.state.holdJobs = false;
    expect(pending.out).to.include({ jobid, jobstatus: 0, jobinstancetype: 'VirtualMachine', jobinstanceid: vm.id });
    await new Promise((r) => setTimeout(r, 700));
    const done = await cs(['queryAsyncJobResult', `jobid=${jobid}`]);
    expect(done.out).to.include({ jobstatus: 1, jobresultcode: 0, cmd: 'org.apache.cloudstack.api.command.user.vm.StopVMCmd' });
    expect(done.out.jobresult.virtualmachine.state).to.equal('Stopped');

    sim.state.jobFailures.count = 1;
    sim.state.jobFailures.message = 'Unable to start VM: insufficient capacity';
    const start = await cs(['startVirtualMachine', `id=${vm.id}`]);
    expect(start.stderr).to.include('CloudStack error: Job failure');
    const listed = await cs(['listVirtualMachines', `id=${vm.id}`]);
    expect(listed.out.virtualmachine[0].state).to.equal('Stopped');
    const jobs = await cs(['listAsyncJobs']);
    const failed = (jobs.out.asyncjobs as Json[]).find((j) => j.jobstatus === 2)!;
    expect(failed.jobresult).to.deep.equal({ errorcode: 530, errortext: 'Unable to start VM: insufficient capacity' });
  });

  it('stackgate\'s client is accepted like cs; its request once expired (signatureVersion 3) is refused', async () => {
    const client = new CloudStackClient({ endpoint: sim.endpoint, timeoutMs: 5000, retries: 0, signatureTtlSeconds: 60 });
    const zones = await client.list<{ name: string }>({ apiKey, secretKey }, 'listZones', 'zone');
    expect(zones.map((z) => z.name)).to.deep.equal(sim.state.zones.map((z) => z.name));
    const stale = await fetch(`${sim.endpoint}?${client.signedQuery({ apiKey, secretKey }, 'listZones', {}, Date.now() - 120_000)}`);
    expect(stale.status).to.equal(401);
    expect(((await stale.json()) as Json).listzonesresponse.errorcode).to.equal(401);
  });

  it('an unknown command: 432, as CloudStack answers a command the user may not call', async () => {
    const { out, stderr } = await cs(['listHosts']);
    expect(stderr).to.include('HTTP 432');
    expect(out.listhostsresponse.errorcode).to.equal(432);
  });
});
