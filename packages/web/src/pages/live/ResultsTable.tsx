/**
 * The live results grid: only the rows on screen are in the DOM (@tanstack/react-virtual), cells
 * are split out of the compact store on demand, and the text filter scans the stored row strings
 * once per change into an index array, so it stays usable at a million rows. Columns that the
 * query's ECS mapping reads carry a mapping icon whose tooltip names the ECS field(s), as in seed
 * 004 ("Result columns with the mapping icon are mapped. Hover over the icon to see the mapped ECS
 * field").
 */
import { Box, Group, Text, TextInput, Tooltip } from '@mantine/core';
import type { EcsMapping } from '@mimir/api-contract';
import { useDebouncedValue } from '@mantine/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import type { ResultStore } from './resultStore';

const ROW_HEIGHT = 30;
const HOST_WIDTH = 180;
const COL_WIDTH = 180;

/** osquery column → the ECS fields mapped from it (static-value entries name no column). */
export function mappedColumns(mapping: EcsMapping | null | undefined): ReadonlyMap<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [ecs, entry] of Object.entries(mapping ?? {})) {
    if (entry.field === undefined) continue;
    const list = out.get(entry.field);
    if (list === undefined) out.set(entry.field, [ecs]);
    else list.push(ecs);
  }
  return out;
}

/** The mapped-column marker: a small "link" glyph, keyboard-focusable so the tooltip is reachable without a mouse. */
function MappedIcon({ column, fields }: { column: string; fields: readonly string[] }) {
  const label = `Mapped to ECS ${fields.length === 1 ? 'field' : 'fields'} ${fields.join(', ')}`;
  return (
    <Tooltip label={label} withArrow>
      <span role="img" tabIndex={0} aria-label={`${column}: ${label}`} data-testid="ecs-mapped-icon" style={{ display: 'inline-flex', marginRight: 4, color: 'var(--mantine-color-blue-filled)', verticalAlign: 'middle', cursor: 'help' }}>
        <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
          <path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7" />
          <path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7" />
        </svg>
      </span>
    </Tooltip>
  );
}

export function ResultsTable({ store, version, height = 520, ecsMapping }: { store: ResultStore; version: number; height?: number; ecsMapping?: EcsMapping | null | undefined }) {
  const parent = useRef<HTMLDivElement>(null);
  const [filter, setFilter] = useState('');
  const [needle] = useDebouncedValue(filter.trim().toLowerCase(), 250);
  // `version` changes whenever rows arrive; the store itself is mutated in place.
  const visible = useMemo(() => {
    if (needle === '') return null;
    const hits: number[] = [];
    for (let i = 0; i < store.length; i++) {
      if (store.hostname(i).toLowerCase().includes(needle) || store.cells(i).some((c) => c.toLowerCase().includes(needle))) hits.push(i);
    }
    return Int32Array.from(hits);
  }, [store, needle, version]);
  const count = visible === null ? store.length : visible.length;
  const virtualizer = useVirtualizer({ count, getScrollElement: () => parent.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const columns = store.columns;
  const mapped = useMemo(() => mappedColumns(ecsMapping), [ecsMapping]);
  const width = HOST_WIDTH + columns.length * COL_WIDTH;
  const template = `${HOST_WIDTH}px repeat(${columns.length}, ${COL_WIDTH}px)`;

  return (
    <div>
      <Group justify="space-between" mb="xs">
        <TextInput size="xs" w={280} placeholder="Filter rows" aria-label="Filter result rows" value={filter} onChange={(e) => setFilter(e.currentTarget.value)} />
        <Text size="sm" c="dimmed" data-testid="result-row-count">
          {visible === null ? `${store.length.toLocaleString('en-US')} rows` : `${count.toLocaleString('en-US')} of ${store.length.toLocaleString('en-US')} rows`}
          {store.dropped > 0 && ` (${store.dropped.toLocaleString('en-US')} more not kept in the browser: export to get every row)`}
        </Text>
      </Group>
      <Box
        ref={parent}
        role="table"
        aria-label="Live query results"
        aria-rowcount={count + 1}
        tabIndex={0}
        style={{ height, overflow: 'auto', border: '1px solid var(--mantine-color-default-border)', borderRadius: 4, fontSize: 13 }}
      >
        <div style={{ width, minWidth: '100%' }}>
          <div role="row" style={{ display: 'grid', gridTemplateColumns: template, position: 'sticky', top: 0, zIndex: 1, background: 'var(--mantine-color-body)', borderBottom: '1px solid var(--mantine-color-default-border)', fontWeight: 700 }}>
            <div role="columnheader" style={{ padding: '6px 8px' }}>host</div>
            {columns.map((c) => {
              const fields = mapped.get(c);
              return (
                <div role="columnheader" key={c} style={{ padding: '6px 8px', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                  {fields !== undefined && <MappedIcon column={c} fields={fields} />}
                  <span title={c}>{c}</span>
                </div>
              );
            })}
          </div>
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => {
              const i = visible === null ? v.index : (visible[v.index] ?? 0);
              const cells = store.cells(i);
              return (
                <div
                  role="row"
                  key={v.key}
                  aria-rowindex={v.index + 2}
                  style={{ position: 'absolute', top: 0, left: 0, width: '100%', height: ROW_HEIGHT, transform: `translateY(${v.start}px)`, display: 'grid', gridTemplateColumns: template, borderBottom: '1px solid var(--mantine-color-default-border)' }}
                >
                  <div role="cell" style={{ padding: '5px 8px', whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' }}>{store.hostname(i)}</div>
                  {cells.map((c, ci) => <div role="cell" key={ci} title={c} style={{ padding: '5px 8px', whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis', fontFamily: 'var(--mantine-font-family-monospace)' }}>{c}</div>)}
                </div>
              );
            })}
          </div>
        </div>
        {store.length === 0 && <Text c="dimmed" ta="center" py="lg">No rows yet.</Text>}
      </Box>
    </div>
  );
}
