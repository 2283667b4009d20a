// Regenerates docs/configuration.md: `npx tsx packages/server/src/config/render-docs.ts`.
// Kept beside the renderer (not in package.json scripts) so the docs test can name the exact command.
import { writeFileSync } from 'node:fs';
import { CONFIG_DOC_PATH, renderConfigMarkdown } from './docs.js';

const target = new URL(`../../../../${CONFIG_DOC_PATH}`, import.meta.url);
writeFileSync(target, renderConfigMarkdown());
process.stdout.write(`wrote ${target.pathname}\n`);
