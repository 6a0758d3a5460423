/**
 * SoftLayerClient: the REST request it sends and the fault each SoftLayer
 * answer becomes, against a canned HTTP server on 127.0.0.1.
 */
import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SoftLayerClient } from '../../drivers/softlayer/client.js';
import { isFault, type Fault } from '../../src/faults.js';

interface Seen { method: string; url: URL; auth: string; body: string }
type Canned = { status: number; body: string; headers?: Record<string, string> } | 'hang' | 'reset';

const cred = { username: 'SL1', apiKey: 'k'.repeat(64) };

describe('SoftLayerClient', () => {
  let server: Server;
  let endpoint = '';
  const seen: Seen[] = [];
  let answers: Canned[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        seen.push({ method: req.method!, url: new URL(req.url!, 'http://x'), auth: req.headers.authorization ?? '', body });
        const a = answers.shift() ?? { status: 200, body: '[]' };
        if (a === 'hang') return;
        if (a === 'reset') { req.socket.destroy(); return; }
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/v3.1`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => { seen.length = 0; answers = []; });

  const client = (o: { retries?: number; timeoutMs?: number } = {}) => new SoftLayerClient({ endpoint, timeoutMs: o.timeoutMs ?? 2000, retries: o.retries ?? 0 });
  const fault = async (p: Promise<unknown>): Promise<Fault> => {
    try { await p; } catch (err) { if (isFault(err)) return err; throw err; }
    throw new Error('expected a fault');
  };

  describe('requests', () => {
    it('GET {endpoint}/Service/{id}/method.json with basic auth, objectMask, objectFilter, resultLimit', async () => {
      answers = [{ status: 200, body: '[{"id":1}]', headers: { 'softlayer-total-items': '7' } }];
      const r = await client().list(cred, 'SoftLayer_Account', 'getVirtualGuests', { mask: 'id,hostname', filter: { virtualGuests: { hostname: { operation: 'web' } } }, offset: 5, limit: 2 });
      expect(r).to.deep.equal({ items: [{ id: 1 }], total: 7 });
      const s = seen[0]!;
      expect(s.method).to.equal('GET');
      expect(s.url.pathname).to.equal('/rest/v3.1/SoftLayer_Account/getVirtualGuests.json');
      expect(s.url.searchParams.get('objectMask')).to.equal('mask[id,hostname]');
      expect(JSON.parse(s.url.searchParams.get('objectFilter')!)).to.deep.equal({ virtualGuests: { hostname: { operation: 'web' } } });
      expect(s.url.searchParams.get('resultLimit')).to.equal('5,2');
      expect(s.auth).to.equal(`Basic ${Buffer.from(`${cred.username}:${cred.apiKey}`).toString('base64')}`);
    });

    it('parameters go as {"parameters": […]} in a POST; the init parameter sits before the method', async () => {
      answers = [{ status: 200, body: 'true' }];
      expect(await client().call(cred, 'SoftLayer_Virtual_Guest', 'setTags', { id: 42, params: ['a,b'] })).to.equal(true);
      expect(seen[0]!.method).to.equal('POST');
      expect(seen[0]!.url.pathname).to.equal('/rest/v3.1/SoftLayer_Virtual_Guest/42/setTags.json');
      expect(JSON.parse(seen[0]!.body)).to.deep.equal({ parameters: ['a,b'] });
    });

    it('listAll pages until SoftLayer-Total-Items is reached', async () => {
      answers = [
        { status: 200, body: '[1,2]', headers: { 'softlayer-total-items': '5' } },
        { status: 200, body: '[3,4]', headers: { 'softlayer-total-items': '5' } },
        { status: 200, body: '[5]', headers: { 'softlayer-total-items': '5' } },
      ];
      expect(await client().listAll(cred, 'SoftLayer_Account', 'getSshKeys', {}, 2)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(seen.map((s) => s.url.searchParams.get('resultLimit'))).to.deep.equal(['0,2', '2,2', '4,2']);
    });
  });

  describe('errors become faults', () => {
    const table: [string, Canned, number][] = [
      ['ObjectNotFound', { status: 404, body: '{"error":"Unable to find object with id of \'9\'.","code":"SoftLayer_Exception_ObjectNotFound"}' }, 404],
      ['a public exception (the user\'s mistake)', { status: 500, body: '{"error":"Invalid value for hostname.","code":"SoftLayer_Exception_Public"}' }, 400],
      ['a missing creation property', { status: 500, body: '{"error":"Property \'domain\' must be set.","code":"SoftLayer_Exception_MissingCreationProperty"}' }, 400],
      ['refused credentials', { status: 401, body: '{"error":"Access Denied. ","code":"SoftLayer_Exception_Public"}' }, 401],
      ['a permission SoftLayer withholds', { status: 403, body: '{"error":"No permission","code":"SoftLayer_Exception_PermissionDenied"}' }, 403],
      ['an internal SoftLayer error', { status: 500, body: '{"error":"Internal Error","code":"SoftLayer_Exception_InternalError"}' }, 502],
      ['an HTML error page', { status: 502, body: '<html>Bad Gateway</html>' }, 502],
      ['malformed JSON', { status: 200, body: '{"id": 1,' }, 502],
      ['a reset connection', 'reset', 503],
    ];
    for (const [what, answer, status] of table) {
      it(`${what} → ${status}`, async () => {
        answers = [answer];
        const f = await fault(client().call(cred, 'SoftLayer_Virtual_Guest', 'getObject', { id: 9 }));
        expect(f.status).to.equal(status);
        expect(JSON.stringify({ message: f.message, cause: String(f.cause), stack: (f.cause as Error | undefined)?.stack })).not.to.include(cred.apiKey);
      });
    }

    it('the public exception\'s message reaches the user; a 5xx\'s body stays in the log, the user hears which call failed', async () => {
      answers = [{ status: 500, body: '{"error":"Invalid value for hostname.","code":"SoftLayer_Exception_Public"}' }];
      expect((await fault(client().call(cred, 'SoftLayer_Virtual_Guest', 'createObject', { params: [{}] }))).message).to.equal('Invalid value for hostname.');
      answers = [{ status: 500, body: '<html>internal detail</html>' }];
      const f = await fault(client().call(cred, 'SoftLayer_Account', 'getObject'));
      expect(f.status).to.equal(502);
      expect(f.message).to.equal('SoftLayer SoftLayer_Account::getObject failed: HTTP 500.');
    });

    it('a call that does not answer in time is a 504', async () => {
      answers = ['hang'];
      const f = await fault(client({ timeoutMs: 200 }).call(cred, 'SoftLayer_Account', 'getObject'));
      expect(f.status).to.equal(504);
    });
  });

  describe('retries', () => {
    it('read-only calls are retried after a 5xx or a reset, up to the limit', async () => {
      answers = [{ status: 503, body: '' }, 'reset', { status: 200, body: '{"id":1}' }];
      expect(await client({ retries: 2 }).call(cred, 'SoftLayer_Account', 'getObject')).to.deep.equal({ id: 1 });
      expect(seen).to.have.length(3);
      answers = [{ status: 503, body: '' }, { status: 503, body: '' }, { status: 503, body: '' }];
      seen.length = 0;
      expect((await fault(client({ retries: 1 }).call(cred, 'SoftLayer_Account', 'getObject'))).status).to.equal(502);
      expect(seen).to.have.length(2);
    });

    it('calls that change something are never retried', async () => {
      answers = [{ status: 503, body: '' }, { status: 200, body: '{"id":1}' }];
      expect((await fault(client({ retries: 2 }).call(cred, 'SoftLayer_Virtual_Guest', 'createObject', { params: [{}] }))).status).to.equal(502);
      expect(seen).to.have.length(1);
    });
  });
});
