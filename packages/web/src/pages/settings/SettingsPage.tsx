/** The frame every settings page shares: a title, one line saying what the page is for, the content. */
import { Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

export function SettingsPage({ title, description, children }: { title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <Stack gap="md" maw={1400}>
      <div>
        <Title order={2}>{title}</Title>
        {description !== undefined && <Text c="dimmed" size="sm" mt={4} maw={900}>{description}</Text>}
      </div>
      {children}
    </Stack>
  );
}

/** A list page as the API returns it (`Page(...)` in api-contract/common.ts). */
export interface Paged<T> {
  items: T[];
  nextCursor: string | null;
}
