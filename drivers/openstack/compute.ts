/** Nova of the upstream OpenStack: every operation forwarded (drivers/openstack/cloud.ts). */
import type { ComputeDriver } from '../../generated/index.js';
import { forwardingDriver } from './forwarding.js';

export class OpenStackCompute extends forwardingDriver<ComputeDriver>('compute') {}
