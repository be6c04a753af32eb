import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadDomainConfig, parseSources, readDocument } from './domain/domain-config.loader';
import { SourcesConfig } from './domain/sources.model';
import { loadEnvConfig } from './env/env.config';
import { projectRoot } from './project-root';

/*
 * docker-compose.yml checked statically: no Docker engine runs on the development machine, so
 * nothing here starts a container. What it catches is what would otherwise only show on a
 * user's first `docker compose up`: a missing image, a dangling depends_on, a variable the
 * service needs and does not get, a mounted file that does not exist, a connector whose topics
 * are not the ones config/sources.yaml listens to.
 */

const root = projectRoot();
const composeFile = join(root, 'docker-compose.yml');
const connectorsDir = join(root, 'config', 'connectors');
/** The service that runs statusview itself (profile `debezium`), and the one that reads the legacy databases directly (profile `direct`). */
const APP = 'statusview';
const DIRECT_APP = 'statusview-direct';

// Only the parts of the Compose format the checks read; everything else passes through.
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const serviceSchema = z.looseObject({
  image: z.string().min(1).optional(),
  build: z
    .union([
      z.string().min(1),
      z.looseObject({ context: z.string().optional(), dockerfile: z.string().optional(), dockerfile_inline: z.string().optional() }),
    ])
    .optional(),
  environment: z.union([z.record(z.string(), scalar), z.array(z.string())]).optional(),
  depends_on: z
    .union([z.array(z.string()), z.record(z.string(), z.looseObject({ condition: z.string().optional() }).nullable())])
    .optional(),
  volumes: z
    .array(z.union([z.string(), z.looseObject({ type: z.string(), source: z.string().optional(), target: z.string() })]))
    .optional(),
  healthcheck: z.looseObject({ test: z.union([z.string(), z.array(z.string())]).optional(), disable: z.boolean().optional() }).optional(),
  profiles: z.array(z.string()).optional(),
});
const composeSchema = z.looseObject({
  services: z.record(z.string(), serviceSchema),
  volumes: z.record(z.string(), z.looseObject({}).nullable()).optional(),
});
type Service = z.infer<typeof serviceSchema>;

interface Mount {
  kind: 'bind' | 'volume';
  /** For a bind mount, the absolute path on the host; for a volume, its name. */
  source: string;
  /** The path inside the container. */
  target: string;
  /** As written in the file, for messages. */
  spec: string;
}

interface Dependency {
  service: string;
  condition: string;
}

const connectorSchema = z.looseObject({
  name: z.string().min(1),
  'connector.class': z.string().startsWith('io.debezium.connector.'),
  'database.hostname': z.string().min(1),
  'topic.prefix': z.string().min(1),
  'table.include.list': z.string().min(1),
});
type Connector = z.infer<typeof connectorSchema> & Record<string, unknown>;

function loadCompose(): z.infer<typeof composeSchema> {
  const doc: unknown = parse(readFileSync(composeFile, 'utf8'));
  const parsed = composeSchema.safeParse(doc);
  if (!parsed.success) {
    throw new Error(`docker-compose.yml: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependenciesOf(service: Service): Dependency[] {
  const deps = service.depends_on;
  if (deps === undefined) return [];
  if (Array.isArray(deps)) return deps.map((name) => ({ service: name, condition: 'service_started' }));
  return Object.entries(deps).map(([name, d]) => ({ service: name, condition: d?.condition ?? 'service_started' }));
}

function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).flatMap((v): Mount[] => {
    if (typeof v !== 'string') {
      const spec = `${v.source ?? ''}:${v.target}`;
      if (v.type === 'bind' && v.source) return [{ kind: 'bind', source: resolve(root, v.source), target: v.target, spec }];
      if (v.type === 'volume' && v.source) return [{ kind: 'volume', source: v.source, target: v.target, spec }];
      return [];
    }
    const [source, target] = v.split(':');
    if (target === undefined) return []; // an anonymous volume
    const isPath = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
    return [{ kind: isPath ? 'bind' : 'volume', source: isPath ? resolve(root, source) : source, target, spec: v }];
  });
}

/** Every string value in the document, with its path. */
function stringsIn(value: unknown, path: string): Array<{ path: string; value: string }> {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, path ? `${path}.${k}` : k));
  }
  return [];
}

/** The host of a URL, or of a bare `host:port` broker address. */
function hostOf(address: string): string {
  return address.includes('://') ? new URL(address).hostname : address.split(':')[0];
}

function loadConnectors(): Array<{ file: string; config: Connector }> {
  return readdirSync(connectorsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const doc: unknown = JSON.parse(readFileSync(join(connectorsDir, file), 'utf8'));
      const parsed = connectorSchema.safeParse(doc);
      if (!parsed.success) {
        throw new Error(`config/connectors/${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      }
      return { file, config: parsed.data };
    });
}

