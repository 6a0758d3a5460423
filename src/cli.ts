#!/usr/bin/env node
/**
 * The `stackgate` command.
 *
 *   stackgate init [--dir DIR] [--admin-password PW] [--host H] [--port N] [--public-url URL] [--force]
 *   stackgate serve [--config FILE] [--host H] [--port N] [--backend NAME]
 *   stackgate openrc | clouds-yaml [--config FILE] [--password PW]
 *   stackgate keys rotate [--config FILE]
 *   stackgate matrix [--out DIR]
 *   stackgate help [COMMAND]
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createGateway, openIdentity } from './app.js';
import { bootstrapIdentity } from './identity/bootstrap.js';

interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** Where clients reach this gateway, from its config. */
function publicBase(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.listen.host === '0.0.0.0' || config.listen.host === '::' ? '127.0.0.1' : config.listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.listen.port}`;
}

function cloudsYaml(config: Config, password: string | undefined): string {
  const auth: Record<string, string> = {
    auth_url: `${publicBase(config)}/identity`, username: 'admin', project_name: 'admin',
    user_domain_name: 'Default', project_domain_name: 'Default',
  };
  if (password) auth.password = password;
  return YAML.stringify({ clouds: { stackgate: { auth, region_name: config.region, interface: 'public', identity_api_version: 3 } } });
}

function openrc(config: Config, password: string | undefined): string {
  return [
    `export OS_AUTH_URL=${publicBase(config)}/identity`,
    'export OS_IDENTITY_API_VERSION=3',
    'export OS_USERNAME=admin',
    'export OS_PROJECT_NAME=admin',
    'export OS_USER_DOMAIN_NAME=Default',
    'export OS_PROJECT_DOMAIN_NAME=Default',
    `export OS_REGION_NAME=${config.region}`,
    password ? `export OS_PASSWORD=${password}` : '# export OS_PASSWORD=…   (printed once by `stackgate init`)',
    '',
  ].join('\n');
}

function configFrom(values: { config?: string }): Config {
  return loadConfig({ file: values.config ?? process.env.STACKGATE_CONFIG, env: process.env });
}

const COMMANDS: Record<string, Command> = {
  init: {
    summary: 'create a config, token keys and the admin user (password printed once)',
    usage: `stackgate init [--dir DIR] [--admin-password PW] [--host HOST] [--port PORT] [--public-url URL] [--backend NAME]
              [--store-url postgresql://USER@HOST:PORT/DB] [--force]

Writes DIR/stackgate.yaml (default DIR: .stackgate), a token key repository in
DIR/keys, the database DIR/stackgate.db (or, with --store-url, the tables in
that PostgreSQL database, which must exist) with the Default domain, the admin,
member and reader roles, the admin project and the admin user, and
DIR/clouds.yaml and DIR/openrc for the openstack CLI. The admin password
(random unless given) is printed once; only its scrypt hash is stored.
More gateways on the same PostgreSQL need a copy of DIR/keys, not another init.`,
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          dir: { type: 'string', default: '.stackgate' }, 'admin-password': { type: 'string' }, host: { type: 'string', default: '127.0.0.1' },
          port: { type: 'string', default: '8000' }, 'public-url': { type: 'string' }, backend: { type: 'string', default: 'sandbox' },
          'store-url': { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) return help('init');
      const dir = resolve(values.dir!);
      const file = join(dir, 'stackgate.yaml');
      if (existsSync(file) && !values.force) {
        process.stderr.write(`stackgate: ${file} exists; use --force to write it again\n`);
        return 1;
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const doc = {
        listen: { host: values.host, port: Number(values.port) },
        ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
        dataDir: '.', region: 'RegionOne', backend: values.backend,
        ...(values['store-url'] ? { store: { engine: 'postgres', url: values['store-url'] } } : {}),
      };
      // 0600: a store URL may hold a password.
      writeFileSync(file, `# stackgate configuration (written by stackgate init)\n${YAML.stringify(doc)}`, { mode: 0o600 });
      const config = loadConfig({ file });
      const password = values['admin-password'] ?? randomBytes(12).toString('base64url');
      const { identity, store } = openIdentity(config, undefined, { createKeys: true });
      await bootstrapIdentity(identity, { adminPassword: password });
      store.close();
      const clouds = join(dir, 'clouds.yaml');
      writeFileSync(clouds, cloudsYaml(config, password), { mode: 0o600 });
      chmodSync(clouds, 0o600);
      writeFileSync(join(dir, 'openrc'), openrc(config, password), { mode: 0o600 });
      process.stdout.write([
        `stackgate: wrote ${file}, keys, database and clouds.yaml in ${dir}`,
        `stackgate: admin password (shown once): ${password}`,
        '',
      ].join('\n'));
      return 0;
    },
  },
  openrc: {
    summary: 'print environment variables for the openstack CLI',
    usage: `stackgate openrc [--config FILE] [--password PW]\n\nPrints OS_* exports for the admin user of this gateway.`,
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, password: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help) return help('openrc');
      process.stdout.write(openrc(configFrom(values), values.password));
      return 0;
    },
  },
  'clouds-yaml': {
    summary: 'print a clouds.yaml for the openstack CLI and openstacksdk',
    usage: `stackgate clouds-yaml [--config FILE] [--password PW]\n\nPrints a clouds.yaml with a cloud named "stackgate" for the admin user.`,
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, password: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help) return help('clouds-yaml');
      process.stdout.write(cloudsYaml(configFrom(values), values.password));
      return 0;
    },
  },
  keys: {
    summary: 'manage token keys: `keys rotate`, `keys list`',
    usage: `stackgate keys rotate [--config FILE]
stackgate keys list [--config FILE]

rotate makes a new primary key; tokens sealed with the older keys keep
validating until their key is retired (the config's identity.activeKeys
newest are kept). Every gateway sharing the key directory picks it up.`,
    async run(argv) {
      const [sub, ...rest] = argv;
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help || (sub !== 'rotate' && sub !== 'list')) return help('keys');
      const config = configFrom(values);
      const { keys, store } = openIdentity(config, undefined, { createKeys: sub === 'rotate' });
      store.close();
      if (sub === 'rotate') {
        const { primary, retired } = keys.rotate(config.identity.activeKeys);
        process.stdout.write(`stackgate: new primary key ${primary}${retired.length ? `, retired ${retired.join(', ')}` : ''}; active: ${keys.ids().join(', ')}\n`);
      } else {
        process.stdout.write(`stackgate: keys ${keys.ids().join(', ')}, primary ${keys.primary.id}\n`);
      }
      return 0;
    },
  },
  serve: {
    summary: 'start the gateway',
    usage: `stackgate serve [--config FILE] [--host HOST] [--port PORT] [--backend NAME]

Starts the gateway on HOST:PORT (default 127.0.0.1:8000) with the backend the
config names (default: sandbox). Prints the URL once it listens.

  --config FILE    YAML config file (env STACKGATE_CONFIG)
  --host HOST      listen address (default 127.0.0.1)
  --port PORT      listen port; 0 picks a free one
  --backend NAME   backend to serve (sandbox)`,
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, backend: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) return help('serve');
      const overrides: Record<string, unknown> = {};
      if (values.host || values.port) {
        overrides.listen = {
          ...(values.host ? { host: values.host } : {}),
          ...(values.port !== undefined ? { port: Number(values.port) } : {}),
        };
      }
      if (values.backend) overrides.backend = values.backend;
      const config = loadConfig({ file: values.config ?? process.env.STACKGATE_CONFIG, env: process.env, overrides });
      const t0 = performance.now();
      const gw = await createGateway({ config });
      const url = await gw.listen();
      gw.logger.info({ url, backend: config.backend, store: config.store.engine, ms: Math.round(performance.now() - t0) }, 'listening');
      process.stdout.write(`stackgate: listening on ${url} (backend ${config.backend}, store ${config.store.engine}, ${Math.round(performance.now() - t0)} ms)\n`);
      const file = values.config ?? process.env.STACKGATE_CONFIG;
      if (file) {
        const clouds = join(resolve(file, '..'), 'clouds.yaml');
        if (existsSync(clouds)) {
          process.stdout.write(`stackgate: point the openstack CLI at it with\n  export OS_CLIENT_CONFIG_FILE=${clouds} OS_CLOUD=stackgate\n  openstack token issue\n`);
        }
      }
      const stop = async () => {
        await gw.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      return new Promise<number>(() => {}); // runs until a signal
    },
  },
  matrix: {
    summary: 'write the compatibility matrix (reports/matrix.*)',
    usage: `stackgate matrix [--out DIR]

Computes the compatibility matrix from the generated operation tables and the
driver classes and writes matrix.json, matrix.md and matrix.html to DIR
(default reports/).`,
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help) return help('matrix');
      const { matrixFiles } = await import('../scripts/matrix.js');
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const { join, resolve } = await import('node:path');
      const dir = resolve(values.out ?? 'reports');
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of await matrixFiles()) writeFileSync(join(dir, name), text);
      process.stdout.write(`stackgate: wrote matrix.json, matrix.md, matrix.html to ${dir}\n`);
      return 0;
    },
  },
};

function help(name?: string): number {
  if (name && COMMANDS[name]) {
    process.stdout.write(`${COMMANDS[name]!.usage}\n`);
    return 0;
  }
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  process.stdout.write(`stackgate: OpenStack APIs in front of clouds that are not OpenStack\n\nusage: stackgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n  help       this text; \`stackgate <command> --help\` for one command\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') return help(rest[0]);
  if (name === '--version') { process.stdout.write('stackgate 0.1.0\n'); return 0; }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`stackgate: unknown command "${name}"\n`);
    help();
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`stackgate: ${err.message}\n`);
    else process.stderr.write(`stackgate: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
