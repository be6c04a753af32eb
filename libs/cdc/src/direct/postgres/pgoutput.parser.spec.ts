import { parsePgoutput, PgoutputParseError, UNCHANGED } from './pgoutput.parser';

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const u64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); return b; };
const str = (s: string) => Buffer.concat([Buffer.from(s), u8(0)]);
const tag = (t: string) => Buffer.from(t);
const text = (s: string) => Buffer.concat([tag('t'), u32(Buffer.byteLength(s)), Buffer.from(s)]);

// Messages laid out as pgoutput (protocol 1) writes them.
describe('parsePgoutput', () => {
  it('reads a relation with its key columns', () => {
    const msg = Buffer.concat([tag('R'), u32(16384), str('crm'), str('customers'), tag('d'), u16(2), u8(1), str('id'), u32(23), i32(-1), u8(0), str('email'), u32(25), i32(-1)]);
    expect(parsePgoutput(msg)).toEqual({
      tag: 'relation',
      relation: { id: 16384, schema: 'crm', name: 'customers', replicaIdentity: 'd', columns: [{ key: true, name: 'id', typeOid: 23, typmod: -1 }, { key: false, name: 'email', typeOid: 25, typmod: -1 }] },
    });
  });

  it('reads begin and commit, with times from PostgreSQL\'s epoch', () => {
    expect(parsePgoutput(Buffer.concat([tag('B'), u64(0x16b3748n), u64(1_000_000n), u32(771)]))).toEqual({ tag: 'begin', finalLsn: 0x16b3748n, commitTimeMs: 946_684_801_000, xid: 771 });
    expect(parsePgoutput(Buffer.concat([tag('C'), u8(0), u64(10n), u64(20n), u64(0n)]))).toEqual({ tag: 'commit', commitLsn: 10n, endLsn: 20n, commitTimeMs: 946_684_800_000 });
  });

  it('reads an update with an unchanged TOASTed value and a null', () => {
    const msg = Buffer.concat([tag('U'), u32(16384), tag('N'), u16(3), text('4'), tag('u'), tag('n')]);
    expect(parsePgoutput(msg)).toEqual({ tag: 'update', relationId: 16384, before: null, after: ['4', UNCHANGED, null] });
  });

  it('reads an update that changed the key, with the old key', () => {
    const msg = Buffer.concat([tag('U'), u32(1), tag('K'), u16(2), text('1'), tag('n'), tag('N'), u16(2), text('2'), text('x')]);
    expect(parsePgoutput(msg)).toEqual({ tag: 'update', relationId: 1, before: ['1', null], after: ['2', 'x'] });
  });

  it('reads a delete under the default replica identity as key only', () => {
    expect(parsePgoutput(Buffer.concat([tag('D'), u32(1), tag('K'), u16(2), text('7'), tag('n')]))).toEqual({ tag: 'delete', relationId: 1, before: ['7', null], keyOnly: true });
  });

  it('reads a truncate of two tables with its options', () => {
    expect(parsePgoutput(Buffer.concat([tag('T'), u32(2), u8(3), u32(1), u32(2)]))).toEqual({ tag: 'truncate', relationIds: [1, 2], cascade: true, restartIdentity: true });
  });

  it('reads UTF-8 text by its byte length', () => {
    const msg = Buffer.concat([tag('I'), u32(1), tag('N'), u16(1), text('Zürich ✓')]);
    expect(parsePgoutput(msg)).toEqual({ tag: 'insert', relationId: 1, after: ['Zürich ✓'] });
  });

  it.each<[string, Buffer, RegExp]>([
    ['a message cut short', Buffer.concat([tag('I'), u32(1), tag('N'), u16(2), text('1')]), /ends early/],
    ['a text value longer than the message', Buffer.concat([tag('I'), u32(1), tag('N'), u16(1), tag('t'), u32(1000), Buffer.from('ab')]), /ends early/],
    ['a binary value (not requested)', Buffer.concat([tag('I'), u32(1), tag('N'), u16(1), tag('b'), u32(1), Buffer.from('a')]), /unknown value kind "b"/],
    ['an update without its new tuple', Buffer.concat([tag('U'), u32(1), tag('X')]), /expected the new tuple/],
  ])('refuses %s', (_name, msg, error) => {
    expect(() => parsePgoutput(msg)).toThrow(PgoutputParseError);
    expect(() => parsePgoutput(msg)).toThrow(error);
  });
});
