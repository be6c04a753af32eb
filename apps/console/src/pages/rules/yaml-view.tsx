import { useEffect, useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import type { RuleSetDoc } from '../../rules/rule-set-document';

/** The same draft as YAML, for those who prefer it: edits apply when the text parses. */
export function YamlView({ doc, onChange, readOnly }: { doc: RuleSetDoc; onChange: (doc: RuleSetDoc) => void; readOnly: boolean }) {
  const [text, setText] = useState(() => stringify(doc));
  const [error, setError] = useState<string | null>(null);
  const [own, setOwn] = useState<RuleSetDoc | null>(null);
  useEffect(() => {
    if (doc !== own) setText(stringify(doc));
  }, [doc]);
  return (
    <div class="yaml-view">
      <label for="yaml">The draft as YAML (docs/rules-format.md)</label>
      <textarea
        id="yaml"
        spellcheck={false}
        readOnly={readOnly}
        value={text}
        onInput={(e) => {
          const t = e.currentTarget.value;
          setText(t);
          try {
            const next = parse(t) as RuleSetDoc;
            if (!next || typeof next !== 'object') throw new Error('a rule set is a mapping (statuses, mappings, resolution, examples)');
            setError(null);
            setOwn(next);
            onChange(next);
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      />
      {error ? (
        <p class="note error" role="alert">
          Not applied: {error}
        </p>
      ) : null}
    </div>
  );
}
