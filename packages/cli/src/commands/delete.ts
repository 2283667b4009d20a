/** The `<noun> delete <ref>` shape shared by hosts, queries, packs, labels and users: resolve, confirm (or --yes), DELETE. */
import type { Command } from 'commander';
import type { Context } from '../core/context.js';
import type { ApiClient } from '../core/http.js';
import { CliError, EXIT } from '../core/errors.js';
import { withExamples, withOutput } from '../core/flags.js';
import { confirm } from '../core/prompt.js';

export interface DeleteSpec {
  /** "saved query", shown in the question and the message. */
  noun: string;
  argument: string;
  description: string;
  example: string;
  resolve: (client: ApiClient, ref: string) => Promise<number>;
  path: (id: number) => string;
  /** Extra sentence after "Delete <noun> <ref>?" (what happens next). */
  consequence?: string;
}

export function addDelete(parent: Command, ctx: Context, spec: DeleteSpec): void {
  withExamples(withOutput(parent.command('delete').argument(`<${spec.argument}>`, 'name or id').description(spec.description)
    .option('-y, --yes', 'do not ask for confirmation')), spec.example)
    .action(async (ref: string, o: { yes?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const id = await spec.resolve(client, ref);
      const question = `Delete ${spec.noun} ${ref}${String(id) === ref ? '' : ` (id ${id})`}?${spec.consequence !== undefined ? ` ${spec.consequence}` : ''}`;
      if (!(await confirm(ctx.io, question, o.yes === true))) throw new CliError('not deleted', EXIT.error);
      p.json(await client.request('DELETE', spec.path(id)));
      p.say(`${spec.noun[0]?.toUpperCase() ?? ''}${spec.noun.slice(1)} ${ref} deleted`);
    });
}
