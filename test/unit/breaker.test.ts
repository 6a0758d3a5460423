/** src/breaker: closed → open after N backend failures → half-open trial → closed or open again. */
import { expect } from 'chai';
import { CircuitBreaker } from '../../src/breaker.js';
import { Fault } from '../../src/faults.js';

describe('CircuitBreaker', () => {
  let now = 0;
  const breaker = () => new CircuitBreaker('The test backend', { failures: 2, openMs: 5000 }, undefined, () => now);
  const down = () => Promise.reject(new Fault('backendUnavailable', 'down'));
  const ok = () => Promise.resolve('ok');
  const fault = async (p: Promise<unknown>): Promise<Fault> => { try { await p; } catch (e) { return e as Fault; } throw new Error('expected a fault'); };

  beforeEach(() => { now = 1_000_000; });

  it('passes calls and their faults while closed; a success resets the count', async () => {
    const b = breaker();
    expect(await b.run(ok)).to.equal('ok');
    expect((await fault(b.run(down))).message).to.equal('down');
    expect(await b.run(ok)).to.equal('ok');
    expect((await fault(b.run(down))).message).to.equal('down');
    expect(b.status).to.equal('closed');
  });

  it('opens after N failures in a row and fails fast with Retry-After until the pause ends', async () => {
    const b = breaker();
    await fault(b.run(down));
    const second = await fault(b.run(down));
    expect(second.headers['Retry-After']).to.equal('5');
    expect(b.status).to.equal('open');
    let called = false;
    const f = await fault(b.run(() => { called = true; return ok(); }));
    expect(called).to.equal(false);
    expect([f.status, f.headers['Retry-After']]).to.deep.equal([503, '5']);
    now += 2000;
    expect((await fault(b.run(ok))).headers['Retry-After']).to.equal('3');
  });

  it('after the pause one trial goes through: success closes, failure opens again', async () => {
    const b = breaker();
    await fault(b.run(down));
    await fault(b.run(down));
    now += 5000;
    expect((await fault(b.run(down))).message).to.equal('down');
    expect(b.status).to.equal('open');
    now += 5000;
    expect(await b.run(ok)).to.equal('ok');
    expect(b.status).to.equal('closed');
  });

  it('faults of the caller (4xx) are the backend working', async () => {
    const b = breaker();
    for (let i = 0; i < 5; i++) await fault(b.run(() => Promise.reject(Fault.notFound('nope'))));
    expect(b.status).to.equal('closed');
  });
});
