/**
 * Keystone with the upstream's users (identity.upstreamKeystone.forwardAdmin):
 * user, group, project, domain, role, assignment, limit and credential
 * operations go to the upstream Keystone with the caller's upstream token, so
 * what an admin creates through the gateway exists upstream. Tokens, the
 * catalog, regions, services, endpoints, trusts, application credentials and
 * the other auth extensions stay the gateway's own: its tokens are the ones
 * every region validates, and its catalog lists its regions.
 */
import type { IdentityDriver } from '../../generated/index.js';
import { identityOperations } from '../../generated/index.js';
import { KeystoneIdentity } from '../../src/identity/keystone.js';
import type { ForwardRequest, OpenStackCloud } from './cloud.js';
import { forwardingDriver } from './forwarding.js';

/** Paths whose operations stay with the gateway's Keystone, though under a forwarded prefix. */
const LOCAL_UNDER_FORWARDED = /^\/v3\/users\/\{[^}]+\}\/(application_credentials|access_rules|OS-OAUTH1)/;
const FORWARDED = /^\/v3\/(users|groups|projects|domains|roles|role_assignments|role_inferences|system|limits|registered_limits|credentials|OS-INHERIT)(\/|$)/;

/** Whether an identity operation goes to the upstream Keystone. */
export function forwardsUpstream(path: string): boolean {
  return FORWARDED.test(path) && !LOCAL_UNDER_FORWARDED.test(path);
}

export class OpenStackIdentity extends forwardingDriver<IdentityDriver>('identity') {
  constructor(cloud: OpenStackCloud, readonly local: KeystoneIdentity) {
    super(cloud);
  }
}

type Method = (req: ForwardRequest) => Promise<unknown>;
for (const row of identityOperations) {
  if (row.servedBy !== 'driver' || forwardsUpstream(row.path)) continue;
  const name = row.driverMethod;
  const served = typeof (KeystoneIdentity.prototype as unknown as Record<string, unknown>)[name] === 'function';
  // What the gateway's Keystone does not serve stays unserved (501), rather than forwarded.
  Object.defineProperty(OpenStackIdentity.prototype, name, {
    value: served
      ? function local(this: OpenStackIdentity, req: ForwardRequest) {
        return ((this.local as unknown as Record<string, Method>)[name]!).call(this.local, req);
      }
      : undefined,
    writable: true, configurable: true, enumerable: false,
  });
}
