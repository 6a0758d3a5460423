/**
 * Every generated operation, one request each, against the sandbox as its
 * admin (test/helpers/every-operation.ts says what each must answer).
 */
import { startGateway } from '../helpers/gateway.js';
import { everyOperationSuite } from '../helpers/every-operation.js';

everyOperationSuite('every generated operation against the running gateway', async () => {
  const gw = await startGateway({ contract: true });
  return { gw, close: () => gw.close() };
});
