import { cpus, totalmem, release, type } from 'node:os';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { ServerUrls } from '../bench.env';
import { rabbitVersion, redisVersion } from '../infra/servers';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
  rabbitmq: string;
  mariadb: string;
}

export async function machineInfo(urls: ServerUrls): Promise<Machine> {
  const pg = new Client({ connectionString: urls.postgresAdmin });
  await pg.connect();
  const postgres = (await pg.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v.split(' ')[0];
  await pg.end();
  let mariadb = 'unreachable';
  try {
    const my = await createConnection({ uri: urls.mysqlAdmin });
    const [rows] = await my.query('SELECT VERSION() AS v');
    mariadb = (rows as Array<{ v: string }>)[0].v;
    await my.end();
  } catch (e) {
    mariadb = `unreachable (${(e as Error).message})`;
  }
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    postgres,
    redis: await redisVersion(urls.redis),
    rabbitmq: await rabbitVersion(urls.amqp),
    mariadb,
  };
}

export function describeMachine(m: Machine): string {
  return (
    `${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.os}; Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, ` +
    `RabbitMQ ${m.rabbitmq}, MariaDB ${m.mariadb}`
  );
}
