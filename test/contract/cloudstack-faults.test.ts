/**
 * When CloudStack misbehaves: slow answers, a proxy's 503 pages, reset
 * connections, failed jobs, a management server that is gone. The gateway
 * answers the OpenStack fault that says so (504, 503, ERROR with the job's
 * message), retries only read-only commands, keeps serving, and never logs
 * the secret key or the token.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { startCloudStackGateway, type CloudStackHarness } from '../helpers/cloudstack.js';
import type { TestResponse } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, res.text).to.equal(status);
}

describe('cloudstack: backend faults', function () {
  this.timeout(60_000);
  let h: CloudStackHarness;
  const lines: string[] = [];
  const servers = () => h.gw.request('GET', '/compute/v2.1/servers', { token: h.token });
  const countCalls = (command: string) => h.sim.calls.filter((c) => c.command === command).length;
  const login = (name: string, password: string) => h.gw.request('POST', '/identity/v3/auth/tokens', {
    token: null,
    body: { auth: { identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } } } },
  });

  before(async () => {
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); done(); } });
    h = await startCloudStackGateway({ jobMs: 300, timeoutMs: 400, retries: 1, logger: createLogger('trace', sink) });
  });
  afterEach(() => {
    Object.assign(h.sim.faults, { delayMs: 0, unavailable: 0, reset: 0 });
    delete h.sim.faults.only;
  });
  after(async () => { await h?.close(); });

  it('a CloudStack that answers too slowly is a 504, after one retry of the list', async () => {
    h.sim.faults.delayMs = 700;
    h.sim.faults.only = /^listVirtualMachines$/;
    const before = countCalls('listVirtualMachines');
    const started = Date.now();
    const res = await servers();
    expectStatus(res, 504);
    expect((res.json as Json).computeFault.code).to.equal(504);
    expect(countCalls('listVirtualMachines') - before).to.equal(2);
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it('one 503 page on a list is retried away; repeated ones are a 503', async () => {
    h.sim.faults.unavailable = 1;
    expectStatus(await servers(), 200);
    h.sim.faults.unavailable = 5;
    const res = await servers();
    expectStatus(res, 503);
    expect((res.json as Json).serviceUnavailable.code).to.equal(503);
    expect(res.text).not.to.match(/<html>/);
  });

  it('a command that changes something is never retried: one reset on deployVirtualMachine is a 503 and one call', async () => {
    const images = ((await h.gw.request('GET', '/image/v2/images', { token: h.token })).json as Json).images as Json[];
    h.sim.faults.only = /^deployVirtualMachine$/;
    h.sim.faults.reset = 1;
    const before = countCalls('deployVirtualMachine');
    const res = await h.gw.request('POST', '/compute/v2.1/servers', {
      token: h.token, body: { server: { name: 'once', flavorRef: h.sim.state.serviceOfferings[0]!.id, imageRef: images.find((i) => i.disk_format !== 'iso')!.id } },
    });
    expectStatus(res, 503);
    expect(countCalls('deployVirtualMachine') - before).to.equal(1);
    expect(h.sim.state.vms.size).to.equal(0);
  });

  it('a volume attach job that fails: the volume is available again, not stuck attaching', async () => {
    const images = ((await h.gw.request('GET', '/image/v2/images', { token: h.token })).json as Json).images as Json[];
    const made = await h.gw.request('POST', '/compute/v2.1/servers', {
      token: h.token, body: { server: { name: 'vm-a', flavorRef: h.sim.state.serviceOfferings[0]!.id, imageRef: images.find((i) => i.disk_format !== 'iso')!.id } },
    });
    expectStatus(made, 202);
    const serverId = (made.json as Json).server.id as string;
    const vol = await h.gw.request('POST', '/volume/v3/volumes', { token: h.token, body: { volume: { size: 3, name: 'v-a', availability_zone: h.sim.state.zones[0]!.name } } });
    expectStatus(vol, 202);
    const volumeId = (vol.json as Json).volume.id as string;
    await new Promise((r) => setTimeout(r, 400));
    h.sim.state.jobFailures.count = 1;
    h.sim.state.jobFailures.message = 'Failed to attach volume v-a: the storage pool is full';
    h.sim.state.jobFailures.only = /^attachVolume$/;
    expectStatus(await h.gw.request('POST', `/compute/v2.1/servers/${serverId}/os-volume_attachments`, { token: h.token, body: { volumeAttachment: { volumeId } } }), 200);
    const attaching = await h.gw.request('GET', `/volume/v3/volumes/${volumeId}`, { token: h.token });
    expect((attaching.json as Json).volume.status).to.equal('attaching');
    await new Promise((r) => setTimeout(r, 400));
    const after = await h.gw.request('GET', `/volume/v3/volumes/${volumeId}`, { token: h.token });
    expect((after.json as Json).volume.status).to.equal('available');
    delete h.sim.state.jobFailures.only;
  });

  it('a wrong secret key is a 401 with a clear message; CloudStack saw an unverifiable signature', async () => {
    const res = await login(h.account.apiKey, 'wrong-secret-key-0123456789');
    expectStatus(res, 401);
    expect((res.json as Json).error.message).to.match(/requires authentication/i);
    expect(h.sim.calls.at(-1)).to.include({ command: 'listUsers', verified: false });
  });

  it('a login while CloudStack is unreachable is a 503, not a 401', async () => {
    h.sim.faults.reset = 5;
    expectStatus(await login(h.account.apiKey, h.account.secretKey), 503);
  });

  it('no log line holds the secret key, a signature or the token', async () => {
    expectStatus(await servers(), 200);
    expect(lines.length).to.be.greaterThan(10);
    expect(lines.some((l) => /cloudstack call failed/.test(l))).to.equal(true);
    for (const line of lines) {
      expect(line).not.to.include(h.account.secretKey);
      expect(line).not.to.include('wrong-secret-key-0123456789');
      expect(line).not.to.match(/signature=/i);
      expect(line).not.to.include(h.token);
    }
  });

  it('CloudStack gone (the simulator stopped): servers and logins are 503 faults', async () => {
    await h.sim.close();
    const res = await servers();
    expectStatus(res, 503);
    // 5xx text stays in the log (ECONNREFUSED); the client reads Nova's serviceUnavailable.
    expect((res.json as Json).serviceUnavailable.code).to.equal(503);
    expect(lines.some((l) => /ECONNREFUSED/.test(l) && /listVirtualMachines/.test(l))).to.equal(true);
    expectStatus(await login(h.account.apiKey, h.account.secretKey), 503);
  });
});
