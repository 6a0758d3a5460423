/** src/config: defaults, file, environment, and errors that name the field. */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'sg-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  it('defaults listen on loopback with the sandbox', () => {
    const c = loadConfig();
    expect(c.listen).to.deep.equal({ host: '127.0.0.1', port: 8000 });
    expect(c.backend).to.equal('sandbox');
  });

  it('file, then environment, then overrides', () => {
    const c = loadConfig({
      file: file('a.yaml', 'listen: {port: 9000}\nregion: Lab\npublicUrl: https://cloud.example/'),
      env: { STACKGATE_LISTEN_PORT: '9100', STACKGATE_LOG_LEVEL: 'debug' },
      overrides: { region: 'Other' },
    });
    expect(c.listen.port).to.equal(9100);
    expect(c.log.level).to.equal('debug');
    expect(c.region).to.equal('Other');
    expect(c.publicUrl).to.equal('https://cloud.example');
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown key', 'listen: {port: 1}\nbackned: sandbox', /backned: unknown key/],
    ['a bad URL', 'publicUrl: not-a-url', /publicUrl: not an http\(s\) URL/],
    ['a port out of range', 'listen: {port: 70000}', /listen\.port: must be <= 65535/],
    ['broken YAML', 'listen: [', /not valid YAML/],
  ];
  for (const [what, text, err] of bad) {
    it(`${what} is an error naming the field`, () => {
      expect(() => loadConfig({ file: file(`${what}.yaml`, text) })).to.throw(ConfigError, err);
    });
  }

  it('a missing file is an error naming it', () => {
    expect(() => loadConfig({ file: join(dir, 'nope.yaml') })).to.throw(ConfigError, /nope\.yaml/);
  });
});
