/**
 * The sandbox store's scan cache: lists with a `where` filter run over parsed
 * documents kept in memory. These tests check that what such a list returns is
 * always what the database holds: after writes, after a rolled-back
 * transaction, and after another connection (another gateway process)
 * commits, on SQLite and on PostgreSQL. (On PostgreSQL the cache looks at
 * other connections' commits once per synchronous stretch, as a request
 * runs between awaits: hence the ticks after the other connection's writes.)
 */
import { expect } from 'chai';
import { SandboxStore, isoZ, type Resource } from '../../drivers/sandbox/store.js';
import { ENGINES, openStores, tick, type OpenedStores } from '../helpers/stores.js';

interface Port extends Resource { device_id: string }

function port(id: string, device: string, project = 'p1'): Port {
  const now = isoZ();
  return { id, project_id: project, name: id, created_at: now, updated_at: now, device_id: device };
}

const ids = (xs: Resource[]) => xs.map((x) => x.id);

for (const engine of ENGINES) describe(`sandbox store (${engine}): lists with a where filter`, () => {
  let opened: OpenedStores;
  let one: SandboxStore;
  let two: SandboxStore;

  beforeEach(async () => {
    opened = await openStores(engine, 2);
    one = new SandboxStore(opened.stores[0]!);
    two = new SandboxStore(opened.stores[1]!);
  });
  afterEach(() => opened.close());

  const onDevice = (d: string) => (p: Port) => p.device_id === d;

  it('sees inserts, updates and deletes made through the store, in creation order', () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); one.insert('port', port('b', 'vm2')); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
    one.tx(() => { one.insert('port', port('c', 'vm1')); });
    const b2 = one.get<Port>('port', 'b')!;
    b2.device_id = 'vm1';
    one.tx(() => { one.put('port', b2); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a', 'b', 'c']);
    one.tx(() => { one.delete('port', 'a'); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['b', 'c']);
    expect(ids(one.list<Port>('port', { where: onDevice('vm1'), projectId: 'p2' }))).to.deep.equal([]);
  });

  it('hands out copies: changing a listed document does not change the next list', () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); });
    const [listed] = one.list<Port>('port', { where: onDevice('vm1') });
    listed!.device_id = 'changed';
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
  });

  it('forgets writes of a transaction that rolled back', () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
    expect(() => one.tx(() => {
      one.insert('port', port('b', 'vm1'));
      one.delete('port', 'a');
      throw new Error('quota exceeded');
    })).to.throw('quota exceeded');
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
  });

  it('sees commits of another connection to the same database', async () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
    two.tx(() => { two.insert('port', port('b', 'vm1')); two.delete('port', 'a'); });
    await tick();
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['b']);
    const moved = two.get<Port>('port', 'b')!;
    moved.device_id = 'vm9';
    two.tx(() => { two.put('port', moved); });
    await tick();
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal([]);
    expect(ids(one.list<Port>('port', { where: onDevice('vm9') }))).to.deep.equal(['b']);
  });

  /** listBy, forEach and list with `where` must answer alike, whatever happened before. */
  const byDevice = (store: SandboxStore, d: string) => {
    const found = ids(store.listBy<Port>('port', 'device_id', d));
    expect(found, `listBy ${d}`).to.deep.equal(ids(store.list<Port>('port', { where: onDevice(d) })));
    return found;
  };

  it('listBy follows inserts, updates that move a document between values, deletes and rollbacks, in creation order', async () => {
    one.tx(() => { for (const [id, d] of [['a', 'vm1'], ['b', 'vm2'], ['c', 'vm1'], ['d', 'vm2']]) one.insert('port', port(id!, d!)); });
    expect(byDevice(one, 'vm1')).to.deep.equal(['a', 'c']);
    const b = one.get<Port>('port', 'b')!;
    b.device_id = 'vm1';
    one.tx(() => { one.put('port', b); });
    // b was made before c: it comes before c though it joined vm1 later.
    expect(byDevice(one, 'vm1')).to.deep.equal(['a', 'b', 'c']);
    expect(byDevice(one, 'vm2')).to.deep.equal(['d']);
    const [copy] = one.listBy<Port>('port', 'device_id', 'vm2');
    copy!.device_id = 'changed';
    expect(byDevice(one, 'vm2')).to.deep.equal(['d']);
    one.tx(() => { one.delete('port', 'a'); one.insert('port', port('e', 'vm1')); });
    expect(byDevice(one, 'vm1')).to.deep.equal(['b', 'c', 'e']);
    expect(() => one.tx(() => { one.delete('port', 'b'); one.insert('port', port('f', 'vm1')); throw new Error('no'); })).to.throw('no');
    expect(byDevice(one, 'vm1')).to.deep.equal(['b', 'c', 'e']);
    two.tx(() => { two.insert('port', port('g', 'vm1')); two.delete('port', 'c'); });
    await tick();
    expect(byDevice(one, 'vm1')).to.deep.equal(['b', 'e', 'g']);
    expect(byDevice(one, 'nothing')).to.deep.equal([]);
  });

  it('forEach visits every document (of a project) in creation order, as list has them', async () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); one.insert('port', port('b', 'vm1', 'p2')); one.insert('port', port('c', 'vm2')); });
    const seen: string[] = [];
    one.forEach<Port>('port', (p) => seen.push(p.id));
    expect(seen).to.deep.equal(ids(one.list('port')));
    const mine: string[] = [];
    one.forEach<Port>('port', (p) => mine.push(p.id), 'p1');
    expect(mine).to.deep.equal(['a', 'c']);
    two.tx(() => { two.delete('port', 'a'); });
    await tick();
    const after: string[] = [];
    one.forEach<Port>('port', (p) => after.push(p.id));
    expect(after).to.deep.equal(['b', 'c']);
  });

  it('pageByCreation pages newest or oldest first by created_at then seq, by project, after a key', () => {
    // Three seconds, several documents in each, two projects.
    const at = (sec: number) => `2026-01-01T00:00:0${sec}Z`;
    const made: { id: string; project: string; sec: number }[] = [];
    one.tx(() => {
      for (let i = 0; i < 30; i++) {
        const project = i % 3 === 0 ? 'p2' : 'p1';
        // Made out of time order too: seq breaks ties only.
        const sec = [2, 1, 3][i % 3]!;
        one.insert('port', { ...port(`x${i}`, 'vm', project), created_at: at(sec) });
        made.push({ id: `x${i}`, project, sec });
      }
    });
    const order = (project: string | null, newestFirst: boolean) => {
      const mine = made.map((m, seq) => ({ ...m, seq })).filter((m) => project === null || m.project === project);
      mine.sort((x, y) => (x.sec - y.sec || x.seq - y.seq) * (newestFirst ? -1 : 1));
      return mine.map((m) => m.id);
    };
    for (const projectId of ['p1', 'p2', null]) {
      for (const newestFirst of [true, false]) {
        const got: string[] = [];
        let after: ReturnType<SandboxStore['creationKey']>;
        for (;;) {
          const page = one.pageByCreation<Port>('port', { projectId, newestFirst, after, limit: 4 });
          got.push(...ids(page));
          if (page.length < 4) break;
          after = one.creationKey('port', page[page.length - 1]!.id, projectId);
        }
        expect(got, `${projectId} ${newestFirst}`).to.deep.equal(order(projectId, newestFirst));
      }
    }
    expect(one.creationKey('port', 'x0', 'p1')).to.equal(undefined);
    expect(one.creationKey('port', 'x0', 'p2')).to.deep.equal({ created_at: at(2), seq: 1 });
  });
});
