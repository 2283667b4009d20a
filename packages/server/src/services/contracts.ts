/**
 * Interfaces between service areas that are built separately: the area that implements one
 * publishes it on the ServiceHub; others read it at request time.
 */

/** Who a live query (or a pack run) targets. A host matching any part is targeted. */
export interface TargetSpec {
  all?: boolean | undefined;
  hostIds?: readonly number[] | undefined;
  labelIds?: readonly number[] | undefined;
  groupIds?: readonly number[] | undefined;
  /** Host platform families: linux, darwin, windows, freebsd. */
  platforms?: readonly string[] | undefined;
}

export interface TargetResolver {
  /** Host ids matching the spec, ascending, without duplicates. */
  resolve(spec: TargetSpec): Promise<number[]>;
}

export interface SqlIssue {
  severity: 'error' | 'warning';
  message: string;
  table?: string | undefined;
  column?: string | undefined;
}

export interface SqlValidation {
  /** Errors block saving/running; warnings (platform mismatches) do not. */
  errors: SqlIssue[];
  warnings: SqlIssue[];
  /** osquery tables the query reads. */
  tables: string[];
}

export interface SqlValidator {
  validate(sql: string, opts?: { platforms?: readonly string[] | undefined }): SqlValidation;
}

/**
 * Elastic's ECS mapping shape (seed 004): ECS field → an osquery column (`field`) or a static value.
 * e.g. `{"user.name": {"field": "username"}, "event.category": {"value": ["process"]}}`.
 */
export type EcsMapping = Record<string, { field?: string | undefined; value?: string | number | boolean | readonly (string | number | boolean)[] | undefined }>;

export interface ServiceHub {
  targets?: TargetResolver;
  sqlValidator?: SqlValidator;
  /** Apply a validated ECS mapping to one result row: the ECS document (nested objects). */
  applyEcs?: (mapping: EcsMapping, row: Readonly<Record<string, unknown>>) => Record<string, unknown>;
}
