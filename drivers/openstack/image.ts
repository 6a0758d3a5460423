/** Glance of the upstream OpenStack: every operation forwarded (drivers/openstack/cloud.ts). */
import type { ImageDriver } from '../../generated/index.js';
import { forwardingDriver } from './forwarding.js';

export class OpenStackImage extends forwardingDriver<ImageDriver>('image') {}
