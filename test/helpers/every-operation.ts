/**
 * Every generated operation, one request each, against a gateway: the driver
 * answers it (a success, or a fault of its own matching the spec), or it is a
 * 501 in the service's own fault format naming the operation. Never a routing
 * 404, never a 5xx other than 501. Shared by the suites of every backend.
 */
import { expect } from 'chai';
import { SERVICES } from '../../generated/services.js';
import type { OperationRow, ServiceInfo } from '../../generated/common.js';
import { TABLES } from '../../src/tables.js';
import { compareVersions } from '../../src/microversion.js';
import type { Harness, TestResponse } from './gateway.js';

/** A version inside both the operation's range and the service's. */
function versionFor(service: ServiceInfo, row: OperationRow, spec: { minMicroversion: string | null; maxMicroversion: string | null }): string | null {
  if (!service.microversion || !spec.minMicroversion) return null;
  let v = row.minVersion && compareVersions(row.minVersion, spec.minMicroversion) > 0 ? row.minVersion : spec.minMicroversion;
  if (row.maxVersion && compareVersions(v, row.maxVersion) > 0) v = row.maxVersion;
  return v;
}

function fillPath(template: string): string {
  // `/v2.1/versions/{id}` shows a version by its id.
  return template.replace('/versions/{id}', '/versions/v2.1').replace(/\{[^}]+\}/g, 'x1');
}

/** The fault body of one service, as its clients parse it. */
export function expectFault(service: ServiceInfo, res: TestResponse, status: number): string {
  expect(res.status, res.text).to.equal(status);
  const body = res.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- five fault dialects, checked field by field
  switch (service.faultStyle) {
    case 'nova': {
      const [key] = Object.keys(body);
      expect(body[key!]).to.include({ code: status });
      expect(body[key!].message).to.be.a('string');
      return body[key!].message;
    }
    case 'keystone':
      expect(body.error).to.include({ code: status });
      expect(body.error.title).to.be.a('string');
      return body.error.message;
    case 'neutron':
      expect(body.NeutronError.type).to.be.a('string');
      expect(body.NeutronError).to.have.property('detail');
      return body.NeutronError.message;
    case 'placement':
      expect(body.errors[0]).to.include({ status });
      return body.errors[0].detail;
    case 'glance':
      expect(body.code).to.equal(`${status} ${body.title}`);
      return body.message;
  }
}

export interface OperationTarget {
  readonly gw: Harness;
  /** The caller's token; the harness's admin token when left out. */
  readonly token?: string;
  close(): Promise<void>;
}

/**
 * Defines the suite. `member`: the caller is a project member (a backend's
 * user), so an admin operation the backend lacks may be the policy's 403
 * before its 501.
 */
export function everyOperationSuite(title: string, start: () => Promise<OperationTarget>, opts: { member?: boolean } = {}): void {
  describe(title, function () {
    this.timeout(120_000);
    let t: OperationTarget;
    before(async () => { t = await start(); });
    after(async () => { await t?.close(); });

    for (const service of SERVICES) {
      const table = TABLES[service.name]!;
      it(`${service.name}: all ${table.operations.length} operations answer the driver's reply or a 501 naming them`, async () => {
        const driver = t.gw.gateway.drivers[service.id as keyof typeof t.gw.gateway.drivers] as Record<string, unknown> | undefined;
        const counts = { implemented: 0, notImplemented: 0, gateway: 0 };
        for (const row of table.operations) {
          const headers: Record<string, string> = {};
          const v = versionFor(service, row, table.spec);
          if (v) headers['openstack-api-version'] = `${service.microversion!.token} ${v}`;
          const path = service.prefix + fillPath(row.path);
          const body = row.action ? { [row.action]: {} } : row.requestBody === 'application/json' ? {} : undefined;
          const res = await t.gw.request(row.method, path, { headers, body, ...(t.token ? { token: t.token } : {}) });
          const what = `${row.id} ${row.method} ${path} → ${res.status} ${res.text.slice(0, 200)} ${res.headers.get('x-stackgate-contract-violation') ?? ''}`;
          expect(res.status === 501 || res.status < 500, what).to.equal(true);
          if (row.servedBy === 'gateway') {
            expect([200, 300], what).to.include(res.status);
            counts.gateway++;
          } else if (typeof driver?.[row.driverMethod] !== 'function') {
            if (opts.member && res.status === 403) {
              counts.notImplemented++;
              continue;
            }
            expect(res.status, what).to.equal(501);
            if (row.method !== 'HEAD') expect(expectFault(service, res, 501), what).to.contain(row.headOf ?? row.id);
            counts.notImplemented++;
          } else {
            // The driver's own answer: a success, or a fault of its own (not the router's 404).
            expect(res.status, what).to.not.equal(501);
            if (res.status === 404 && row.method !== 'HEAD') expect(expectFault(service, res, 404), what).to.not.equal('The resource could not be found.');
            counts.implemented++;
          }
        }
        expect(counts.implemented + counts.notImplemented + counts.gateway).to.equal(table.operations.length);
      });
    }
  });
}
