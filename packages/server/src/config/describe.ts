// The public, presentation-ready view of the schema: what `mimir config` prints and what
// docs/configuration.md is generated from.
import { defaultText, LEAVES, typeLabel } from './leaves.js';

/** Names the JSON config file; it is not a setting itself, so it has no place in the schema. */
export const CONFIG_FILE_ENV = 'MIMIR_CONFIG_FILE';

export interface SettingDescription {
  env: string;
  /** Dotted key in the config file and path in Config, e.g. `server.port`. */
  key: string;
  type: string;
  /** Default as it would be written in the env var; undefined for optional settings. */
  default: string | undefined;
  secret: boolean;
  doc: string;
}

/** Every setting in schema order. */
export function describeConfig(): SettingDescription[] {
  return LEAVES.map((leaf) => ({
    env: leaf.env,
    key: leaf.key,
    type: typeLabel(leaf),
    default: defaultText(leaf),
    secret: leaf.secret,
    doc: leaf.doc,
  }));
}
