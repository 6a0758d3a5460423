/**
 * The Store contract on both engines (SQLite file, PostgreSQL server on
 * loopback): the same SQL answers alike, transactions commit or roll back
 * whole, writers of several connections are one at a time, migrations run
 * once, readEpoch moves for other connections' commits and for rollbacks but
 * not for our own writes; and on PostgreSQL a lost or busy server is a 503
 * fault and the store reconnects by itself.
 */
import { expect } from 'chai';
import { Fault } from '../../src/faults.js';
import { PostgresStore, toPostgresPlaceholders } from '../../src/store/postgres.js';
import { isUniqueViolation, type Migration, type Store } from '../../src/store/store.js';
import { ENGINES, openStores, tick, type OpenedStores } from '../helpers/stores.js';
import { startPostgres } from '../helpers/postgres.js';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: 'CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL, big INTEGER, note TEXT)',
    postgres: 'CREATE TABLE things (id TEXT PRIMARY KEY, n INTEGER NOT NULL, big BIGINT, note TEXT)',
  },
  { version: 2, sql: 'CREATE TABLE tags (thing TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (thing, tag))' },
];

function faultOf(fn: () => unknown): Fault {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(Fault);
    return err as Fault;
  }
  throw new Error('expected a fault');
}

for (const engine of ENGINES) describe(`store contract (${engine})`, () => {
  let opened: OpenedStores;
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    opened = await openStores(engine, 2);
    [a, b] = opened.stores as [Store, Store];
    a.migrate('test', MIGRATIONS);
    b.migrate('test', MIGRATIONS);
  });
  afterEach(() => opened.close());

  it('runs each migration once, whichever connection comes first, and records the version', () => {
    a.migrate('test', [...MIGRATIONS, { version: 3, sql: 'ALTER TABLE things ADD COLUMN extra TEXT' }]);
    b.migrate('test', [...MIGRATIONS, { version: 3, sql: 'ALTER TABLE things ADD COLUMN extra TEXT' }]);
    expect(a.get<{ version: number }>('SELECT version FROM schema_versions WHERE owner = ?', 'test')).to.deep.equal({ version: 3 });
    a.run('INSERT INTO things (id, n, extra) VALUES (?, ?, ?)', 'x', 1, 'e');
    expect(b.get('SELECT extra FROM things WHERE id = ?', 'x')).to.deep.equal({ extra: 'e' });
  });

  it('answers the same SQL alike: numbers as numbers, nulls, counts, row values, LIMIT, ON CONFLICT', () => {
    const big = Date.now() * 1000;
    a.run('INSERT INTO things (id, n, big, note) VALUES (?, ?, ?, ?)', 'a', 1, big, null);
    a.run('INSERT INTO things (id, n, big, note) VALUES (?, ?, ?, ?)', 'b', 2, null, "it's ? here");
    a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'c', 3);
    expect(a.get('SELECT id, n, big, note FROM things WHERE id = ?', 'a')).to.deep.equal({ id: 'a', n: 1, big, note: null });
    expect(a.get('SELECT note FROM things WHERE id = ?', 'b')).to.deep.equal({ note: "it's ? here" });
    expect(a.get('SELECT COUNT(*) AS n FROM things')).to.deep.equal({ n: 3 });
    expect(a.all('SELECT id FROM things WHERE (n, id) > (?, ?) ORDER BY n LIMIT ?', 1, 'a', 5)).to.deep.equal([{ id: 'b' }, { id: 'c' }]);
    expect(a.get('SELECT id FROM things WHERE id = ?', 'nope')).to.equal(undefined);
    expect(a.run('INSERT INTO things (id, n) VALUES (?, ?) ON CONFLICT DO NOTHING', 'a', 9).changes).to.equal(0);
    a.run('INSERT INTO things (id, n) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET n = things.n + 10', 'a', 0);
    expect(a.get('SELECT n FROM things WHERE id = ?', 'a')).to.deep.equal({ n: 11 });
    expect(a.run('UPDATE things SET n = n + 1 WHERE n > ?', 2).changes).to.equal(2);
    expect(a.run('DELETE FROM things WHERE id = ?', 'nope').changes).to.equal(0);
  });

  it('reports a duplicate key as a unique violation, in a transaction or out of one', () => {
    a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'a', 1);
    let err: unknown;
    try { a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'a', 2); } catch (e) { err = e; }
    expect(isUniqueViolation(err), String(err)).to.equal(true);
    err = undefined;
    try { a.tx(() => { a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'z', 1); a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'a', 2); }); } catch (e) { err = e; }
    expect(isUniqueViolation(err), String(err)).to.equal(true);
    expect(a.get('SELECT id FROM things WHERE id = ?', 'z')).to.equal(undefined);
    // The connection is usable afterwards.
    expect(a.get('SELECT COUNT(*) AS n FROM things')).to.deep.equal({ n: 1 });
  });

  it('commits a transaction whole or not at all; a nested one rolls back alone', () => {
    a.tx(() => {
      a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'a', 1);
      a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'b', 2);
    });
    expect(() => a.tx(() => {
      a.run('DELETE FROM things WHERE id = ?', 'a');
      throw new Error('changed my mind');
    })).to.throw('changed my mind');
    a.tx(() => {
      a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'c', 3);
      expect(() => a.tx(() => { a.run('DELETE FROM things WHERE id = ?', 'b'); throw new Error('inner'); })).to.throw('inner');
    });
    expect(b.all('SELECT id FROM things ORDER BY id')).to.deep.equal([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  });

  it('refuses a transaction function that returns a promise, and rolls it back', () => {
    expect(() => a.tx(() => { a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'p', 1); return Promise.resolve(); })).to.throw(/promise/);
    expect(b.get('SELECT id FROM things WHERE id = ?', 'p')).to.equal(undefined);
  });

  it('readEpoch: still after our own writes, moved by another connection\'s commit and by a rollback', async () => {
    const e0 = a.readEpoch!();
    a.tx(() => { a.run('INSERT INTO things (id, n) VALUES (?, ?)', 'a', 1); });
    a.run('UPDATE things SET n = 2 WHERE id = ?', 'a');
    await tick();
    expect(a.readEpoch!(), 'own writes').to.equal(e0);
    b.tx(() => { b.run('INSERT INTO things (id, n) VALUES (?, ?)', 'b', 1); });
    await tick();
    const e1 = a.readEpoch!();
    expect(e1, 'another connection committed').to.not.equal(e0);
    expect(() => a.tx(() => { a.run('DELETE FROM things'); throw new Error('no'); })).to.throw('no');
    await tick();
    expect(a.readEpoch!(), 'rolled back').to.not.equal(e1);
  });
});

