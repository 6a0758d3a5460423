/**
 * Server rows of a list, prepared once: the parsed record of each row's JSON
 * as read from the store, and the row's serialised view per way of showing
 * it (microversion, admin or not, endpoint, addresses). GET /servers/detail
 * parsed, viewed and serialised every row of its page on every request
 * (a third of its CPU with 100 rows); a row read again with the same JSON
 * text is the same server, so its view is too.
 *
 * Nothing can be stale: a record is found by its whole JSON text, so a
 * changed server (in this process or another) is a different row; a view is
 * found by everything serverView reads besides the record. Records handed out
 * are shared and must not be changed: a row that has to settle (BUILD ends)
 * is copied first (prepareRows).
 */
import { JsonText } from '../../src/json-text.js';
import { Lru } from '../../src/lru.js';
import type { ServerRecord } from './compute-views.js';

interface Row { views: Map<string, JsonText> }

/** Ways of showing one row kept at once: a row is seen at one or two microversions and endpoints at a time. */
const VIEWS_PER_ROW = 8;

export class ServerRows {
  private readonly byText: Lru<string, ServerRecord>;
  private readonly rows = new WeakMap<ServerRecord, Row>();

  constructor(max = 1000) {
    this.byText = new Lru(max);
  }

  /** A row's record from its JSON text: the one parsed before when the text is the same. Shared: do not change it. */
  readonly parse = (text: string): ServerRecord => {
    let record = this.byText.get(text);
    if (!record) {
      record = JSON.parse(text) as ServerRecord;
      this.byText.set(text, record);
      this.rows.set(record, { views: new Map() });
    }
    return record;
  };

  /** The serialised view of a record from `parse` under `key` (all that the view depends on besides it), made once by `make`. */
  view(record: ServerRecord, key: string, make: () => unknown): JsonText {
    const row = this.rows.get(record);
    if (!row) return JsonText.of(make());
    let text = row.views.get(key);
    if (text === undefined) {
      text = JsonText.of(make());
      if (row.views.size >= VIEWS_PER_ROW) row.views.clear();
      row.views.set(key, text);
    }
    return text;
  }
}
