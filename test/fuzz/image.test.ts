/** Schema-driven fuzzing of Glance (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';

fuzzSuite('image', async (h, { post }) => {
  const img = await post('/image/v2/images', { name: 'fuzz-image', disk_format: 'raw', container_format: 'bare', tags: ['fuzz'] });
  if (img?.id) await h.request('PUT', `/image/v2/images/${img.id}/file`, { raw: 'fuzz image data', headers: { 'content-type': 'application/octet-stream' } });
  await post('/image/v2/images', { name: 'fuzz-image-queued' });
  await post('/image/v2/metadefs/namespaces', { namespace: 'fuzz-ns', display_name: 'fuzz' });
  await post('/image/v2/metadefs/namespaces/fuzz-ns/objects', { name: 'fuzz-object' });
  await post('/image/v2/metadefs/namespaces/fuzz-ns/properties', { name: 'fuzz_property', title: 'p', type: 'string' });
  await post('/image/v2/metadefs/namespaces/fuzz-ns/tags', { tags: [{ name: 'fuzz-tag' }] });
  // The harvest finds no namespace names (they are under `namespace`): aim the fixed edge cases at this one.
  return { pathIds: { namespace_name: 'fuzz-ns' } };
});