/** Maps a path inside a service's container back to the host through its bind mounts. */
function hostPathOf(mounts: Mount[], containerPath: string): string | null {
  const candidates = mounts
    .filter((m) => m.kind === 'bind' && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)))
    .sort((a, b) => b.target.length - a.target.length);
  const m = candidates[0];
  return m ? join(m.source, containerPath.slice(m.target.length)) : null;
}

describe('docker-compose.yml (static checks)', () => {
  const compose = loadCompose();
  const services = compose.services;
  const names = Object.keys(services);
  const sourcesFile = join(root, 'config', 'sources.yaml');
  const sources: SourcesConfig = parseSources(readDocument(sourcesFile), sourcesFile);
  const connectors = loadConnectors();

  it('defines the whole stack, statusview included', () => {
    expect(names).toEqual(expect.arrayContaining([APP]));
    expect(names.length).toBeGreaterThan(1);
  });

  /** Runs a check on every service; the problems it returns are prefixed with the service name. */
  const everyService = (check: (service: Service) => string[]): string[] =>
    names.flatMap((name) => check(services[name]).map((p) => `${name}: ${p}`));

  it('gives every service an image or a build', () => {
    expect(everyService((s) => (s.image !== undefined || s.build !== undefined ? [] : ['neither image nor build']))).toEqual([]);
  });

  it('depends only on services that exist, and waits for health only where there is a healthcheck', () => {
    const problems = everyService((service) =>
      dependenciesOf(service).flatMap((d) => {
        const target = services[d.service];
        if (!target) return [`depends_on ${d.service}: no such service`];
        if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(d.condition)) {
          return [`depends_on ${d.service}: unknown condition ${d.condition}`];
        }
        if (d.condition === 'service_healthy' && (!target.healthcheck?.test || target.healthcheck.disable)) {
          return [`depends_on ${d.service} (service_healthy): ${d.service} has no healthcheck`];
        }
        return [];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('mounts only files and folders that exist, and volumes that are declared', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const problems = everyService((service) =>
      mountsOf(service).flatMap((m) => {
        if (m.kind === 'bind') return existsSync(m.source) ? [] : [`${m.spec}: ${m.source} does not exist`];
        return declared.includes(m.source) ? [] : [`${m.spec}: volume ${m.source} is not declared under volumes:`];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('includes (psql \\i) from mounted SQL only files that are mounted too, and exist', () => {
    const problems = everyService((service) => {
      const mounts = mountsOf(service);
      const sqlFiles = mounts
        .filter((m) => m.kind === 'bind' && existsSync(m.source))
        .flatMap((m) =>
          statSync(m.source).isDirectory()
            ? readdirSync(m.source).filter((f) => f.endsWith('.sql')).map((f) => join(m.source, f))
            : m.source.endsWith('.sql') ? [m.source] : [],
        );
      return [...new Set(sqlFiles)].flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/^\\i\s+(\S+)/gm)].flatMap(([, included]) => {
          if (!posix.isAbsolute(included)) return [`${basename(file)}: \\i ${included}: use an absolute path inside the container`];
          const onHost = hostPathOf(mounts, included);
          if (onHost === null) return [`${basename(file)}: \\i ${included}: not under any bind mount`];
          return existsSync(onHost) ? [] : [`${basename(file)}: \\i ${included}: ${onHost} does not exist`];
        }),
      );
    });
    expect(problems).toEqual([]);
  });

  it('builds from a context that exists, copying into an inline Dockerfile only paths that exist', () => {
    const problems = everyService((service) => {
      const build = service.build;
      if (build === undefined) return [];
      const context = resolve(root, typeof build === 'string' ? build : (build.context ?? '.'));
      if (!existsSync(context)) return [`build context ${context} does not exist`];
      const inline = typeof build === 'object' ? build.dockerfile_inline : undefined;
      return (inline ?? '')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /^COPY\s/i.test(line) && !/--from=/i.test(line))
        .flatMap((line) => {
          const args = line.split(/\s+/).slice(1).filter((a) => !a.startsWith('--'));
          return args.slice(0, -1).filter((src) => !existsSync(join(context, src))).map((src) => `${line}: ${src} does not exist`);
        });
    });
    expect(problems).toEqual([]);
  });

  it('escapes every literal "$" as "$$" (Compose interpolates the others)', () => {
    const doc: unknown = parse(readFileSync(composeFile, 'utf8'));
    // Allowed: "$$", and "${NAME:-default}" / "${NAME-default}", which work with nothing set.
    const problems = stringsIn(doc, '').flatMap(({ path, value }) =>
      [...value.replace(/\$\$/g, '').matchAll(/\$(\{[^}]*\}|[A-Za-z_]\w*|.?)/g)]
        .filter(([, ref]) => !/^\{[A-Za-z_]\w*:?-[^}]*\}$/.test(ref))
        .map(([found]) => `${path}: "${found}" would be interpolated by Compose; write "$$${found.slice(1)}" or give a default`),
    );
    expect(problems).toEqual([]);
  });

  describe('the statusview service', () => {
    const app = services[APP];
    const env = environmentOf(app);
    const dependsOn = dependenciesOf(app).map((d) => d.service);

    // No safe default inside a Docker network: the defaults point at 127.0.0.1, which is the
    // container itself. The legacy URLs have no default at all.
    const needed = [
      ...['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'KAFKA_BROKERS', 'CDC_TRANSPORT'],
      ...sources.systems.flatMap((s) => (s.connection ? [s.connection.urlEnv] : [])),
    ];

    it.each(needed)('sets %s', (variable) => {
      expect(env[variable]?.trim() ?? '').not.toBe('');
    });

    it('consumes from Kafka', () => {
      expect(env.CDC_TRANSPORT).toBe('kafka');
    });

    it('passes loadEnvConfig, and nothing in the result points at the container itself', () => {
      const config = loadEnvConfig(env);
      const loopback = stringsIn(config, '').filter(({ value }) => /\b(127\.0\.0\.1|localhost)\b|\[::1\]/.test(value));
      expect(loopback).toEqual([]);
    });

    it.each(['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'KAFKA_BROKERS'])('%s names services it depends on', (variable) => {
      const hosts = (env[variable] ?? '').split(',').map((a) => hostOf(a.trim()));
      const problems = hosts.flatMap((host) => {
        if (!services[host]) return [`${variable}: ${host} is not a service`];
        return dependsOn.includes(host) ? [] : [`${variable}: ${APP} does not depend on ${host}`];
      });
      expect(problems).toEqual([]);
    });

    it('uses broker addresses the Kafka service advertises', () => {
      const problems = (env.KAFKA_BROKERS ?? '').split(',').flatMap((broker) => {
        const service = services[hostOf(broker.trim())];
        const advertised = service ? environmentOf(service).KAFKA_ADVERTISED_LISTENERS : undefined;
        if (advertised === undefined) return [];
        const addresses = advertised.split(',').map((l) => l.replace(/^[^:]+:\/\//, '').trim());
        return addresses.includes(broker.trim()) ? [] : [`${broker} is not among ${advertised}`];
      });
      expect(problems).toEqual([]);
    });

    it.each(sources.systems.filter((s) => s.connection).map((s) => [s.name, s] as const))(
      'reaches the legacy %s system with a URL of its dialect, on a service of the stack',
      (_name, system) => {
        const connection = system.connection;
        if (!connection) return;
        const url = new URL(env[connection.urlEnv] ?? '');
        const protocols = connection.dialect === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
        expect(protocols).toContain(url.protocol);
        expect(names).toContain(url.hostname);
      },
    );
  });

  describe('the profiles', () => {
    const profilesOf = (name: string) => services[name].profiles ?? [];

    it('start what a service depends on with the profile that starts it (an unprofiled service always starts)', () => {
      const problems = names.flatMap((name) =>
        dependenciesOf(services[name])
          .filter((d) => services[d.service] && profilesOf(d.service).length > 0 && !profilesOf(d.service).some((p) => profilesOf(name).includes(p)))
          .map((d) => `${name} (${profilesOf(name).join(', ') || 'always'}) depends on ${d.service}, started only with ${profilesOf(d.service).join(', ')}`),
      );
      expect(problems).toEqual([]);
    });

    it('put Kafka, Connect and the connectors in `debezium` only, and the two statusview services in one profile each', () => {
      const debeziumOnly = names.filter((n) => profilesOf(n).length === 1 && profilesOf(n)[0] === 'debezium').sort();
      expect(debeziumOnly).toEqual(expect.arrayContaining(['connect', 'kafka', 'register-connectors', APP]));
      expect(profilesOf(DIRECT_APP)).toEqual(['direct']);
    });
  });

  describe('the statusview-direct service', () => {
    const app = services[DIRECT_APP];
    const env = environmentOf(app);
    const dependsOn = dependenciesOf(app).map((d) => d.service);
    const withConnection = sources.systems.filter((s) => s.connection);

    it('reads every system that has a connection directly, with its URL set to a service it depends on', () => {
      expect((env.CDC_DIRECT_SYSTEMS ?? '').split(',').sort()).toEqual(withConnection.map((s) => s.name).sort());
      const problems = withConnection.flatMap((s) => {
        const host = hostOf(env[s.connection!.urlEnv] ?? '');
        return dependsOn.includes(host) ? [] : [`${s.connection!.urlEnv}: ${DIRECT_APP} does not depend on ${host || '(unset)'}`];
      });
      expect(problems).toEqual([]);
    });

    it('passes loadEnvConfig and the domain check with its systems read directly, pointing at no loopback address but Kafka, which it does not use', () => {
      const config = loadEnvConfig(env);
      const loopback = stringsIn(config, '').filter(({ path, value }) => !path.startsWith('kafka.') && /\b(127\.0\.0\.1|localhost)\b|\[::1\]/.test(value));
      expect(loopback).toEqual([]);
      const domain = loadDomainConfig('config', { directSystems: config.cdc.directSystems });
      expect(domain.sources.systems.filter((s) => s.changes === 'direct').map((s) => s.name).sort()).toEqual([...config.cdc.directSystems].sort());
    });

    it('needs no Kafka', () => {
      expect(dependsOn.filter((d) => (services[d].profiles ?? []).includes('debezium'))).toEqual([]);
      expect(env.KAFKA_BROKERS).toBeUndefined();
    });
  });

  describe('the Debezium connectors (config/connectors/*.json)', () => {
    const topics = new Set(sources.systems.map((s) => s.topic));
    /** Debezium names a table's topic <topic.prefix>.<schema or database>.<table>. */
    const topicsOf = (c: Connector): string[] =>
      c['table.include.list'].split(',').map((table) => `${c['topic.prefix']}.${table.trim()}`);

    it('exist, one file per connector', () => {
      expect(connectors.length).toBeGreaterThan(0);
    });

    it('are registered by a service that mounts config/connectors', () => {
      const mounting = names.filter((n) => mountsOf(services[n]).some((m) => m.kind === 'bind' && m.source === connectorsDir));
      expect(mounting).not.toEqual([]);
    });

    describe.each(connectors.map((c) => [c.file, c.config] as const))('%s', (file, config) => {
      it('is named after its file (the registration PUTs /connectors/<file name>/config)', () => {
        expect(config.name).toBe(basename(file, '.json'));
      });

      it('captures only tables whose topics config/sources.yaml listens to', () => {
        expect(topicsOf(config).filter((t) => !topics.has(t))).toEqual([]);
      });

      it('connects to a service of the stack', () => {
        expect(names).toContain(config['database.hostname']);
      });

      it('writes JSON, emits tombstones on delete and heartbeats', () => {
        expect(config['value.converter']).toBe('org.apache.kafka.connect.json.JsonConverter');
        expect(config['key.converter']).toBe('org.apache.kafka.connect.json.JsonConverter');
        expect(config['tombstones.on.delete']).toBe('true');
        expect(Number(config['heartbeat.interval.ms'])).toBeGreaterThan(0);
      });

      if (config['connector.class'] === 'io.debezium.connector.postgresql.PostgresConnector') {
        it('streams with pgoutput from a database and slot of its own', () => {
          expect(config['plugin.name']).toBe('pgoutput');
          expect(config['database.dbname']).toEqual(expect.any(String));
          expect(config['slot.name']).toEqual(expect.stringMatching(/^[a-z0-9_]+$/));
        });
      }

      if (config['connector.class'] === 'io.debezium.connector.mysql.MySqlConnector') {
        it('keeps its schema history in Kafka on a broker of the stack', () => {
          const servers = String(config['schema.history.internal.kafka.bootstrap.servers'] ?? '');
          expect(servers).not.toBe('');
          expect(servers.split(',').map((s) => hostOf(s.trim())).filter((h) => !names.includes(h))).toEqual([]);
          expect(config['schema.history.internal.kafka.topic']).toEqual(expect.any(String));
          expect(config['database.include.list']).toEqual(expect.any(String));
          expect(Number(config['database.server.id'])).toBeGreaterThan(0);
        });
      }
    });

    it('cover every topic of config/sources.yaml exactly once', () => {
      const covered = connectors.flatMap((c) => topicsOf(c.config));
      expect([...covered].sort()).toEqual([...topics].sort());
    });

    it('use distinct replication slots, MySQL server ids and metric tags', () => {
      // One Connect worker, one topic.prefix: without distinct tags the connectors' JMX names clash.
      for (const key of ['slot.name', 'database.server.id', 'custom.metric.tags']) {
        const values = connectors.map((c) => c.config[key]).filter((v) => v !== undefined);
        expect(new Set(values).size).toBe(values.length);
      }
      const prefixes = new Set(connectors.map((c) => c.config['topic.prefix']));
      if (prefixes.size < connectors.length) {
        expect(connectors.map((c) => c.config['custom.metric.tags']).filter((t) => t === undefined)).toEqual([]);
      }
    });
  });
});
