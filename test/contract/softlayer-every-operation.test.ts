/**
 * Every generated operation against the SoftLayer backend as a SoftLayer
 * user. The simulator is healthy, so no 502/503/504 either: a backend fault
 * here would mean the driver sent SoftLayer something it refuses.
 */
import { startSoftLayerGateway } from '../helpers/softlayer.js';
import { everyOperationSuite } from '../helpers/every-operation.js';

everyOperationSuite('softlayer: every generated operation', async () => {
  const h = await startSoftLayerGateway({ overrides: { contract: true } });
  return { gw: h.gw, token: h.token, close: () => h.close() };
}, { member: true });
