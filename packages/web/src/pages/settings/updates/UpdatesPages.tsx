/** The two routes of the shared panel (seed 000): osquery's 0/1/5/25/100 and the agent's 0/10/25/50/100 dial. */
import { UpdatesPanel } from './UpdatesPanel';

export function OsqueryUpdatesPage() {
  return <UpdatesPanel kind="osquery" />;
}

export function AgentUpdatesPage() {
  return <UpdatesPanel kind="agent" />;
}
