/**
 * The sandbox backend: an OpenStack-compatible cloud embedded in the gateway,
 * the default for `make run` and for the client tests.
 */
import type { BackendModule } from '../types.js';
import { SandboxCompute } from './compute.js';

const sandbox: BackendModule = {
  name: 'sandbox',
  description: 'Embedded cloud for local use and tests',
  classes: { compute: SandboxCompute },
  async create() {
    return {
      drivers: { compute: new SandboxCompute() },
      async close() {},
    };
  },
};

export default sandbox;
