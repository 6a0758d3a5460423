/**
 * When SoftLayer misbehaves: slow answers, 500s, reset connections, malformed
 * JSON. The gateway answers the OpenStack fault that says so (504, 502, 503),
 * retries only what is safe to retry, keeps serving, and never logs the
 * SoftLayer credential.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { startSoftLayerGateway, type SoftLayerHarness } from '../helpers/softlayer.js';
import type { TestResponse } from '../helpers/gateway.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies, asserted field by field

function expectStatus(res: TestResponse, status: number): void {
  expect(res.status, res.text).to.equal(status);
}

describe('softlayer: backend faults', function () {
  this.timeout(60_000);
  let h: SoftLayerHarness;
  const lines: string[] = [];
  const servers = () => h.gw.request('GET', '/compute/v2.1/servers', { token: h.token });
  const countCalls = (method: string) => h.sim.calls.filter((c) => c.method === method).length;

  before(async () => {
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)); done(); } });
    h = await startSoftLayerGateway({ timeoutMs: 400, retries: 1, logger: createLogger('trace', sink) });
  });
  afterEach(() => {
    Object.assign(h.sim.faults, { delayMs: 0, fail500: 0, reset: 0, malformed: 0 });
    delete h.sim.faults.only;
  });
  after(async () => { await h?.close(); });

  it('a SoftLayer that answers too slowly is a 504, after one retry of the read', async () => {
    h.sim.faults.delayMs = 700;
    const before = countCalls('getVirtualGuests');
    const started = Date.now();
    const res = await servers();
    expectStatus(res, 504);
    expect((res.json as Json).computeFault.code).to.equal(504);
    expect(countCalls('getVirtualGuests') - before).to.equal(2);
    expect(Date.now() - started).to.be.lessThan(5000);
  });

  it('one 500 on a read is retried away; repeated 500s are a 502', async () => {
    h.sim.faults.fail500 = 1;
    expectStatus(await servers(), 200);
    h.sim.faults.fail500 = 5;
    const res = await servers();
    expectStatus(res, 502);
    expect(res.text).not.to.match(/<html>/);
  });

  it('a call that changes something is never retried: one 500 on createObject is a 502 and one order', async () => {
    const images = ((await h.gw.request('GET', '/compute/v2.1/images', { token: h.token })).json as Json).images as Json[];
    h.sim.faults.only = /::createObject$/;
    h.sim.faults.fail500 = 1;
    const before = countCalls('createObject');
    const res = await h.gw.request('POST', '/compute/v2.1/servers', { token: h.token, body: { server: { name: 'once', flavorRef: 'sl.1x1x25', imageRef: images[0]!.id } } });
    expectStatus(res, 502);
    expect(countCalls('createObject') - before).to.equal(1);
  });

  it('a reset connection is retried on reads; resets that persist are a 503', async () => {
    h.sim.faults.reset = 1;
    expectStatus(await servers(), 200);
    h.sim.faults.reset = 5;
    const res = await servers();
    expectStatus(res, 503);
    // 5xx text stays in the log; the client reads Nova's serviceUnavailable.
    expect((res.json as Json).serviceUnavailable.code).to.equal(503);
    expect(lines.some((l) => /ECONNRESET/.test(l) && /getVirtualGuests/.test(l))).to.equal(true);
  });

  it('malformed JSON from SoftLayer is a 502', async () => {
    h.sim.faults.malformed = 1;
    const res = await servers();
    expectStatus(res, 502);
  });

  it('a login while SoftLayer is unreachable is a 503, not a 401', async () => {
    h.sim.faults.reset = 5;
    const res = await h.gw.request('POST', '/identity/v3/auth/tokens', {
      token: null,
      body: { auth: { identity: { methods: ['password'], password: { user: { name: h.account.username, domain: { id: 'default' }, password: h.account.apiKey } } } } },
    });
    expectStatus(res, 503);
  });

  it('after all that the gateway still serves, and no log line holds the API key or the basic-auth header', async () => {
    expectStatus(await servers(), 200);
    expect(lines.length).to.be.greaterThan(10);
    expect(lines.some((l) => /softlayer call failed/.test(l))).to.equal(true);
    const basic = Buffer.from(`${h.account.username}:${h.account.apiKey}`).toString('base64');
    for (const line of lines) {
      expect(line).not.to.include(h.account.apiKey);
      expect(line).not.to.include(basic);
      expect(line).not.to.include(h.token);
    }
  });
});

describe('softlayer: the circuit breaker', function () {
  this.timeout(60_000);
  let h: SoftLayerHarness;
  const servers = () => h.gw.request('GET', '/compute/v2.1/servers', { token: h.token });

  before(async () => {
    h = await startSoftLayerGateway({ timeoutMs: 400, retries: 0, overrides: { breaker: { failures: 3, openSeconds: 1 } } });
  });
  after(async () => { await h?.close(); });

  it('opens after 3 failures in a row: SoftLayer is left alone, 503 with Retry-After; a trial after the pause closes it', async () => {
    h.sim.faults.fail500 = 1000;
    for (let i = 0; i < 3; i++) expectStatus(await servers(), 502);
    const calls = h.sim.calls.length;
    const open = await servers();
    expectStatus(open, 503);
    expect(open.headers.get('retry-after')).to.equal('1');
    expect((open.json as Json).serviceUnavailable.message).to.match(/suspended/);
    expect(h.sim.calls.length, 'no call reached SoftLayer while open').to.equal(calls);
    // SoftLayer recovers; after the pause one trial goes through and the circuit closes.
    h.sim.faults.fail500 = 0;
    await new Promise((r) => setTimeout(r, 1100));
    expectStatus(await servers(), 200);
    expectStatus(await servers(), 200);
  });

  it('a trial that fails opens it again; faults of the caller do not count', async () => {
    h.sim.faults.fail500 = 1000;
    for (let i = 0; i < 3; i++) expectStatus(await servers(), 502);
    await new Promise((r) => setTimeout(r, 1100));
    expectStatus(await servers(), 502); // the trial
    expectStatus(await servers(), 503); // open again at once
    h.sim.faults.fail500 = 0;
    await new Promise((r) => setTimeout(r, 1100));
    // 404s are SoftLayer working: many in a row leave the circuit closed.
    for (let i = 0; i < 5; i++) expectStatus(await h.gw.request('GET', '/compute/v2.1/servers/00000000-0000-4000-8000-000000000001', { token: h.token }), 404);
    expectStatus(await servers(), 200);
  });
});
