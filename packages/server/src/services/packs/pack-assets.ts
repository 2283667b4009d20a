/**
 * Packs shipped with the server (packages/server/assets):
 * - `packs/*.json`: Mimir's prebuilt packs (seed 004 "Load prebuilt packs"), each
 *   `{"id": "<stable id>", "pack": <the body POST /packs takes>}`;
 * - `osquery-example-packs/*.conf`: osquery's own example packs, byte for byte, offered for import
 *   (seed 004: "To explore the community packs that Osquery publishes, click Example packs").
 * The folder sits next to `src/` and `dist/`, so the same relative path works from both.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Type from 'typebox';
import { CreatePackRequest } from '@mimir/api-contract';
import { compileChecker } from '@mimir/osquery-protocol';
import { parseOsqueryPackConf, type ParsedConf } from './osquery-conf.js';
import type { PackInput } from './pack-rules.js';

export const PREBUILT_DIR = fileURLToPath(new URL('../../../assets/packs/', import.meta.url));
export const EXAMPLES_DIR = fileURLToPath(new URL('../../../assets/osquery-example-packs/', import.meta.url));

/** osquery is dual-licensed; the recipient picks one (osquery LICENSE, /work/shared/osquery/README.md). */
export const EXAMPLES_LICENSE = 'Apache-2.0 OR GPL-2.0-only';
export const EXAMPLES_SOURCE = 'https://github.com/osquery/osquery/tree/5.23.1/packs';
export const EXAMPLES_NOTE = 'Example packs from the osquery project. Upstream says they are not maintained: review each query before deploying it.';

const PrebuiltFile = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,99}$' }),
  pack: CreatePackRequest,
});
const checkPrebuilt = compileChecker(PrebuiltFile, 'prebuilt pack');

export interface PrebuiltPack {
  id: string;
  fileName: string;
  pack: PackInput;
}

/** Every prebuilt pack file; a malformed file is a packaging bug and fails loudly. */
export async function loadPrebuiltPacks(dir = PREBUILT_DIR): Promise<PrebuiltPack[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const out: PrebuiltPack[] = [];
  for (const fileName of files) {
    const parsed = checkPrebuilt(JSON.parse(await readFile(`${dir}${fileName}`, 'utf8')) as unknown);
    if (!parsed.ok) throw new Error(`assets/packs/${fileName}: ${parsed.error}`);
    out.push({ id: parsed.value.id, fileName, pack: parsed.value.pack });
  }
  return out;
}

export interface ExamplePack {
  /** File name without `.conf`: the id used by the API. */
  name: string;
  fileName: string;
  conf: string;
  parsed: ParsedConf;
}

export async function loadExamplePacks(dir = EXAMPLES_DIR): Promise<ExamplePack[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.conf')).sort();
  const out: ExamplePack[] = [];
  for (const fileName of files) {
    const conf = await readFile(`${dir}${fileName}`, 'utf8');
    out.push({ name: fileName.slice(0, -'.conf'.length), fileName, conf, parsed: parseOsqueryPackConf(conf) });
  }
  return out;
}
