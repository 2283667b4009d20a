/**
 * The command tree itself (in-process, no server): every command documents its flags' environment
 * variables and shows examples in --help, and no CLI variable collides with a server setting (a
 * `MIMIR_PORT` meant for `mimir serve` must never change what mimir-cli does).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { describeConfig } from '../../server/src/config/config.js';
import { buildProgram, envNameOf } from '../src/program.js';
import { Context } from '../src/core/context.js';
import { main } from '../src/program.js';
import { colorEnabled, csvLine, paint, type Io } from '../src/core/output.js';

function capture(): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: Io = {
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    stdin: process.stdin,
    env: {},
  };
  return { io, out: () => out, err: () => err };
}

/** Every command below the root (nouns and verbs). */
function below(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...below(c)]);
}

const path = (c: Command): string => (c.parent !== null ? `${path(c.parent)} ${c.name()}` : c.name());

describe('mimir-cli command tree', () => {
  it('should show examples and the environment variable of every flag in each command\'s help', () => {
    const cap = capture();
    const program = buildProgram(new Context(cap.io));
    const all = below(program);
    assert.ok(all.length > 60, `${all.length} commands`);
    for (const c of all) {
      const before = cap.out().length;
      c.outputHelp();
      const help = cap.out().slice(before);
      assert.match(help, /Examples:\n {2}\$ mimir-cli /, `${path(c)} --help has examples`);
      for (const o of c.options) {
        const env = envNameOf(o);
        if (env !== undefined) assert.ok(help.replace(/\s+/g, ' ').includes(`(env: ${env})`), `${path(c)} ${o.long ?? ''} names ${env}`);
      }
    }
  });

  it('should never read a variable that configures the server', () => {
    const server = new Set(describeConfig().map((s) => s.env));
    const cap = capture();
    const program = buildProgram(new Context(cap.io));
    const walk = (c: Command): Command[] => [c, ...c.commands.flatMap(walk)];
    for (const c of walk(program)) {
      for (const o of c.options) {
        const env = envNameOf(o);
        if (env !== undefined) assert.ok(!server.has(env), `${path(c)} ${o.long ?? ''} would read the server's ${env}`);
      }
    }
  });

  it('should exit 0 for --help and --version, and 2 for unknown commands', async () => {
    const a = capture();
    assert.equal(await main(['--version'], a.io), 0);
    assert.match(a.out(), /^\d+\.\d+\.\d+\n$/);
    const b = capture();
    assert.equal(await main(['osquery', 'rollout', '--help'], b.io), 0);
    assert.match(b.out(), /osquery presets|0%, 1%, 5%, 25%, 100%/);
    const c = capture();
    assert.equal(await main(['hots', 'list'], c.io), 2);
    assert.match(c.err(), /unknown command 'hots'/);
  });

  it('should colour only a terminal, never with NO_COLOR, TERM=dumb or --no-color', () => {
    const tty = { write: () => true, isTTY: true };
    const pipe = { write: () => true };
    assert.equal(colorEnabled(tty, {}, true), true);
    assert.equal(colorEnabled(pipe, {}, true), false);
    assert.equal(colorEnabled(tty, { NO_COLOR: '1' }, true), false);
    assert.equal(colorEnabled(tty, { NO_COLOR: '' }, true), true, 'no-color.org: only a non-empty NO_COLOR counts');
    assert.equal(colorEnabled(tty, { TERM: 'dumb' }, true), false);
    assert.equal(colorEnabled(tty, {}, false), false);
    assert.equal(paint(true, 'red', 'x'), '\u001b[31mx\u001b[39m');
    assert.equal(paint(false, 'red', 'x'), 'x');
  });

  it('should write RFC 4180 CSV with values as they are', () => {
    assert.equal(csvLine(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3, '=1+1']), 'a,"b,c","say ""hi""","two\nlines",,3,=1+1\r\n');
  });
});
