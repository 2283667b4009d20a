/**
 * Prompts, only when stdin is a terminal: a script must never hang waiting for input that will not
 * come, so without a TTY every prompt fails with a message naming the flag that replaces it.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { UsageError } from './errors.js';
import type { Io } from './output.js';

export function canPrompt(io: Io): boolean {
  return io.stdin.isTTY === true;
}

function requireTty(io: Io, instead: string): void {
  if (!canPrompt(io)) throw new UsageError(`stdin is not a terminal, so mimir-cli will not prompt: ${instead}`);
}

/** Ask one line; `hidden` echoes nothing (passwords). */
export function ask(io: Io, question: string, opts: { hidden?: boolean; instead: string }): Promise<string> {
  requireTty(io, opts.instead);
  const state = { muted: false };
  const output = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      if (!state.muted) io.err.write(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      cb();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    rl.on('SIGINT', () => {
      rl.close();
      io.err.write('\n');
      reject(new UsageError('cancelled'));
    });
    rl.question(question, (answer) => {
      rl.close();
      if (opts.hidden === true) io.err.write('\n');
      resolve(answer);
    });
    state.muted = opts.hidden === true;
  });
}

/** Yes/no before something destructive; `--yes` answers for scripts. */
export async function confirm(io: Io, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  requireTty(io, 'pass --yes to confirm');
  const a = (await ask(io, `${question} [y/N] `, { instead: 'pass --yes to confirm' })).trim().toLowerCase();
  return a === 'y' || a === 'yes';
}

/** All of stdin as text (for --password-stdin, `-` files). */
export async function readStdin(io: Io, what: string): Promise<string> {
  if (io.stdin.isTTY === true) throw new UsageError(`${what}: expected input on stdin (a pipe or a file), not a terminal`);
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}
