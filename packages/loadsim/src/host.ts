/**
 * One simulated host: the osqueryd stand-in (so every request is byte-for-byte what osqueryd sends)
 * with the simulator's HTTP client swapped in and distributed answers shaped by the failure and
 * no-result rates.
 */
import {
  OsquerydStandin, type DistributedQueryResult, type OsqueryHttpClient, type OsquerydStandinOptions, type TableRow,
} from '@mimir/osquery-protocol/standin';
import { classifyQuery, decideAnswer, type AnswerRates, type QueryKind, type QueryPrefixes } from './answers.js';

export interface SimulatedHostBehaviour {
  /** Seed of the host identity; also keys the per-query answer draws. */
  seed: string;
  rates: AnswerRates;
  prefixes: QueryPrefixes;
  /** Called for every distributed query answered (after the rates were applied). */
  onAnswer?: (kind: QueryKind, name: string, result: DistributedQueryResult) => void;
}

const NO_STATS = { wall_time_ms: 0, user_time: 0, system_time: 0, memory: 0 };

export class SimulatedHost extends OsquerydStandin {
  /** The simulator's client (timed, per-host or pooled) replaces the stand-in's own. */
  override readonly http: OsqueryHttpClient;
  private readonly behaviour: SimulatedHostBehaviour;

  constructor(options: OsquerydStandinOptions, http: OsqueryHttpClient, behaviour: SimulatedHostBehaviour) {
    super(options);
    this.http = http;
    this.behaviour = behaviour;
  }

  /** Distributed queries go through the rates; discovery queries (`discovery:<id>`) never fail here. */
  override async runQuery(id: string, sql: string): Promise<DistributedQueryResult> {
    if (id.startsWith('discovery:')) return super.runQuery(id, sql);
    const b = this.behaviour;
    const kind = classifyQuery(id, b.prefixes);
    const decision = decideAnswer(b.seed, id, b.rates[kind]);
    let result: DistributedQueryResult;
    if (decision === 'fail') {
      result = { id, rows: [], status: 1, message: 'simulated failure (loadsim failure rate)', stats: NO_STATS };
    } else if (decision === 'empty') {
      result = { id, rows: [], status: 0, message: '', stats: NO_STATS };
    } else {
      result = await super.runQuery(id, sql);
    }
    b.onAnswer?.(kind, id, result);
    return result;
  }

  /** Run SQL on the host's tables without the rates (scheduled queries, decorators); undefined on error. */
  async runLocal(sql: string): Promise<TableRow[] | undefined> {
    const r = await super.runQuery('local', sql);
    return r.status === 0 ? [...r.rows] : undefined;
  }
}
