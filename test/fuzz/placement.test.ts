/** Schema-driven fuzzing of Placement (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';

fuzzSuite('placement', async (h, { post }) => {
  const mv = { 'openstack-api-version': 'placement 1.39' };
  await post('/placement/resource_providers', { name: 'fuzz-rp' }, mv);
  await post('/placement/resource_classes', { name: 'CUSTOM_FUZZ' }, mv);
  await h.request('PUT', '/placement/traits/CUSTOM_FUZZ_TRAIT', { headers: mv });
});
