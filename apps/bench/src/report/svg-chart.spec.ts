import { barChart, lineChart, linearScale, logScale } from './svg-chart';

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

/**
 * A strict reader of the XML subset the charts use (elements, quoted attributes, text, entities):
 * throws on anything not well-formed, so that a chart a browser would refuse fails here.
 */
function parseXml(xml: string): Element {
  const root: Element = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(xml))) {
    if (m.index !== at) throw new Error(`unparsed input at ${at}`);
    at = re.lastIndex;
    const [, close, name, attrText, selfClose, chars, stray] = m;
    if (stray) throw new Error(`stray "<" at ${m.index}: ${xml.slice(m.index, m.index + 40)}`);
    if (chars !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(chars)) throw new Error(`bad entity in ${chars}`);
      stack[stack.length - 1].text += chars;
      continue;
    }
    if (close) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (a[1] in attrs) throw new Error(`attribute ${a[1]} twice on <${name}>`);
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[2])) throw new Error(`bad entity in ${a[2]}`);
      attrs[a[1]] = a[2];
    }
    const el: Element = { name, attrs, children: [], text: '' };
    stack[stack.length - 1].children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (at !== xml.length) throw new Error(`unparsed input at ${at}`);
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1 || root.text.trim() !== '') throw new Error('not exactly one root element');
  return root.children[0];
}

function all(el: Element, pred: (e: Element) => boolean): Element[] {
  return [...(pred(el) ? [el] : []), ...el.children.flatMap((c) => all(c, pred))];
}

const byClass = (el: Element, cls: string) => all(el, (e) => e.attrs.class === cls);
const num = (s: string) => Number(s);

describe('svg-chart', () => {
  it('draws a line chart as one well-formed svg with every series, its legend and a y axis from 0 to the nice maximum', () => {
    const svg = parseXml(
      lineChart({
        title: 'RSS <per process> & more',
        xLabel: 'minute',
        yLabel: 'MB',
        series: [
          { name: 'service', points: [[0, 0], [5, 50], [10, 100]] },
          { name: 'redis "server"', points: [[0, 20], [5, null], [10, 20]], dashed: true },
        ],
        markers: [{ x: 5, label: 'rules v2' }],
      }),
    );
    expect(svg.name).toBe('svg');
    expect(svg.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(all(svg, (e) => e.name === 'title')[0].text).toBe('RSS &lt;per process&gt; &amp; more');
    expect(byClass(svg, 'legend-item').map((e) => e.attrs['data-series'])).toEqual(['service', 'redis &quot;server&quot;']);
    const series = byClass(svg, 'series');
    expect(series.map((e) => e.attrs['data-series'])).toEqual(['service', 'redis &quot;server&quot;']);
    // A null splits the second series: two lone points, drawn as dots.
    expect(series[1].children.map((c) => c.name)).toEqual(['circle', 'circle']);

    // Scale: 0 at the plot's bottom, 100 (the top tick) at its top, 50 half-way; x from 0 to 10 across.
    const plot = byClass(svg, 'plot')[0].attrs;
    const [left, top, w, h] = [num(plot.x), num(plot.y), num(plot.width), num(plot.height)];
    const points = series[0].children[0].attrs.points.split(' ').map((p) => p.split(',').map(Number));
    expect(points[0][0]).toBeCloseTo(left, 0);
    expect(points[0][1]).toBeCloseTo(top + h, 0);
    expect(points[1][1]).toBeCloseTo(top + h / 2, 0);
    expect(points[2][0]).toBeCloseTo(left + w, 0);
    expect(points[2][1]).toBeCloseTo(top, 0);
    expect(byClass(svg, 'marker')).toHaveLength(1);
  });

  it('draws grouped horizontal bars on a log scale with an aim mark where the aim lies', () => {
    const svg = parseXml(
      barChart({
        title: 'ratios',
        xLabel: 'figure ÷ reference',
        series: ['ratio'],
        scale: 'log',
        aimLabel: 'aim',
        groups: [
          { label: 'reads vs bare', values: [0.1], aim: 0.5 },
          { label: 'reads vs naive', values: [10], aim: 20 },
        ],
      }),
    );
    const plot = byClass(svg, 'plot')[0].attrs;
    const [left, w] = [num(plot.x), num(plot.width)];
    const bars = byClass(svg, 'bar');
    expect(bars.map((b) => num(b.attrs['data-value']))).toEqual([0.1, 10]);
    // Decades 0.1 … 100: 0.1 is at the left edge (a zero-width bar), 10 at two thirds.
    expect(num(bars[0].attrs.width)).toBeCloseTo(0, 0);
    expect(num(bars[1].attrs.x) + num(bars[1].attrs.width)).toBeCloseTo(left + (2 / 3) * w, 0);
    const aims = byClass(svg, 'aim');
    expect(aims).toHaveLength(2);
    expect(num(aims[1].attrs.x1)).toBeCloseTo(left + ((Math.log10(20) + 1) / 3) * w, 0);
    expect(byClass(svg, 'legend-item').map((e) => e.attrs['data-series'])).toEqual(['ratio', 'aim']);
  });

  it('puts linear bars in proportion from 0 and one bar per series in each group', () => {
    const svg = parseXml(
      barChart({ title: 'latency', xLabel: 'ms', series: ['p50', 'p90', 'p99'], groups: [{ label: 'customer(id)', values: [10, 20, 40] }, { label: 'freshness', values: [5, null, 80] }] }),
    );
    const bars = byClass(svg, 'bar');
    expect(bars).toHaveLength(5);
    const width = (v: number) => num(bars.find((b) => num(b.attrs['data-value']) === v)!.attrs.width);
    expect(width(40) / width(10)).toBeCloseTo(4, 1);
    expect(width(80) / width(20)).toBeCloseTo(4, 1);
  });

  it('chooses ticks at 1, 2 or 5 times a power of ten that cover the data', () => {
    expect(linearScale(0, 97).ticks).toEqual([0, 20, 40, 60, 80, 100]);
    expect(linearScale(0, 0.8).domain).toEqual([0, 0.8]);
    // Whole minutes only, however short the run.
    expect(linearScale(0, 2, 10, 1).ticks).toEqual([0, 1, 2]);
    expect(logScale(0.03, 25).domain).toEqual([0.01, 100]);
  });
});
