/** Status badges with seed 004's words: Successful, Failed, Not yet responded, Expired (+ Cancelled). */
import { Badge } from '@mantine/core';
import type { HostStatus, LiveCounts, LiveHostStatus } from '@mimir/api-contract';

const LIVE_HOST: Record<LiveHostStatus, { label: string; color: string }> = {
  successful: { label: 'Successful', color: 'teal' },
  failed: { label: 'Failed', color: 'red' },
  pending: { label: 'Not yet responded', color: 'gray' },
  expired: { label: 'Expired', color: 'orange' },
  cancelled: { label: 'Cancelled', color: 'dark' },
};

export function liveHostStatusLabel(s: LiveHostStatus): string {
  return LIVE_HOST[s].label;
}

export function LiveHostStatusBadge({ status }: { status: LiveHostStatus }) {
  return <Badge color={LIVE_HOST[status].color} variant="light">{LIVE_HOST[status].label}</Badge>;
}

export function LiveStateBadge({ state }: { state: 'running' | 'completed' | 'cancelled' }) {
  const color = state === 'running' ? 'blue' : state === 'completed' ? 'teal' : 'gray';
  return <Badge color={color} variant="light">{state === 'running' ? 'Running' : state === 'completed' ? 'Completed' : 'Cancelled'}</Badge>;
}

export function HostStatusBadge({ status, isNew }: { status: HostStatus; isNew?: boolean }) {
  return (
    <>
      <Badge color={status === 'online' ? 'teal' : 'gray'} variant="dot">{status === 'online' ? 'Online' : 'Offline'}</Badge>
      {isNew === true && <Badge color="blue" variant="light" ml={4}>New</Badge>}
    </>
  );
}

/** A live query's host counts in seed 004's words (the live page and the saved-query Test query panel). */
export function LiveCountBadges({ counts }: { counts: LiveCounts }) {
  return (
    <>
      <Badge variant="light" color="indigo">Targeted {counts.targeted}</Badge>
      <Badge variant="light" color="teal">Successful {counts.successful}</Badge>
      <Badge variant="light" color="red">Failed {counts.failed}</Badge>
      <Badge variant="light" color="gray">Not yet responded {counts.pending}</Badge>
      <Badge variant="light" color="orange">Expired {counts.expired}</Badge>
      {counts.cancelled > 0 && <Badge variant="light" color="dark">Cancelled {counts.cancelled}</Badge>}
    </>
  );
}
