/**
 * The SQL editor used by live queries, saved queries, packs and labels: CodeMirror with SQLite
 * highlighting, autocomplete of osquery tables and columns (GET /schema/osquery, cached for the
 * session: the schema only changes with a Mimir upgrade) and inline validation from
 * POST /queries/validate: errors block running or saving, warnings (a table missing on a targeted
 * platform, evented tables) do not (seed 004; the server applies the same rules again).
 */
import { type Completion, type CompletionSource } from '@codemirror/autocomplete';
import { SQLite, sql } from '@codemirror/lang-sql';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { Input, List, Text, useComputedColorScheme } from '@mantine/core';
import type { EcsMapping, SqlIssue, SqlValidationResult } from '@mimir/api-contract';
import type { OsquerySchemaResponse } from './apiTypes';
import { useQuery } from '@tanstack/react-query';
import CodeMirror, { EditorView } from '@uiw/react-codemirror';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { api } from '../api/client';
import { errorMessage } from '../lib/notify';

export const OSQUERY_SCHEMA_KEY = ['schema', 'osquery'] as const;

export function useOsquerySchema() {
  return useQuery({ queryKey: OSQUERY_SCHEMA_KEY, queryFn: () => api.get<OsquerySchemaResponse>('/schema/osquery'), staleTime: Infinity, gcTime: Infinity });
}

/** Table → column completions with the schema's descriptions and platforms as details. */
function completionSchema(s: OsquerySchemaResponse | undefined) {
  if (s === undefined) return { schema: {}, tables: [] as Completion[] };
  const schema: Record<string, Completion[]> = {};
  const tables: Completion[] = [];
  for (const t of s.tables) {
    schema[t.name] = t.columns.map((c) => ({ label: c.name, type: 'property', detail: c.type, info: c.description + (c.required ? ' (required constraint)' : '') }));
    tables.push({ label: t.name, type: 'type', detail: t.platforms.join(', '), info: t.description });
  }
  return { schema, tables };
}

/** Issue offsets point at the start of the bad token; underline to the end of that word. */
function toDiagnostic(issue: SqlIssue, doc: string): Diagnostic {
  const from = Math.min(issue.position?.offset ?? 0, doc.length);
  let to = from;
  while (to < doc.length && /[\w.]/.test(doc.charAt(to))) to++;
  if (to === from) to = Math.min(doc.length, from + 1);
  return { from, to, severity: issue.severity, message: issue.message };
}

export interface SqlEditorProps {
  label: string;
  value: string;
  onChange: (sql: string) => void;
  /** Targeted platforms: tables missing on one of them come back as warnings. */
  platforms?: readonly string[];
  ecsMapping?: EcsMapping;
  /** Told about every validation result (null while the SQL is empty or validation failed). */
  onValidation?: (result: SqlValidationResult | null) => void;
  readOnly?: boolean;
  /** An error to show under the editor (e.g. from a failed save). */
  error?: string | undefined;
  minHeight?: string;
  description?: string;
}

export function SqlEditor({ label, value, onChange, platforms, ecsMapping, onValidation, readOnly = false, error, minHeight = '140px', description }: SqlEditorProps) {
  const schema = useOsquerySchema();
  const scheme = useComputedColorScheme('light');
  const id = useId();
  const [result, setResult] = useState<SqlValidationResult | null>(null);
  const [validationError, setValidationError] = useState<string | null>(null);
  // The linter closure is built once per extension set; read the latest inputs through refs.
  const inputs = useRef({ platforms, ecsMapping, onValidation });
  inputs.current = { platforms, ecsMapping, onValidation };
  const platformKey = (platforms ?? []).join(',');

  const extensions = useMemo(() => {
    const { schema: tablesToColumns, tables } = completionSchema(schema.data);
    const lang = sql({ dialect: SQLite, schema: tablesToColumns, upperCaseKeywords: true });
    // Table names with descriptions ahead of the language's own (description-less) list.
    const tableSource: CompletionSource = (ctx) => {
      const word = ctx.matchBefore(/\w+/);
      if (word === null || (word.from === word.to && !ctx.explicit)) return null;
      const before = ctx.state.sliceDoc(Math.max(0, word.from - 40), word.from);
      if (!/\b(from|join)\s+$/i.test(before)) return null;
      return { from: word.from, options: tables, validFor: /^\w*$/ };
    };
    const validate = linter(async (view) => {
      const doc = view.state.doc.toString();
      if (doc.trim() === '') {
        setResult(null);
        inputs.current.onValidation?.(null);
        return [];
      }
      const { platforms: p, ecsMapping: m } = inputs.current;
      try {
        const r = await api.post<SqlValidationResult>('/queries/validate', {
          sql: doc,
          ...(p !== undefined && p.length > 0 ? { platforms: [...p] } : {}),
          ...(m !== undefined && Object.keys(m).length > 0 ? { ecsMapping: m } : {}),
        });
        setResult(r);
        setValidationError(null);
        inputs.current.onValidation?.(r);
        return [...r.errors, ...r.warnings].map((i) => toDiagnostic(i, doc));
      } catch (err) {
        setValidationError(`Could not check the SQL: ${errorMessage(err)}`);
        inputs.current.onValidation?.(null);
        return [];
      }
    }, { delay: 400 });
    return [lang, lang.language.data.of({ autocomplete: tableSource }), validate, lintGutter(), EditorView.lineWrapping, EditorView.contentAttributes.of({ 'aria-labelledby': `${id}-label`, 'aria-describedby': `${id}-issues` })];
    // platformKey: re-validate when the targets change.
  }, [schema.data, id, platformKey]);

  // Clearing the editor resets the messages without a round trip.
  useEffect(() => {
    if (value.trim() === '') setResult(null);
  }, [value]);

  const errors = result?.errors ?? [];
  const warnings = result?.warnings ?? [];
  return (
    <Input.Wrapper label={label} id={`${id}-label`} description={description} error={error}>
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions}
        editable={!readOnly}
        readOnly={readOnly}
        theme={scheme === 'dark' ? 'dark' : 'light'}
        minHeight={minHeight}
        maxHeight="420px"
        basicSetup={{ lineNumbers: true, foldGutter: false, highlightActiveLine: !readOnly }}
        style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4, fontSize: 13 }}
        data-testid="sql-editor"
      />
      <div id={`${id}-issues`} aria-live="polite">
        {validationError !== null && <Text size="sm" c="red" mt={4}>{validationError}</Text>}
        {errors.length > 0 && (
          <List size="sm" c="red" mt={4} data-testid="sql-errors">
            {errors.map((e, i) => <List.Item key={`e${i}`}>{e.position !== undefined ? `Line ${e.position.line}: ` : ''}{e.message}</List.Item>)}
          </List>
        )}
        {warnings.length > 0 && (
          <List size="sm" c="yellow.8" mt={4} data-testid="sql-warnings">
            {warnings.map((w, i) => <List.Item key={`w${i}`}>{w.message}</List.Item>)}
          </List>
        )}
      </div>
    </Input.Wrapper>
  );
}
