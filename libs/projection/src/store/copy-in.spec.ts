import { CopyText, copyValue } from './copy-in';

const text = (t: CopyText) => Buffer.concat(t.buffers()).toString('utf8');

describe('COPY text', () => {
  it('escapes what the text format reads specially, and writes null as \\N', () => {
    expect(copyValue('a\tb\\c\nd\re')).toBe('a\\tb\\\\c\\nd\\re');
    expect(copyValue('\\N')).toBe('\\\\N');
    expect(copyValue(null)).toBe('\\N');
    expect(copyValue('plain ünï 😀')).toBe('plain ünï 😀');
  });

  it('keeps every row whole and in order across buffers, whatever the width of its characters', () => {
    const copy = new CopyText();
    const rows: string[][] = [];
    for (let i = 0; i < 3000; i++) rows.push([String(i), ['ascii', 'ünïcödé', '✓✓', '😀'][i % 4].repeat(1 + (i % 50)), copyValue(null)]);
    // Longer than a buffer (64 KB), in characters of 2 bytes.
    rows.push(['long', 'ü'.repeat(40_000)]);
    for (const r of rows) copy.row(r);
    expect(copy.buffers().length).toBeGreaterThan(1);
    expect(text(copy)).toBe(rows.map((r) => `${r.join('\t')}\n`).join(''));
  });

  it('gives the same rows again to a second COPY, and rows added after that once more', () => {
    const copy = new CopyText();
    copy.row(['a', 'b']);
    expect(text(copy)).toBe('a\tb\n');
    expect(text(copy)).toBe('a\tb\n');
    copy.row(['c']);
    expect(text(copy)).toBe('a\tb\nc\n');
  });
});
