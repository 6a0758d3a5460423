/**
 * The sandbox store's scan cache: lists with a `where` filter run over parsed
 * documents kept in memory. These tests check that what such a list returns is
 * always what SQLite holds: after writes, after a rolled-back transaction, and
 * after another connection (another gateway process) commits.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import { SandboxStore, isoZ, type Resource } from '../../drivers/sandbox/store.js';

interface Port extends Resource { device_id: string }

function port(id: string, device: string, project = 'p1'): Port {
  const now = isoZ();
  return { id, project_id: project, name: id, created_at: now, updated_at: now, device_id: device };
}

const ids = (xs: Resource[]) => xs.map((x) => x.id);

describe('sandbox store: lists with a where filter', () => {
  let dir: string;
  let a: SqliteStore;
  let b: SqliteStore;
  let one: SandboxStore;
  let two: SandboxStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-store-'));
    a = new SqliteStore(join(dir, 'db.sqlite'));
    b = new SqliteStore(join(dir, 'db.sqlite'));
    one = new SandboxStore(a);
    two = new SandboxStore(b);
  });
  afterEach(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });

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

  it('sees commits of another connection to the same database', () => {
    one.tx(() => { one.insert('port', port('a', 'vm1')); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['a']);
    two.tx(() => { two.insert('port', port('b', 'vm1')); two.delete('port', 'a'); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal(['b']);
    const moved = two.get<Port>('port', 'b')!;
    moved.device_id = 'vm9';
    two.tx(() => { two.put('port', moved); });
    expect(ids(one.list<Port>('port', { where: onDevice('vm1') }))).to.deep.equal([]);
    expect(ids(one.list<Port>('port', { where: onDevice('vm9') }))).to.deep.equal(['b']);
  });
});
