/**
 * The dispatcher seen over HTTP, with a backend that echoes what it receives:
 * validation 400s, microversion negotiation, action dispatch, fault dialects,
 * 404/405/406/413/415, alias routes, HEAD.
 */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { echoModule, seen } from '../helpers/echo-backend.js';
import { SERVICES } from '../../generated/services.js';
import { expectFault } from '../helpers/every-operation.js';

const compute = SERVICES.find((s) => s.name === 'compute')!;
const identity = SERVICES.find((s) => s.name === 'identity')!;
const network = SERVICES.find((s) => s.name === 'network')!;
const volume = SERVICES.find((s) => s.name === 'block-storage')!;
const placement = SERVICES.find((s) => s.name === 'placement')!;

const mv = (v: string) => ({ 'openstack-api-version': `compute ${v}` });
const last = () => seen[seen.length - 1]!;

describe('dispatch', function () {
  let h: Harness;
  before(async () => { h = await startGateway({ limits: { maxBodyBytes: 4096 } }, echoModule); });
  after(() => h.close());
  beforeEach(() => { seen.length = 0; });

  describe('request validation (openapi-backend, before the driver)', () => {
    it('a valid server create reaches the driver with its body and answers 202 with Location', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 'vm1', flavorRef: '1', imageRef: '70a599e0-31e7-49b7-b260-868f441e862b' } } });
      expect(res.status, res.text).to.equal(202);
      expect(res.headers.get('location')).to.equal(`${h.url}/compute/v2.1/servers/echo-1`);
      expect(last()).to.include({ method: 'createServer', microversion: '2.1' });
      expect((last().body as { server: { name: string } }).server.name).to.equal('vm1');
      // The client is still waiting: reading the body must not abort the driver's signal.
      expect(last().aborted).to.equal(false);
    });

    it('malformed JSON is a 400 in Nova\'s format, and the driver is not called', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { raw: '{"server": {', headers: { 'content-type': 'application/json' } });
      expect(expectFault(compute, res, 400)).to.match(/Malformed request body/);
      expect(res.json).to.have.property('badRequest');
      expect(seen).to.have.length(0);
    });

    it('a wrong type names the field', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 5, flavorRef: '1' } } });
      expect(expectFault(compute, res, 400)).to.contain('server.name');
      expect(seen).to.have.length(0);
    });

    it('a missing required field is a 400', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 'vm1' } } });
      expect(expectFault(compute, res, 400)).to.match(/flavorRef/);
    });

    it('an unexpected property is a 400 where the schema forbids it', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 'a', flavorRef: '1', bogus: true } } });
      expect(expectFault(compute, res, 400)).to.contain("unexpected property 'bogus'");
    });

    it('a missing body is a 400 where the operation needs one', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers');
      expect(expectFault(compute, res, 400)).to.match(/body is missing/);
    });

    it('validates against the branch of the negotiated microversion, not the union', async () => {
      const body = { server: { name: 'a', flavorRef: '1', networks: 'auto' } };
      const old = await h.request('POST', '/compute/v2.1/servers', { body, headers: mv('2.36') });
      expect(old.status, old.text).to.equal(400);
      const now = await h.request('POST', '/compute/v2.1/servers', { body, headers: mv('2.37') });
      expect(now.status, now.text).to.equal(202);
      expect(last().microversion).to.equal('2.37');
    });

    it('query parameters the spec lists are validated; others pass through unvalidated (Keystone filters by any attribute)', async () => {
      const ok = await h.request('GET', '/compute/v2.1/servers?limit=2&name=x&nonsense=1');
      expect(ok.status, ok.text).to.equal(200);
      expect(last().query).to.deep.equal({ limit: '2', name: 'x', nonsense: '1' });
      const bad = await h.request('GET', '/compute/v2.1/servers?limit=-3');
      expect(expectFault(compute, bad, 400)).to.contain('limit');
    });

    it('a body larger than the limit is a 413 overLimit', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 'x'.repeat(5000), flavorRef: '1' } } });
      expect(res.status).to.equal(413);
      expect(res.json).to.have.nested.property('overLimit.code', 413);
    });

    it('a non-JSON content type is a 415', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).to.equal(415);
      expect(res.json).to.have.nested.property('badMediaType.code', 415);
    });

    it('Keystone calls fail in Keystone\'s format', async () => {
      const res = await h.request('POST', '/identity/v3/projects', { body: { project: { name: 7 } } });
      expectFault(identity, res, 400);
      expect(res.json).to.have.nested.property('error.title', 'Bad Request');
    });
  });

  describe('actions', () => {
    it('POST …/action dispatches on the body key to its own driver method', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers/abc/action', { body: { reboot: { type: 'HARD' } } });
      expect(res.status, res.text).to.equal(202);
      expect(last()).to.include({ method: 'rebootServer' });
      expect(last().path).to.deep.equal({ id: 'abc' });
    });

    it('an action body that breaks its schema is a 400', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers/abc/action', { body: { reboot: { type: 'SIDEWAYS' } } });
      expect(expectFault(compute, res, 400)).to.contain('reboot.type');
    });

    it('an unknown action is a 400 "no such action"', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers/abc/action', { body: { teleport: {} } });
      expect(expectFault(compute, res, 400)).to.contain('There is no such action: teleport');
    });

    it('an action outside its microversion range is a 404, inside it answers', async () => {
      const body = { 'os-getVNCConsole': { type: 'novnc' } };
      const inside = await h.request('POST', '/compute/v2.1/servers/abc/action', { body, headers: mv('2.5') });
      expect(inside.status, inside.text).to.equal(200);
      const outside = await h.request('POST', '/compute/v2.1/servers/abc/action', { body, headers: mv('2.6') });
      expectFault(compute, outside, 404);
    });

    it('an action the driver lacks is a 501 naming it', async () => {
      const res = await h.request('POST', '/compute/v2.1/servers/abc/action', { body: { pause: null } });
      expect(expectFault(compute, res, 501)).to.contain('compute.servers.action.pause');
    });
  });

  describe('microversions', () => {
    it('no header: the service minimum, echoed with Vary', async () => {
      const res = await h.request('GET', '/compute/v2.1/servers');
      expect(res.headers.get('openstack-api-version')).to.equal('compute 2.1');
      expect(res.headers.get('x-openstack-nova-api-version')).to.equal('2.1');
      expect(res.headers.get('vary')).to.contain('OpenStack-API-Version');
      expect(last().microversion).to.equal('2.1');
    });

    it('latest is the top of spec ∩ driver range (the echo driver stops at 2.90)', async () => {
      const res = await h.request('GET', '/compute/v2.1/servers', { headers: mv('latest') });
      expect(res.headers.get('openstack-api-version')).to.equal('compute 2.90');
      expect(last().microversion).to.equal('2.90');
    });

    it('outside the range is a 406; the spec would allow 2.95 but the driver does not', async () => {
      for (const v of ['2.95', '3.0', '1.1']) {
        const res = await h.request('GET', '/compute/v2.1/servers', { headers: mv(v) });
        expect(res.status, v).to.equal(406);
        expect((res.json as { computeFault: { message: string } }).computeFault.message).to.contain('Minimum is 2.1 and maximum is 2.90');
      }
    });

    it('a malformed version is a 400', async () => {
      const res = await h.request('GET', '/compute/v2.1/servers', { headers: mv('two') });
      expectFault(compute, res, 400);
    });

    it('the legacy X-OpenStack-Nova-API-Version header is honoured', async () => {
      const res = await h.request('GET', '/compute/v2.1/servers', { headers: { 'x-openstack-nova-api-version': '2.10' } });
      expect(res.headers.get('openstack-api-version')).to.equal('compute 2.10');
      expect(last().microversion).to.equal('2.10');
    });

    it('OpenStack-API-Version may carry several services; each takes its own', async () => {
      await h.request('GET', '/volume/v3/volumes', { headers: { 'openstack-api-version': 'compute 2.50, volume 3.27' } });
      expect(last().microversion).to.equal('3.27');
    });

    it('an operation below its minimum version is a 404', async () => {
      const res = await h.request('GET', '/compute/v2.1/servers/abc/tags', { headers: mv('2.25') });
      expectFault(compute, res, 404);
    });

    it('the success status may depend on the version (key pair create: 200 up to 2.1, 201 after)', async () => {
      const old = await h.request('POST', '/compute/v2.1/os-keypairs', { body: { keypair: { name: 'k' } } });
      expect(old.status, old.text).to.equal(200);
      const now = await h.request('POST', '/compute/v2.1/os-keypairs', { body: { keypair: { name: 'k' } }, headers: mv('2.2') });
      expect(now.status, now.text).to.equal(201);
    });
  });

  describe('routing and faults', () => {
    it('an unknown path is a 404 in each service\'s format', async () => {
      expectFault(compute, await h.request('GET', '/compute/v2.1/no-such-thing'), 404);
      expectFault(identity, await h.request('GET', '/identity/v3/no-such-thing'), 404);
      expectFault(network, await h.request('GET', '/network/v2.0/no-such-thing'), 404);
      expectFault(placement, await h.request('GET', '/placement/no-such-thing'), 404);
      expectFault(volume, await h.request('GET', '/volume/v3/x/y/z/no-such-thing'), 404);
      const glanceText = await h.request('GET', '/image/v2/no-such-thing', { headers: { accept: 'text/plain' } });
      expect(glanceText.status).to.equal(404);
      expect(glanceText.text).to.match(/^404 Not Found\n\nThe resource could not be found\./);
    });

    it('a wrong method is a 405 with Allow', async () => {
      const res = await h.request('PATCH', '/compute/v2.1/servers');
      expect(res.status).to.equal(405);
      expect(res.json).to.have.nested.property('badMethod.code', 405);
      expect(res.headers.get('allow')).to.contain('GET').and.contain('POST');
    });

    it('a driver\'s own status wins (Reply), and its faults keep the dialect', async () => {
      const res = await h.request('DELETE', '/compute/v2.1/servers/abc');
      expect(res.status).to.equal(409);
    });

    it('an unexpected driver error is a 500 without its message', async () => {
      const res = await h.request('GET', '/network/v2.0/networks/n1');
      expect(res.status).to.equal(500);
      expect(res.text).to.not.contain('boom').and.not.contain('do-not-show');
      expect(res.json).to.have.nested.property('NeutronError.type', 'HTTPInternalServerError');
    });

    it('HEAD is answered by the GET route without a body', async () => {
      const project = h.gateway.identity.projectByName('default', 'admin')!;
      const res = await h.request('HEAD', `/identity/v3/projects/${project.id}`);
      expect(res.status).to.equal(200);
      expect(res.text).to.equal('');
      expect(res.headers.get('content-type')).to.match(/json/);
    });

    it('block-storage routes with {project_id} reach the same driver method', async () => {
      await h.request('GET', '/volume/v3/volumes');
      expect(last().urlProjectId).to.equal(undefined);
      const res = await h.request('GET', '/volume/v3/0123456789abcdef/volumes');
      expect(res.status, res.text).to.equal(200);
      expect(last()).to.include({ method: 'listVolumes', urlProjectId: '0123456789abcdef' });
    });

    it('every answer carries a request id; a well-formed incoming one is kept', async () => {
      const fresh = await h.request('GET', '/compute/v2.1/servers');
      expect(fresh.headers.get('x-openstack-request-id')).to.match(/^req-[0-9a-f-]{36}$/);
      const id = 'req-11111111-2222-3333-4444-555555555555';
      const kept = await h.request('GET', '/compute/v2.1/servers', { headers: { 'x-openstack-request-id': id } });
      expect(kept.headers.get('x-openstack-request-id')).to.equal(id);
      const junk = await h.request('GET', '/compute/v2.1/servers', { headers: { 'x-openstack-request-id': 'req-evil; drop table' } });
      expect(junk.headers.get('x-openstack-request-id')).to.not.contain('evil');
    });
  });
});
