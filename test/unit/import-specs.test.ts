/** scripts/import-specs: hashes checked, every operation kept, prose dropped. */
import { expect } from 'chai';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_UPSTREAM, ImportError, importSpecs, type Lock } from '../../scripts/import-specs.js';
import { listOperations, parseYaml, sha256, stripProse } from '../../codegen/spec-import.js';

const ROOT = join(import.meta.dirname, '../..');
const lock = JSON.parse(readFileSync(join(ROOT, 'specs/lock.json'), 'utf8')) as Lock;
const upstreamHere = existsSync(join(DEFAULT_UPSTREAM, 'MANIFEST.tsv'));

/** Operation counts, counted in the upstream files at the pinned commit. */
const UPSTREAM_COUNTS: Record<string, number> = {
  compute: 209, network: 353, identity: 368, image: 81, 'block-storage': 347, placement: 36,
};

describe('import-specs', () => {
  for (const [service, count] of Object.entries(UPSTREAM_COUNTS)) {
    it(`specs/${service}.yaml keeps all ${count} upstream operations`, () => {
      const doc = parseYaml(readFileSync(join(ROOT, `specs/${service}.yaml`), 'utf8'));
      expect(listOperations(doc)).to.have.length(count);
      expect(lock.services[service]!.operations).to.equal(count);
    });
  }

  it('drops prose keywords but keeps properties named like them', () => {
    const doc = parseYaml(readFileSync(join(ROOT, 'specs/compute.yaml'), 'utf8'));
    const text = JSON.stringify(doc);
    expect(text).to.not.match(/"summary":/);
    const schemas = (doc.components as any).schemas;
    // A flavor has a `description` property (2.55+): a fact, kept.
    expect(schemas.FlavorsCreate_255.properties.flavor.properties).to.have.property('description');
    // …while no schema keeps a prose `description` string.
    const proseDescriptions = JSON.stringify(schemas).match(/"description":"/g) ?? [];
    expect(proseDescriptions).to.have.length(0);
    expect(schemas.ServersAction_Reboot['x-openstack']).to.deep.equal({ 'action-name': 'reboot' });
  });

  it('stripProse keeps facts: types, enums, defaults, x-openstack, required', () => {
    const given = {
      info: { title: 'T', version: '1', description: 'long text' },
      paths: { '/a': { get: { summary: 's', description: 'd', operationId: 'a:get', responses: { 200: { description: 'ok' } } } } },
      components: { schemas: { S: { type: 'object', description: 'x', example: { a: 1 }, required: ['description'], default: { description: 'keep' },
        properties: { description: { type: 'string', description: 'prose' } }, 'x-openstack': { 'min-ver': '2.1' } } } },
      tags: [{ name: 'a', description: 'prose' }],
    };
    expect(stripProse(given as any)).to.deep.equal({
      info: { title: 'T', version: '1' },
      paths: { '/a': { get: { operationId: 'a:get', responses: { 200: {} } } } },
      components: { schemas: { S: { type: 'object', required: ['description'], default: { description: 'keep' },
        properties: { description: { type: 'string' } }, 'x-openstack': { 'min-ver': '2.1' } } } },
      tags: [{ name: 'a' }],
    });
  });

  it('specs/*.yaml are what import-specs wrote (sha256 in lock.json): no hand edits', () => {
    for (const [service, entry] of Object.entries(lock.services)) {
      expect(sha256(readFileSync(join(ROOT, `specs/${service}.yaml`), 'utf8')), service).to.equal(entry.imported_sha256);
    }
  });

  it('lock.json records source, commit and sha256 of each input', () => {
    expect(lock.source).to.equal('gtema/openstack');
    expect(lock.commit).to.equal('e61453adf68a55063a5f86d4a056d0bc42928edd');
    expect(lock.services.compute).to.include({ file: 'compute/v2.104.yaml', version: '2.104' });
    expect(lock.services.compute!.sha256).to.match(/^[0-9a-f]{64}$/);
  });

  describe('against the upstream files', function () {
    before(function () {
      // The pinned upstream specs live beside the repository (../shared); a CI
      // machine without them still checks everything above from the committed import.
      if (!upstreamHere) this.skip();
    });

    it('re-importing gives exactly the committed specs/ and specs/previous/', () => {
      for (const [from, to] of [[DEFAULT_UPSTREAM, 'specs'], [join(DEFAULT_UPSTREAM, 'previous'), 'specs/previous']] as const) {
        const { files } = importSpecs(from);
        for (const [name, text] of files) expect(readFileSync(join(ROOT, to, name), 'utf8'), `${to}/${name}`).to.equal(text);
      }
    });

    it('a checksum mismatch is an error naming the file, and nothing is written', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sg-import-'));
      try {
        cpSync(DEFAULT_UPSTREAM, dir, { recursive: true });
        const f = join(dir, 'image/v2.16.yaml');
        rmSync(f, { force: true });
        writeFileSync(f, readFileSync(join(DEFAULT_UPSTREAM, 'image/v2.16.yaml')));
        appendFileSync(f, '# tampered\n');
        const before = readdirSync(dir).length;
        expect(() => importSpecs(dir)).to.throw(ImportError, /image\/v2\.16\.yaml: sha256 .* MANIFEST\.tsv says 7c3ae224/);
        expect(readdirSync(dir).length).to.equal(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