describe('store contract (postgres only)', () => {
  it('turns ? into $n outside quoted text', () => {
    expect(toPostgresPlaceholders("SELECT a FROM t WHERE b = ? AND c = '?' AND (d, e) > (?, ?) LIMIT ?"))
      .to.equal("SELECT a FROM t WHERE b = $1 AND c = '?' AND (d, e) > ($2, $3) LIMIT $4");
  });

  it('keeps writers of several connections one at a time: a writer that waits past lockTimeoutMs gets a 503', async () => {
    const opened = await openStores('postgres', 1);
    const other = new PostgresStore({ url: opened.url!, lockTimeoutMs: 200 });
    try {
      const first = opened.stores[0]!;
      first.migrate('test', MIGRATIONS);
      const t0 = performance.now();
      const fault = faultOf(() => first.tx(() => {
        first.run('INSERT INTO things (id, n) VALUES (?, ?)', 'held', 1);
        // `other` waits for the lock `first` holds till the end of this function.
        other.tx(() => other.run('INSERT INTO things (id, n) VALUES (?, ?)', 'waiting', 1));
      }));
      expect(fault.status).to.equal(503);
      expect(fault.headers['Retry-After']).to.match(/^\d+$/);
      expect(fault.message).to.match(/busy/);
      expect(performance.now() - t0).to.be.at.least(150);
      // Both connections are usable afterwards; nothing was half-written.
      expect(first.get('SELECT COUNT(*) AS n FROM things')).to.deep.equal({ n: 0 });
      other.run('INSERT INTO things (id, n) VALUES (?, ?)', 'later', 1);
      expect(first.all('SELECT id FROM things')).to.deep.equal([{ id: 'later' }]);
    } finally {
      other.close();
      opened.close();
    }
  });

  it('answers 503 while the server is down, without a password in the message, and reconnects once it is back', async function () {
    this.timeout(60_000);
    const pg = await startPostgres();
    try {
      const url = pg.createDatabase('reconnect');
      const store = new PostgresStore({ url });
      store.migrate('test', MIGRATIONS);
      store.run('INSERT INTO things (id, n) VALUES (?, ?)', 'before', 1);
      await pg.kill();
      const down = faultOf(() => store.get('SELECT id FROM things'));
      expect(down.status).to.equal(503);
      expect(down.message).to.match(/PostgreSQL\) is unreachable/);
      const password = new URL(url).password;
      expect(down.message).to.not.include(password);
      expect(String((down.cause as Error | undefined)?.message ?? '')).to.not.include(password);
      // Still down: fails fast (no connect attempt blocking the event loop) with the same fault.
      expect(faultOf(() => store.run('INSERT INTO things (id, n) VALUES (?, ?)', 'x', 1)).status).to.equal(503);
      await pg.restart();
      await new Promise((r) => setTimeout(r, 1100)); // past the reconnect backoff
      expect(store.all('SELECT id FROM things')).to.deep.equal([{ id: 'before' }]);
      store.run('INSERT INTO things (id, n) VALUES (?, ?)', 'after', 1);
      expect(store.get('SELECT COUNT(*) AS n FROM things')).to.deep.equal({ n: 2 });
      store.close();
    } finally {
      await pg.stop();
    }
  });

  it('refuses to start with a clear message when the server cannot be reached', () => {
    expect(() => new PostgresStore({ url: 'postgresql://nobody:secret-pw@127.0.0.1:1/none' })).to.throw(/store\.url: cannot connect to PostgreSQL/)
      .and.satisfy((e: Error) => !e.message.includes('secret-pw'));
  });
});
