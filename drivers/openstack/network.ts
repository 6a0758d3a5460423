/** Neutron of the upstream OpenStack: every operation forwarded (drivers/openstack/cloud.ts). */
import type { NetworkDriver } from '../../generated/index.js';
import { forwardingDriver } from './forwarding.js';

export class OpenStackNetwork extends forwardingDriver<NetworkDriver>('network') {}
