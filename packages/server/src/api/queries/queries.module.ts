import { ecsCatalog } from '../../services/ecs/ecs-catalog.js';
import { applyEcsMapping } from '../../services/ecs/ecs-mapping.js';
import { SavedQueryService } from '../../services/queries/saved-query.service.js';
import { osquerySchema } from '../../services/sql/osquery-schema.js';
import { OsquerySqlValidator } from '../../services/sql/sql-validator.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { registerSavedQueryRoutes } from './queries.routes.js';
import { registerSchemaRoutes } from './schema.routes.js';

/**
 * The queries area of the operator API: saved queries (seed 004), SQL validation against the osquery
 * schema and ECS mapping. Publishes the validator and `applyEcs` on `core.hub` for the live-query
 * and pack areas, and loads the prebuilt saved queries.
 */
export async function registerQueriesArea(app: ApiApp, core: CoreServices): Promise<void> {
  const schema = osquerySchema();
  const catalog = ecsCatalog();
  const validator = new OsquerySqlValidator(schema);
  const savedQueries = new SavedQueryService(core.store, validator, catalog, schema);
  core.hub.sqlValidator = validator;
  core.hub.applyEcs = applyEcsMapping;
  const loaded = await savedQueries.ensurePrebuilt(core.now(), core.log);
  if (loaded.created + loaded.updated + loaded.removed > 0) core.log.info(loaded, 'prebuilt saved queries loaded');
  registerSavedQueryRoutes(app, core, savedQueries);
  registerSchemaRoutes(app, schema, catalog);
}
