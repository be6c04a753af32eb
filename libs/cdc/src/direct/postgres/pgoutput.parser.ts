import { Lsn } from './lsn';

/**
 * The messages of PostgreSQL's built-in `pgoutput` plugin, protocol version 1 (PostgreSQL 10 and
 * later), as they arrive inside the replication stream's XLogData: begin, commit, relation (the
 * columns of a table, sent before its first change and again after a change of its schema),
 * insert, update, delete, truncate, type and origin. A column's value is its text output, null,
 * or `unchanged`: a TOASTed value an update did not touch, which pgoutput does not send.
 */
export interface RelationColumn {
  name: string;
  typeOid: number;
  typmod: number;
  /** Part of the replica identity (the primary key under the default identity). */
  key: boolean;
}

export interface Relation {
  id: number;
  schema: string;
  name: string;
  /** `d` default (primary key), `n` nothing, `f` full, `i` index. */
  replicaIdentity: string;
  columns: RelationColumn[];
}

/** One column of a tuple: its text, null, or a TOASTed value left unchanged (not sent). */
export type TupleValue = string | null | typeof UNCHANGED;
export const UNCHANGED: unique symbol = Symbol('unchanged TOAST value');

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTimeMs: number; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTimeMs: number }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; relationId: number; after: TupleValue[] }
  /** `before` only under REPLICA IDENTITY FULL, or (key columns only) when the key changed. */
  | { tag: 'update'; relationId: number; before: TupleValue[] | null; after: TupleValue[] }
  /** `before`: the key columns only under the default replica identity, every column under FULL. */
  | { tag: 'delete'; relationId: number; before: TupleValue[]; keyOnly: boolean }
  | { tag: 'truncate'; relationIds: number[]; cascade: boolean; restartIdentity: boolean }
  | { tag: 'other'; type: string };

/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds: its timestamps count microseconds from it. */
const PG_EPOCH_MS = 946_684_800_000;

export function pgTimeToMs(micros: bigint): number {
  return Number(micros / 1000n) + PG_EPOCH_MS;
}

export class PgoutputParseError extends Error {}

/** Reads one pgoutput message; anything it cannot read is a PgoutputParseError. */
export function parsePgoutput(buf: Buffer): PgoutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTimeMs: pgTimeToMs(r.u64()), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTimeMs: pgTimeToMs(r.u64()) };
    }
    case 'R': {
      const id = r.u32();
      const schema = r.str();
      const name = r.str();
      const replicaIdentity = String.fromCharCode(r.u8());
      const n = r.u16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ key: (flags & 1) === 1, name: r.str(), typeOid: r.u32(), typmod: r.i32() });
      }
      return { tag: 'relation', relation: { id, schema, name, replicaIdentity, columns } };
    }
    case 'I': {
      const relationId = r.u32();
      r.expect('N');
      return { tag: 'insert', relationId, after: r.tuple() };
    }
    case 'U': {
      const relationId = r.u32();
      let kind = String.fromCharCode(r.u8());
      let before: TupleValue[] | null = null;
      if (kind === 'K' || kind === 'O') {
        before = r.tuple();
        kind = String.fromCharCode(r.u8());
      }
      if (kind !== 'N') throw new PgoutputParseError(`update of relation ${relationId}: expected the new tuple, found "${kind}"`);
      return { tag: 'update', relationId, before, after: r.tuple() };
    }
    case 'D': {
      const relationId = r.u32();
      const kind = String.fromCharCode(r.u8());
      if (kind !== 'K' && kind !== 'O') throw new PgoutputParseError(`delete of relation ${relationId}: expected the old tuple, found "${kind}"`);
      return { tag: 'delete', relationId, before: r.tuple(), keyOnly: kind === 'K' };
    }
    case 'T': {
      const n = r.u32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      return { tag: 'truncate', relationIds, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
    }
    default:
      // Origin (O), Type (Y), logical decoding messages (M): nothing to project.
      return { tag: 'other', type: tag };
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new PgoutputParseError(`message ends early: ${n} more bytes wanted at ${this.at} of ${this.buf.length}`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }
  str(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end < 0) throw new PgoutputParseError(`unterminated string at ${this.at}`);
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  expect(kind: string): void {
    const k = String.fromCharCode(this.u8());
    if (k !== kind) throw new PgoutputParseError(`expected "${kind}", found "${k}" at ${this.at - 1}`);
  }
  tuple(): TupleValue[] {
    const n = this.u16();
    const values: TupleValue[] = [];
    for (let i = 0; i < n; i++) {
      const kind = String.fromCharCode(this.u8());
      if (kind === 'n') values.push(null);
      else if (kind === 'u') values.push(UNCHANGED);
      else if (kind === 't') {
        const len = this.u32();
        this.need(len);
        values.push(this.buf.toString('utf8', this.at, this.at + len));
        this.at += len;
      } else throw new PgoutputParseError(`column ${i}: unknown value kind "${kind}" (binary output is not requested)`);
    }
    return values;
  }
}
