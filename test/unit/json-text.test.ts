/** src/json-text: bodies with rows serialised already write what JSON.stringify would. */
import { expect } from 'chai';
import { JsonText, hasJsonText, serializeJson } from '../../src/json-text.js';

describe('serializeJson', () => {
  const rows = [{ id: 'a', n: 1, s: 'é ✓ "q" \\ \n' }, { id: 'b', nested: { x: [1, null, true] } }];
  const table: [string, Record<string, unknown>][] = [
    ['a list of rows', { servers: rows.map((r) => JsonText.of(r)) }],
    ['rows and other keys, in order', { a: 1, servers: rows.map((r) => JsonText.of(r)), servers_links: [{ rel: 'next', href: 'http://h/x?marker=b' }], z: 'end' }],
    ['a single value', { server: JsonText.of(rows[0]) }],
    ['undefined values are left out', { a: undefined, servers: [JsonText.of(rows[0])], b: undefined }],
    ['undefined in a list is null', { servers: [JsonText.of(rows[0]), undefined, JsonText.of(rows[1])] }],
    ['JsonText deeper down goes through toJSON', { servers: [JsonText.of(rows[0])], deep: { x: JsonText.of(rows[1]) } }],
    ['only undefined', { servers: [JsonText.of(1)], a: undefined }],
  ];
  for (const [name, body] of table) {
    it(name, () => {
      expect(hasJsonText(body)).to.equal(true);
      expect(serializeJson(body).toString('utf8')).to.equal(JSON.stringify(body));
    });
  }

  it('bodies without JsonText at the top are left to Koa', () => {
    for (const body of [{ servers: [] }, { servers: [{ id: 'a' }] }, [JsonText.of(1)], null, 'text', { deep: { x: JsonText.of(1) } }]) {
      expect(hasJsonText(body), JSON.stringify(body)).to.equal(false);
    }
  });
});
