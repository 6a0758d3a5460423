/**
 * Slow and oversized clients: headers that never finish are a 408, headers or
 * a URL too large a 431, bytes that are not HTTP a 400, each with a JSON fault
 * body (Node would send a bare status line); the gateway keeps serving.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { startGateway, type Harness } from '../helpers/gateway.js';

/** Writes `data` to the gateway on a raw socket and resolves with what it answered before closing (bounded). */
function raw(h: Harness, data: string, ms: number): Promise<{ text: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => { socket.destroy(); resolve({ text, closedAfterMs: Infinity }); }, ms);
    socket.on('data', (c) => { text += c.toString('latin1'); });
    socket.on('close', () => { clearTimeout(timer); resolve({ text, closedAfterMs: Date.now() - started }); });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
    socket.write(data);
  });
}

/** The JSON fault of a raw HTTP answer. */
function faultOf(text: string): { code: number; title: string; message: string } {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { code: number; title: string; message: string } }).error;
}

describe('slow and oversized clients', function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => { h = await startGateway({ limits: { headersTimeoutMs: 600 } }); });
  after(() => h?.close());

  it('a client that never finishes its headers is answered 408 and cut off, others are served meanwhile', async () => {
    const slow = raw(h, 'GET /compute/v2.1/flavors HTTP/1.1\r\nHost: x\r\nX-Slow: ', 10_000);
    const meanwhile = await h.request('GET', '/compute/v2.1/flavors');
    expect(meanwhile.status).to.equal(200);
    const r = await slow;
    expect(r.text).to.match(/^HTTP\/1\.1 408/);
    expect(faultOf(r.text)).to.deep.include({ code: 408 });
    expect(r.closedAfterMs).to.be.below(5000);
  });

  it('headers larger than 16 KB are a 431; the gateway keeps serving', async () => {
    const r = await raw(h, `GET /compute/v2.1/flavors HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 5000);
    expect(r.text).to.match(/^HTTP\/1\.1 431/);
    expect(faultOf(r.text).message).to.match(/larger than 16 KB/);
    expect((await h.request('GET', '/compute/v2.1/flavors')).status).to.equal(200);
  });

  it('a URL over 16 KB is a 431 with a fault body too; bytes that are not HTTP a 400', async () => {
    const long = await raw(h, `GET /compute/v2.1/flavors?name=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 5000);
    expect(long.text).to.match(/^HTTP\/1\.1 431/);
    expect(faultOf(long.text)).to.deep.include({ code: 431, title: 'Request Header Fields Too Large' });
    const junk = await raw(h, 'NOT HTTP AT ALL\r\n\r\n', 5000);
    expect(junk.text).to.match(/^HTTP\/1\.1 400/);
    expect(faultOf(junk.text)).to.deep.include({ code: 400 });
    expect((await h.request('GET', '/compute/v2.1/flavors')).status).to.equal(200);
  });

  it('a JSON body over the limit is a 413 in the service\'s fault format', async () => {
    const res = await h.request('POST', '/compute/v2.1/os-keypairs', { raw: JSON.stringify({ keypair: { name: 'x', public_key: 'a'.repeat(2 * 1024 * 1024) } }), headers: { 'content-type': 'application/json' } });
    expect(res.status).to.equal(413);
    expect(res.json).to.have.nested.property('overLimit.code', 413);
  });
});
