/**
 * A throwaway Debian PostgreSQL 15 on loopback for the tests: initdb into a
 * temp dir, password auth (scram), fsync off (a killed server keeps its commits; a
 * crashed machine would not), one server per mocha process
 * (started on first use, stopped at exit), a fresh database per caller.
 * PostgreSQL refuses to run as root: as root, it runs as the `postgres` user
 * the Debian package made.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './redis.js';
import { registerSecret } from './secrets.js';

/** Debian's PostgreSQL binaries (the newest major installed). */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0]!, 'bin') : null;
}

export interface TestPostgres {
  port: number;
  /** The admin URL (database `postgres`), password included. */
  adminUrl: string;
  /** A new empty database; its URL, password included. */
  createDatabase(prefix?: string): string;
  /** Drops a database createDatabase made (its connections are closed first). */
  dropDatabase(url: string): void;
  /** Kills the server (SIGKILL, as a crash would). */
  kill(): Promise<void>;
  /** Kills it and starts it again on the same data and port (crash recovery). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  readonly child: ChildProcess;
}

const USER = 'stackgate';
let databases = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sg-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  registerSecret(password, 'PostgreSQL password (test/helpers/postgres.ts)');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  const pgUid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined;
  const pgGid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) : undefined;
  if (asRoot) { chownSync(dir, pgUid!, pgGid!); chownSync(pwfile, pgUid!, pgGid!); }
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C'],
    { stdio: 'pipe', uid: pgUid, gid: pgGid });
  const port = await freePort();
  const launch = () => launchPostgres(bin, data, dir, port, pgUid, pgGid);
  let child = await launch();
  const url = (db: string) => `postgresql://${USER}:${password}@127.0.0.1:${port}/${db}`;
  const psql = (sql: string) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url('postgres'), '-c', sql], { stdio: 'pipe' });
  const cleanup = () => { if (child.exitCode === null) child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
  process.on('exit', cleanup);
  const killed = () => new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
  return {
    port,
    adminUrl: url('postgres'),
    get child() { return child; },
    createDatabase(prefix = 'sg') {
      const name = `${prefix}_${process.pid}_${++databases}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
    dropDatabase(dbUrl) {
      const name = new URL(dbUrl).pathname.slice(1);
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a test database: ${name}`);
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    kill: killed,
    async restart() {
      await killed();
      child = await launch();
    },
    stop: () => new Promise<void>((r) => {
      const done = () => { rmSync(dir, { recursive: true, force: true }); process.off('exit', cleanup); r(); };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGINT'); // fast shutdown
    }),
  };
}

function launchPostgres(bin: string, data: string, dir: string, port: number, uid?: number, gid?: number): Promise<ChildProcess> {
  const child = spawn(join(bin, 'postgres'), ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir,
    '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'],
  { stdio: ['ignore', 'pipe', 'pipe'], uid, gid });
  return new Promise<ChildProcess>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`postgres did not start: ${out}`)); }, 30_000);
    const seen = (d: Buffer) => {
      out += d.toString();
      if (out.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.off('data', seen);
        child.stderr!.off('data', seen);
        child.stdout!.resume();
        child.stderr!.resume();
        ok(child);
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`postgres exited ${code}: ${out}`)); });
  });
}

let shared: Promise<TestPostgres> | undefined;

/** One server per mocha process, started on first call; callers take their own database. */
export function sharedPostgres(): Promise<TestPostgres> {
  shared ??= startPostgres();
  return shared;
}
