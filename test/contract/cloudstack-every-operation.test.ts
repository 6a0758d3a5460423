/**
 * Every generated operation against the CloudStack backend as a CloudStack
 * user. The simulator is healthy, so no 502/503/504 either: a backend fault
 * here would mean the driver sent CloudStack something it refuses.
 */
import { startCloudStackGateway } from '../helpers/cloudstack.js';
import { everyOperationSuite } from '../helpers/every-operation.js';

everyOperationSuite('cloudstack: every generated operation', async () => {
  const h = await startCloudStackGateway({ overrides: { contract: true } });
  return { gw: h.gw, token: h.token, close: () => h.close() };
}, { member: true });
