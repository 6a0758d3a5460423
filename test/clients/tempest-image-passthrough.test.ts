/**
 * Tempest's image API tests on Debian's Glance, directly and through the
 * OpenStack passthrough (scripts/upstream-openstack/tempest-image.ts): the
 * passthrough passes at least what Glance passes by itself, and fails nothing
 * Glance does not.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { upstreamAvailable } from '../helpers/upstream-openstack.js';

const run = promisify(execFile);

interface RunResult { passed: number; failed: number; skipped: number; failures: string[] }

describe('Tempest tempest.api.image.v2: Glance directly vs through the passthrough', function () {
  this.timeout(900_000);

  it('passes at least as many tests through the passthrough as directly, and no others fail', async function () {
    // CI installs Debian's keystone, glance and python3-tempest (.ci/run).
    if (!upstreamAvailable()) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'sg-tempest-pt-'));
    try {
      const report = join(dir, 'report.json');
      await run(process.execPath, ['--import', 'tsx', 'scripts/upstream-openstack/tempest-image.ts', '--report', report, '--timeout', '600'], { timeout: 880_000, maxBuffer: 16 * 1024 * 1024 });
      const r = JSON.parse(readFileSync(report, 'utf8')) as { direct: RunResult; passthrough: RunResult };
      expect(r.direct.passed, 'Tempest ran against Glance directly').to.be.above(40);
      expect(r.passthrough.passed, `through the passthrough: ${r.passthrough.failures.join(', ')}`).to.be.at.least(r.direct.passed);
      expect(r.passthrough.failures.filter((f) => !r.direct.failures.includes(f))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
