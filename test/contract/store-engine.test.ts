/**
 * make test runs the sandbox and identity suites twice, the second time with
 * STACKGATE_TEST_STORE=postgres: this checks that each run's gateways really
 * are on the store it names, so the PostgreSQL run cannot pass on SQLite.
 */
import { expect } from 'chai';
import { startGateway, TEST_STORE } from '../helpers/gateway.js';

describe(`test gateways run on the ${TEST_STORE} store`, () => {
  it('the harness gateway uses it, end to end', async () => {
    const h = await startGateway();
    try {
      expect(h.gateway.store.engine).to.equal(TEST_STORE);
      // A write and a read back through the API land in that store.
      const made = await h.request('POST', '/network/v2.0/networks', { body: { network: { name: `on-${TEST_STORE}` } } });
      expect(made.status, made.text).to.equal(201);
      const id = (made.json as { network: { id: string } }).network.id;
      const row = h.gateway.store.get<{ name: string }>('SELECT name FROM sandbox_resources WHERE kind = ? AND id = ?', 'network', id);
      expect(row).to.deep.equal({ name: `on-${TEST_STORE}` });
      // PostgreSQL text cannot hold U+0000: such a name is the client's 400, never a 500.
      const nul = await h.request('POST', '/network/v2.0/networks', { body: { network: { name: 'a\u0000b' } } });
      expect(nul.status, nul.text).to.be.oneOf(TEST_STORE === 'postgres' ? [400] : [201]);
    } finally {
      await h.close();
    }
  });
});
