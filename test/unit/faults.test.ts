/** src/faults: each service's error body, as its clients parse it. */
import { expect } from 'chai';
import { Fault, renderFault, toFault } from '../../src/faults.js';

describe('faults', () => {
  const notFound = Fault.notFound('Server x could not be found.');
  const table: [Parameters<typeof renderFault>[1], unknown][] = [
    ['nova', { itemNotFound: { code: 404, message: 'Server x could not be found.' } }],
    ['keystone', { error: { code: 404, title: 'Not Found', message: 'Server x could not be found.' } }],
    ['neutron', { NeutronError: { type: 'HTTPNotFound', message: 'Server x could not be found.', detail: '' } }],
    ['placement', { errors: [{ status: 404, title: 'Not Found', detail: 'Server x could not be found.', code: 'placement.undefined_code', request_id: 'req-1' }] }],
    ['glance', { code: '404 Not Found', title: 'Not Found', message: 'The resource could not be found.<br /><br />\nServer x could not be found.\n\n' }],
  ];
  for (const [style, want] of table) {
    it(`${style}: 404`, () => {
      const r = renderFault(notFound, style, { requestId: 'req-1', accept: 'application/json' });
      expect(r.status).to.equal(404);
      expect(JSON.parse(r.body)).to.deep.equal(want);
    });
  }

  it('Nova names 409 conflictingRequest, 413/429 overLimit, others computeFault', () => {
    const key = (f: Fault) => Object.keys(JSON.parse(renderFault(f, 'nova').body))[0];
    expect(key(Fault.conflict('c'))).to.equal('conflictingRequest');
    expect(key(new Fault('overLimit', 'o'))).to.equal('overLimit');
    expect(key(new Fault('tooManyRequests', 't'))).to.equal('overLimit');
    expect(key(new Fault('notAcceptable', 'v'))).to.equal('computeFault');
    expect(key(Fault.notImplemented('n'))).to.equal('notImplemented');
  });

  it('Glance answers text unless asked for JSON', () => {
    const r = renderFault(notFound, 'glance', { accept: '*/*' });
    expect(r.contentType).to.match(/^text\/plain/);
    expect(r.body).to.equal('404 Not Found\n\nThe resource could not be found.\n\n Server x could not be found.  ');
  });

  it('500s hide their message; 501s show theirs', () => {
    const internal = toFault(new Error('db password is hunter2'));
    expect(renderFault(internal, 'nova').body).to.not.contain('hunter2');
    expect(renderFault(Fault.notImplemented('compute.servers.list is not implemented'), 'nova').body).to.contain('compute.servers.list');
  });

  it('Neutron faults carry the driver\'s error type', () => {
    const f = Fault.notFound('Network n could not be found.', { type: 'NetworkNotFound' });
    expect(JSON.parse(renderFault(f, 'neutron').body).NeutronError.type).to.equal('NetworkNotFound');
  });

  it('http-errors style errors keep their status', () => {
    expect(toFault(Object.assign(new Error('too big'), { status: 413, expose: true })).kind).to.equal('overLimit');
  });
});
