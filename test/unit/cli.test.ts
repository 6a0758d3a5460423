/** The stackgate command: init, openrc, clouds-yaml, keys, help, and config errors that stop serve. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

const BIN = resolve(import.meta.dirname, '../../bin/stackgate');
const run = promisify(execFile);

async function sg(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('sh', [BIN, ...args], { timeout: 60_000, env: { PATH: process.env.PATH, HOME: tmpdir() } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('stackgate CLI', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'sg-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the commands; each has its own --help', async () => {
    const top = await sg(['--help']);
    for (const c of ['init', 'serve', 'openrc', 'clouds-yaml', 'keys', 'matrix']) expect(top.stdout).to.contain(c);
    for (const c of ['init', 'serve', 'openrc', 'clouds-yaml', 'keys', 'matrix']) {
      const one = await sg([c, '--help']);
      expect(one.code, c).to.equal(0);
      expect(one.stdout, c).to.match(new RegExp(`stackgate ${c}`));
    }
    expect((await sg(['frobnicate'])).code).to.equal(2);
  });

  it('init writes config, keys, database, clouds.yaml (0600) and prints the password once', async () => {
    const out = await sg(['init', '--dir', join(dir, 'gw'), '--port', '8999', '--public-url', 'https://cloud.example']);
    expect(out.code, out.stderr).to.equal(0);
    const password = /admin password \(shown once\): (\S+)/.exec(out.stdout)![1]!;
    expect(password.length).to.be.greaterThan(12);
    const clouds = YAML.parse(readFileSync(join(dir, 'gw/clouds.yaml'), 'utf8'));
    expect(clouds.clouds.stackgate.auth).to.include({ auth_url: 'https://cloud.example/identity', username: 'admin', password });
    expect(statSync(join(dir, 'gw/clouds.yaml')).mode & 0o077).to.equal(0);
    expect(existsSync(join(dir, 'gw/keys/key-1'))).to.equal(true);
    expect(readFileSync(join(dir, 'gw/stackgate.db')).subarray(0, 15).toString()).to.equal('SQLite format 3');
    const again = await sg(['init', '--dir', join(dir, 'gw')]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain('exists');
  });

  it('openrc and clouds-yaml follow the config', async () => {
    const rc = await sg(['openrc', '--config', join(dir, 'gw/stackgate.yaml'), '--password', 'pw']);
    expect(rc.stdout).to.contain('export OS_AUTH_URL=https://cloud.example/identity').and.contain('export OS_PASSWORD=pw');
    const cy = await sg(['clouds-yaml', '--config', join(dir, 'gw/stackgate.yaml')]);
    expect(YAML.parse(cy.stdout).clouds.stackgate.region_name).to.equal('RegionOne');
  });

  it('keys rotate makes a new primary and retires the oldest beyond activeKeys', async () => {
    const cfg = join(dir, 'gw/stackgate.yaml');
    expect((await sg(['keys', 'rotate', '--config', cfg])).stdout).to.contain('new primary key 2');
    expect((await sg(['keys', 'rotate', '--config', cfg])).stdout).to.contain('new primary key 3');
    const third = await sg(['keys', 'rotate', '--config', cfg]);
    expect(third.stdout).to.contain('new primary key 4, retired 1; active: 2, 3, 4');
  });

  it('serve refuses a bad config, naming the field, and exits non-zero', async () => {
    const cases: [string, RegExp][] = [
      ['listen: {port: 1}\nbackned: sandbox\n', /backned: unknown key/],
      ['publicUrl: ftp//nope\n', /publicUrl: not an http\(s\) URL/],
      ['identity: { keyDir: ./no-keys-here }\n', /no token keys in .*no-keys-here \(identity\.keyDir\)/],
      ['backend: nosuch\n', /unknown backend "nosuch"/],
    ];
    for (const [text, err] of cases) {
      const f = join(dir, `bad-${cases.findIndex((c) => c[0] === text)}.yaml`);
      writeFileSync(f, `dataDir: ${join(dir, 'gw')}\n${text}`);
      const out = await sg(['serve', '--config', f, '--port', '0']);
      expect(out.code, text).to.not.equal(0);
      expect(out.stderr, text).to.match(err);
    }
  });
});
