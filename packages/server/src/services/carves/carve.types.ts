import type { HostState } from '../host-cache.js';

export interface CarveBeginInput {
  blockCount: number;
  blockSize: number;
  carveSize: number;
  carveGuid: string;
  requestId: string;
}

export interface CarveBlockInput {
  blockId: number;
  sessionId: string;
  requestId: string | undefined;
  /** Standard base64 with padding (§6.2). */
  data: string;
}

/** File carving on the osquery side (osquery-protocol.md §6, S10). */
export interface CarveReceiver {
  begin(host: HostState, input: CarveBeginInput, now: number): Promise<{ sessionId: string }>;
  /**
   * Store one block. Blocks carry no node key before 5.23: they are authenticated by session id
   * (+ request id), and by the Authorization header's host when present (`headerHost`).
   */
  block(input: CarveBlockInput, headerHost: HostState | undefined, now: number): Promise<void>;
}
