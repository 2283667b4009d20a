/**
 * Builds a distributable mimir-agent: the agent and its code bundled into one executable file (the
 * entry's shebang is kept) with its version baked in (MIMIR_AGENT_BUILD_VERSION, see
 * src/version.ts): the file an admin uploads, signs (scripts/sign-osquery-manifest.sh) and rolls
 * out on Agent Updates. The agent tests build their agents the same way (test/harness.ts).
 *
 *   npm run agent:bundle -- --version 0.2.0 [--out dist/release/mimir-agent-0.2.0]
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const PACKAGE = fileURLToPath(new URL('../', import.meta.url));

/** Versions travel in manifests and paths: keep them to the characters the server accepts. */
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

export async function bundleAgent(version: string, out: string): Promise<string> {
  if (!VERSION.test(version)) throw new Error(`--version: "${version}" is not a version (letters, digits, . + _ -; at most 64)`);
  mkdirSync(dirname(out), { recursive: true });
  await build({
    entryPoints: [join(PACKAGE, 'src/bin/mimir-agent.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { MIMIR_AGENT_BUILD_VERSION: JSON.stringify(version) },
    conditions: ['mimir-source'],
    logLevel: 'error',
  });
  chmodSync(out, 0o755);
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' } } });
  if (values.version === undefined) {
    process.stderr.write('usage: npm run agent:bundle -- --version X.Y.Z [--out FILE]\n');
    process.exit(2);
  }
  const out = resolve(values.out ?? join(PACKAGE, 'dist', 'release', `mimir-agent-${values.version}`));
  bundleAgent(values.version, out).then(
    (file) => process.stdout.write(`${file}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
