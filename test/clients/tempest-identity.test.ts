/**
 * Tempest's identity API tests against a fresh gateway, as `make
 * conformance-identity` runs them (reports go to a temporary directory here):
 * a regression guard on what the gateway's Keystone passes.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('Tempest: tempest.api.identity', function () {
  this.timeout(600_000);
  it('passes at least 130 tests and fails none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-tempest-'));
    try {
      await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/conformance.ts'), '--area', 'identity', '--reports', dir, '--timeout', '480'], { cwd: ROOT, timeout: 560_000 });
      const result = JSON.parse(readFileSync(join(dir, 'conformance.json'), 'utf8')).identity as { passed: number; failed: number; failures: { test: string; reason: string }[] };
      expect(result.failures.map((f) => `${f.test}: ${f.reason.slice(0, 200)}`)).to.deep.equal([]);
      expect(result.failed).to.equal(0);
      expect(result.passed).to.be.at.least(130);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
