#!/usr/bin/env node
/** `mimir-cli` entry point: run, then exit with the documented code (docs/cli.md). */
import { main } from '../program.js';

const code = await main(process.argv.slice(2), { out: process.stdout, err: process.stderr, stdin: process.stdin, env: process.env });
// Let stdout drain (a pipe may still hold data) before the exit code is set.
process.exitCode = code;
