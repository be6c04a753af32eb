import * as amqp from 'amqplib';
import Redis from 'ioredis';
import { BenchEvent } from '../data/change-event.stream';

/** Fresh durable queues bound to the topic exchange with `#` (as the service binds by default), empty. */
export async function freshQueues(url: string, exchange: string, queues: readonly string[]): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    for (const q of queues) {
      await ch.deleteQueue(q);
      await ch.deleteQueue(`${q}.dlq`);
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, exchange, '#');
    }
    await ch.close();
  } finally {
    await conn.close();
  }
}

export async function deleteQueues(url: string, queues: readonly string[]): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) {
      await ch.deleteQueue(q);
      await ch.deleteQueue(`${q}.dlq`);
    }
    await ch.close();
  } finally {
    await conn.close();
  }
}

export async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const q = await ch.checkQueue(queue);
    await ch.close();
    return q.messageCount;
  } finally {
    await conn.close();
  }
}

/** Publishes like Debezium Server's RabbitMQ sink (routing key = topic, persistent), with publisher confirms. */
export async function publishAll(url: string, exchange: string, events: readonly BenchEvent[]): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      const ok = ch.publish(exchange, e.topic, Buffer.from(e.body), { persistent: true, contentType: 'application/json' });
      if (!ok) await new Promise((r) => ch.once('drain', r));
      if (k % 5000 === 4999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** The RabbitMQ server's version, as it announces itself. */
export async function rabbitVersion(url: string): Promise<string> {
  const conn = await amqp.connect(url);
  try {
    const props = (conn.connection as unknown as { serverProperties?: { version?: string } }).serverProperties;
    return props?.version ?? 'unknown';
  } finally {
    await conn.close();
  }
}

/** Removes every key under the benchmark's prefix. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

export async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}
