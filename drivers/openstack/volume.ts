/** Cinder of the upstream OpenStack: every operation forwarded (drivers/openstack/cloud.ts). */
import type { VolumeDriver } from '../../generated/index.js';
import { forwardingDriver } from './forwarding.js';

export class OpenStackVolume extends forwardingDriver<VolumeDriver>('volume') {}
