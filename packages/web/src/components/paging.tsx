/**
 * Page headers, cursor paging and delete confirmation shared by the operator pages. The API pages
 * with opaque keyset cursors (`nextCursor`), so "previous" is a stack of the cursors already seen.
 */
import { Button, Group, Stack, Text, Title } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { modals } from '@mantine/modals';
import { useCallback, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <Group justify="space-between" align="flex-start" mb="md" wrap="wrap">
      <Stack gap={2}>
        <Title order={2}>{title}</Title>
        {description !== undefined && <Text c="dimmed" size="sm">{description}</Text>}
      </Stack>
      {actions !== undefined && <Group gap="xs">{actions}</Group>}
    </Group>
  );
}

export interface CursorPager {
  cursor: string | undefined;
  page: number;
  next: (nextCursor: string) => void;
  prev: () => void;
  reset: () => void;
}

/** A stack of cursors: page n is fetched with stack[n-1]. Reset it whenever the filters change. */
export function useCursorPager(): CursorPager {
  const [stack, setStack] = useState<string[]>([]);
  const next = useCallback((c: string) => setStack((s) => [...s, c]), []);
  const prev = useCallback(() => setStack((s) => s.slice(0, -1)), []);
  const reset = useCallback(() => setStack([]), []);
  return { cursor: stack[stack.length - 1], page: stack.length + 1, next, prev, reset };
}

export function PagerControls({ pager, nextCursor, label }: { pager: CursorPager; nextCursor: string | null | undefined; label: string }) {
  return (
    <Group justify="flex-end" gap="xs" mt="sm" role="navigation" aria-label={`${label} pages`}>
      <Text size="sm" c="dimmed">Page {pager.page}</Text>
      <Button variant="default" size="xs" disabled={pager.page === 1} onClick={pager.prev}>Previous</Button>
      <Button variant="default" size="xs" disabled={nextCursor === null || nextCursor === undefined} onClick={() => nextCursor != null && pager.next(nextCursor)}>Next</Button>
    </Group>
  );
}

/** A confirm modal; `onConfirm` runs only on the red button. */
export function confirmDanger(opts: { title: string; message: ReactNode; confirm: string; onConfirm: () => void }): void {
  modals.openConfirmModal({
    title: opts.title,
    children: <Text size="sm">{opts.message}</Text>,
    labels: { confirm: opts.confirm, cancel: 'Cancel' },
    confirmProps: { color: 'red' },
    onConfirm: opts.onConfirm,
  });
}

/**
 * Filters kept in the URL (so a filtered list can be linked): `setParam` sets or clears one and
 * goes back to the first page; `setQ` does the same for `q`, debounced for typing.
 */
export function useUrlFilters(pager: CursorPager) {
  const [params, setParams] = useSearchParams();
  const setParam = (k: string, v: string | null) => {
    // The current URL, not this render's params: a debounced call may run a render later.
    const next = new URLSearchParams(window.location.search);
    if (v === null || v === '') next.delete(k);
    else next.set(k, v);
    setParams(next, { replace: true });
    pager.reset();
  };
  const setQ = useDebouncedCallback((v: string) => setParam('q', v.trim()), 300);
  return { params, setParams, setParam, setQ };
}

/** What a route shows for an id that is not one (e.g. `/live/new` for a role that may not run queries). */
export function NotFound() {
  return (
    <Stack>
      <Title order={2}>Page not found</Title>
      <Text c="dimmed">This page does not exist, or your role cannot use it.</Text>
    </Stack>
  );
}
