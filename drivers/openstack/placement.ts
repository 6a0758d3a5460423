/** Placement of the upstream OpenStack: every operation forwarded (drivers/openstack/cloud.ts). */
import type { PlacementDriver } from '../../generated/index.js';
import { forwardingDriver } from './forwarding.js';

export class OpenStackPlacement extends forwardingDriver<PlacementDriver>('placement') {}
