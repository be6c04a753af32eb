import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Position keys that the decoder can no longer produce, stored before positions were checked: an
 * lsn past 2^53 that JSON.parse had rounded (21 digits, '123456789012345680000'), or 1e21 and more
 * written as '…1e+21'. Compared as text, such a key is newer than every real one (the record then
 * dropped every later event as stale) or older than most (a truncate watermark then deleted, and
 * went on deleting, what it should not have). Their kind becomes 'ts' and their key the source
 * time's, the one thing about them that is right: the next event compares with them by source
 * time, as positions of different kinds do. A rounded key that still looks canonical cannot be
 * told from a real one and stays.
 */
export class RepairPositionKeys1733400000000 implements MigrationInterface {
  name = 'RepairPositionKeys1733400000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['source_record', 'source_truncate']) {
      await q.query(`
        UPDATE ${table} SET position_kind = 'ts',
          position_key = lpad(greatest(0, coalesce(floor(extract(epoch FROM source_ts) * 1000), 0))::bigint::text, 20, '0'),
          updated_at = now()
        WHERE NOT CASE position_kind
          WHEN 'lsn' THEN position_key ~ '^[0-9]{20}$' AND position_key <= '18446744073709551615'
          WHEN 'ts' THEN position_key ~ '^[0-9]{20}$' AND position_key <= '00008640000000000000'
          WHEN 'binlog' THEN position_key ~ '^[0-9]{12}:[0-9]{20}:[0-9]{8}$' AND substr(position_key, 14, 20) <= '18446744073709551615'
          ELSE false END`);
    }
  }

  async down(): Promise<void> {
    // The keys it replaced were wrong: there is nothing to go back to.
  }
}
