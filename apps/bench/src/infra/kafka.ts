import { CompressionTypes, Partitioners } from 'kafkajs';
import { KafkaMockCluster } from '@app/testing';
import { BenchEvent } from '../data/change-event.stream';

/**
 * Queues the events in the mock cluster as Kafka Connect would (keyed by record, the key's murmur2
 * hash picking one of the 4 partitions the mock creates a topic with), gzip-compressed: the mock
 * keeps only the last 5 MB of each partition, and 200,000 uncompressed events are ~9 MB per crm
 * partition. Then checks that every partition still starts at offset 0, so nothing was dropped.
 */
export async function queueInKafka(cluster: KafkaMockCluster, events: readonly BenchEvent[]): Promise<{ topics: string[]; partitions: number }> {
  const kafka = cluster.client('statusview-bench');
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const admin = kafka.admin();
  await producer.connect();
  await admin.connect();
  try {
    const byTopic = new Map<string, BenchEvent[]>();
    for (const e of events) {
      const list = byTopic.get(e.topic);
      if (list) list.push(e);
      else byTopic.set(e.topic, [e]);
    }
    const topics = [...byTopic.keys()];
    for (const [topic, list] of byTopic) {
      for (let k = 0; k < list.length; k += 2000) {
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages: list.slice(k, k + 2000).map((e) => ({ key: e.key, value: e.body })),
        });
      }
    }
    let partitions = 0;
    let total = 0;
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        partitions++;
        total += Number(p.high);
        if (p.low !== '0') throw new Error(`the mock cluster dropped the start of ${topic}[${p.partition}] (log start ${p.low}): more than it keeps per partition was queued`);
      }
    }
    if (total !== events.length) throw new Error(`${total} messages in the mock cluster, ${events.length} sent`);
    return { topics, partitions };
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}
