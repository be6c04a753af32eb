import { Severity, type RuleProblem } from '../api/generated/graphql';

/**
 * Where a validation problem belongs on screen, read from its path in the rule set
 * (`mappings.crm.rules[2].when.status`): a table, one of its rows, and a column of that row
 * (an input, or then / id / description / fallback), or an input's header, or an example.
 */
export interface ProblemPlace {
  table: string | null;
  row: number | null;
  column: string | null;
  input: string | null;
  example: { list: 'mappings' | 'resolution'; index: number } | null;
}

const RE_ROW = /^(mappings\.[^.[\]]+|resolution)\.rules\[(\d+)\](?:\.(when|then|id|description|fallback))?(?:\.([^.[\]]+))?/;
const RE_INPUT = /^(mappings\.[^.[\]]+)\.(?:inputs\.([^.[\]]+)|unmappedInput|hitPolicy)/;
const RE_TABLE = /^(mappings\.[^.[\]]+|resolution)(?:$|[.[])/;
const RE_EXAMPLE = /^examples\.(mappings|resolution)\[(\d+)\]/;

export function placeOf(path: string): ProblemPlace {
  const none: ProblemPlace = { table: null, row: null, column: null, input: null, example: null };
  let m = RE_ROW.exec(path);
  if (m) {
    const [, table, row, part, key] = m;
    const column = part === 'when' ? (table === 'resolution' ? (key && /^(anyOf|allOf)$/.test(key) ? 'combined' : (key ?? 'combined')) : (key ?? null)) : (part ?? null);
    return { ...none, table, row: Number(row), column };
  }
  if ((m = RE_INPUT.exec(path))) return { ...none, table: m[1], input: m[2] ?? null };
  if ((m = RE_EXAMPLE.exec(path))) return { ...none, example: { list: m[1] as 'mappings' | 'resolution', index: Number(m[2]) } };
  if ((m = RE_TABLE.exec(path))) return { ...none, table: m[1] };
  return none;
}

/** Problems indexed by where they show: `table|row|column`, `table|row`, `table|input:name`, `table`, `example:list:i`. */
export class ProblemIndex {
  private readonly byKey = new Map<string, RuleProblem[]>();
  readonly all: RuleProblem[];

  constructor(problems: RuleProblem[]) {
    this.all = problems;
    for (const p of problems) {
      const place = placeOf(p.path);
      const keys: string[] = [];
      if (place.example) keys.push(`example:${place.example.list}:${place.example.index}`);
      else if (place.table !== null && place.row !== null) keys.push(place.column ? `${place.table}|${place.row}|${place.column}` : `${place.table}|${place.row}`);
      else if (place.table !== null && place.input !== null) keys.push(`${place.table}|input:${place.input}`);
      else if (place.table !== null) keys.push(place.table);
      else keys.push('');
      if (place.table !== null) keys.push(`table:${place.table}`);
      for (const k of keys) {
        let list = this.byKey.get(k);
        if (!list) this.byKey.set(k, (list = []));
        list.push(p);
      }
    }
  }

  at(key: string): RuleProblem[] {
    return this.byKey.get(key) ?? [];
  }

  get errors(): RuleProblem[] {
    return this.all.filter((p) => p.severity === Severity.ERROR);
  }
}
