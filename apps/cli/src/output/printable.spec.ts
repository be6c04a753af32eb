import { printable } from './printable';

describe('printable', () => {
  it.each([
    ['PLAIN_NAME', 'PLAIN_NAME'],
    ['two\nlines', 'two\\nlines'],
    ['back\rto the start', 'back\\rto the start'],
    ['\u001b[2K\u001b[31mred', '\\u001b[2K\\u001b[31mred'],
    ['right-to-left \u202eoverride', 'right-to-left \\u202eoverride'],
    ['line\u2028separator', 'line\\u2028separator'],
    ['C1 next-line \u0085', 'C1 next-line \\u0085'],
    ['columns\tstay', 'columns\tstay'],
    ['accents é, ß and 😀 stay', 'accents é, ß and 😀 stay'],
  ])('%j is printed as %j', (text, shown) => {
    expect(printable(text)).toBe(shown);
  });
});
