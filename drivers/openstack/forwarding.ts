/**
 * Passthrough driver classes: one method per operation of the service's
 * generated table, each forwarding the call upstream. The class therefore
 * implements the whole driver interface, and the matrix shows the passthrough
 * serving every operation: what it really serves is what the upstream serves.
 */
import { SERVICES } from '../../generated/services.js';
import { TABLES } from '../../src/tables.js';
import type { ForwardedService, ForwardRequest, OpenStackCloud } from './cloud.js';

export interface ForwardingDriver {
  readonly cloud: OpenStackCloud;
}

/** A class whose instances forward every operation of `service` through an OpenStackCloud. */
export function forwardingDriver<D>(service: ForwardedService): abstract new (cloud: OpenStackCloud) => ForwardingDriver & Required<D> {
  const info = SERVICES.find((s) => s.id === service);
  const table = info && TABLES[info.name];
  if (!table) throw new Error(`no generated table for ${service}`);
  abstract class Forwarding implements ForwardingDriver {
    constructor(readonly cloud: OpenStackCloud) {}
  }
  for (const row of table.operations) {
    if (row.servedBy !== 'driver' || Object.hasOwn(Forwarding.prototype, row.driverMethod)) continue;
    Object.defineProperty(Forwarding.prototype, row.driverMethod, {
      value: function forward(this: Forwarding, req: ForwardRequest) { return this.cloud.forward(service, req); },
      writable: true, configurable: true, enumerable: false,
    });
  }
  return Forwarding as unknown as abstract new (cloud: OpenStackCloud) => ForwardingDriver & Required<D>;
}
