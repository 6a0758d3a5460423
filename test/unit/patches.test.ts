/** codegen/patches: every kind applies, a stale patch and a patch without reason fail. */
import { expect } from 'chai';
import { applyPatches, PatchError } from '../../codegen/patches.js';
import type { JsonObject } from '../../codegen/spec-import.js';

function doc(): JsonObject {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/v3/things': { post: { operationId: 'things:post', responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } }, 404: {} } } },
      '/v3/{project_id}/things': { post: { operationId: 'p/things:post', responses: { 200: {} } } },
      '/v3/things/{id}/action': {
        post: {
          operationId: 'things/id/action:post',
          requestBody: { content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Poke' }, { $ref: '#/components/schemas/Prod' }], 'x-openstack': { discriminator: 'action' } } } } },
          responses: { 202: {} },
        },
      },
    },
    components: {
      schemas: {
        Thing: { type: 'object', properties: { at: { type: 'string', format: 'date-time' } } },
        Poke: { type: 'object', 'x-openstack': { 'action-name': 'poke' } },
        Prod: { type: 'object', 'x-openstack': { 'action-name': 'prod' } },
      },
    },
  };
}

const reason = 'because the real service does so';

describe('patches', () => {
  it('status replaces the 2xx codes and keeps the body of the response', () => {
    const d = doc();
    const ov = applyPatches(d, [{ reason, operation: 'POST /v3/things', status: 201 }], 'p.yaml');
    const responses = (d.paths as any)['/v3/things'].post.responses;
    expect(Object.keys(responses)).to.deep.equal(['201', '404']);
    expect(responses['201'].content['application/json'].schema.$ref).to.equal('#/components/schemas/Thing');
    expect(ov.status.get('POST /v3/things')).to.deep.equal([{ status: 201 }]);
  });

  it('status of one action, possibly by microversion', () => {
    const ov = applyPatches(doc(), [{ reason, operation: 'POST /v3/things/{id}/action', action: 'poke', status: [{ status: 200, max: '2.1' }, { status: 201, min: '2.2' }] }], 'p.yaml');
    expect(ov.status.get('POST /v3/things/{id}/action#poke')).to.have.length(2);
  });

  it('drop-actions removes action bodies from the oneOf', () => {
    const d = doc();
    applyPatches(d, [{ reason, operation: 'POST /v3/things/{id}/action', 'drop-actions': ['prod'] }], 'p.yaml');
    expect((d.paths as any)['/v3/things/{id}/action'].post.requestBody.content['application/json'].schema.oneOf).to.deep.equal([{ $ref: '#/components/schemas/Poke' }]);
  });

  it('merge-prefix turns the {project_id} twin into an alias route', () => {
    const d = doc();
    const ov = applyPatches(d, [{ reason, 'merge-prefix': { prefix: '/v3/{project_id}', into: '/v3' } }], 'p.yaml');
    expect(d.paths).to.not.have.property('/v3/{project_id}/things');
    expect(ov.aliases.get('POST /v3/things')).to.deep.equal(['/v3/{project_id}/things']);
  });

  it('merge, json-patch and formats edit schemas; scope limits them to types or runtime', () => {
    const d = doc();
    applyPatches(d, [
      { reason, schema: 'Thing', merge: { additionalProperties: true } },
      { reason, 'json-patch': [{ op: 'add', path: '/components/schemas/Thing/required', value: ['at'] }] },
      { reason, formats: { 'date-time': 'relaxed-date-time' } },
      { reason, scope: 'types', schema: 'Thing', merge: { title: 'only for types' } },
    ], 'p.yaml');
    const thing = (d.components as any).schemas.Thing;
    expect(thing).to.include({ additionalProperties: true });
    expect(thing.required).to.deep.equal(['at']);
    expect(thing.properties.at.format).to.equal('relaxed-date-time');
    expect(thing).to.not.have.property('title');
    const t = doc();
    applyPatches(t, [{ reason, scope: 'types', schema: 'Thing', merge: { title: 'only for types' } }], 'p.yaml', { target: 'types' });
    expect((t.components as any).schemas.Thing.title).to.equal('only for types');
  });

  it('nullable lets the named properties of matching schemas be null', () => {
    const d = doc();
    applyPatches(d, [{ reason, nullable: { schemas: '^Thi', properties: ['at'] } }], 'p.yaml');
    expect((d.components as any).schemas.Thing.properties.at.type).to.deep.equal(['string', 'null']);
    expect(() => applyPatches(doc(), [{ reason, nullable: { schemas: '^Thi', properties: ['nope'] } }], 'p.yaml')).to.throw(PatchError, /nullable found no non-null nope/);
  });

  it('rename records names for the model', () => {
    const ov = applyPatches(doc(), [{ reason, operation: 'POST /v3/things', rename: { id: 'things.make', method: 'makeThing' } }], 'p.yaml');
    expect(ov.rename.get('POST /v3/things')).to.deep.equal({ id: 'things.make', method: 'makeThing' });
  });

  const failures: [string, object, RegExp][] = [
    ['a patch without a reason', { operation: 'POST /v3/things', status: 201 }, /needs a reason/],
    ['a patch matching nothing (fixed upstream?)', { reason, operation: 'POST /v3/gone', status: 201 }, /matches 0 operation/],
    ['two kinds in one entry', { reason, operation: 'POST /v3/things', status: 201, rename: { id: 'x' } }, /exactly one of/],
    ['an unknown action', { reason, operation: 'POST /v3/things/{id}/action', 'drop-actions': ['kick'] }, /no action kick/],
    ['a stale merge-prefix', { reason, 'merge-prefix': { prefix: '/v9/{x}', into: '/v9' } }, /merged nothing/],
  ];
  for (const [what, entry, err] of failures) {
    it(`${what} is an error`, () => {
      expect(() => applyPatches(doc(), [entry as never], 'p.yaml')).to.throw(PatchError, err);
    });
  }

  it('lenient mode (spec-diff on an older spec) skips entries that do not apply', () => {
    expect(() => applyPatches(doc(), [{ reason, operation: 'POST /v3/gone', status: 201 }], 'p.yaml', { lenient: true })).to.not.throw();
  });
});
