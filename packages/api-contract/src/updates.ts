/**
 * Signed updates (issue #5, seed 000 "Osquery Updates"; the Agent Updates panel is its twin):
 * register a signed artifact, approve it, roll it out by preset percentages, delete it at 0%,
 * upload binaries, and what an agent is told when it asks. The canonical manifest the signature
 * covers is documented in docs/updates.md.
 */
import Type from 'typebox';
import { Id, NullableTimestamp, Page, Timestamp } from './common.js';

export const UPDATE_KINDS = ['osquery', 'agent'] as const;
export type UpdateKind = (typeof UPDATE_KINDS)[number];
export const UpdateKind = Type.Union([Type.Literal('osquery'), Type.Literal('agent')], {
  description: 'osquery: the osqueryd binary under the agent; agent: the Mimir agent itself',
});

/** The Register form's dropdowns (seed 000). */
export const UPDATE_OSES = ['linux', 'darwin', 'windows', 'freebsd'] as const;
export type UpdateOs = (typeof UPDATE_OSES)[number];
export const UPDATE_ARCHES = ['amd64', 'arm64'] as const;
export type UpdateArch = (typeof UPDATE_ARCHES)[number];

/**
 * Rollout presets per kind. osquery is bottom-heavy (0/1/5/25/100) because replacing the inspection
 * engine is the heavier change; the agent panel uses "the dial" 0/10/25/50/100 (seed 000).
 */
export const ROLLOUT_PRESETS: Readonly<Record<UpdateKind, readonly number[]>> = {
  osquery: [0, 1, 5, 25, 100],
  agent: [0, 10, 25, 50, 100],
};

export const UpdateKindParams = Type.Object({ kind: UpdateKind });
export const UpdateArtifactParams = Type.Object({ kind: UpdateKind, id: Type.Integer({ minimum: 1 }) });

export const UpdateArtifact = Type.Object({
  id: Id,
  kind: UpdateKind,
  /** Kept exactly as typed (seed 000: "whatever you type lands in the table as-is"). */
  version: Type.String(),
  os: Type.String({ description: 'linux, darwin, windows or freebsd' }),
  arch: Type.String({ description: 'amd64 or arm64' }),
  /** `os/arch`, the Platform pill. */
  platform: Type.String(),
  url: Type.String({ description: 'Where agents download the binary; starts with /api/' }),
  sha256: Type.String({ description: '64 lower-case hex characters' }),
  signature: Type.String({ description: 'Ed25519 signature over the canonical manifest, 128 hex characters' }),
  timestamp: Type.String({ description: 'Manifest timestamp (RFC 3339 UTC), as signed' }),
  keyId: Type.String({ description: 'Which configured public key verified the signature (first 16 hex of SHA-256 of the raw key)' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('approved')]),
  rollout: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent of hosts of this os/arch in the cohort; 0 = paused' }),
  rolloutPresets: Type.Array(Type.Integer()),
  /** Delete is greyed out while rollout is above 0 (seed 000). */
  deletable: Type.Boolean(),
  addedAt: Timestamp,
  addedBy: Type.String(),
  approvedAt: NullableTimestamp,
  approvedBy: Type.Union([Type.String(), Type.Null()]),
  /**
   * Whether Mimir stores the binary the URL names: `stored` (SHA-256 matches), `sha_mismatch`
   * (every agent would reject it), `missing` (not uploaded yet), `external` (URL is not a Mimir binary path).
   */
  binary: Type.Union([Type.Literal('stored'), Type.Literal('sha_mismatch'), Type.Literal('missing'), Type.Literal('external')]),
});
export type UpdateArtifact = Type.Static<typeof UpdateArtifact>;
export const UpdateArtifactList = Page(UpdateArtifact);

export const UpdateArtifactListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  os: Type.Optional(Type.String({ maxLength: 20 })),
  arch: Type.Optional(Type.String({ maxLength: 20 })),
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('approved')])),
});

/**
 * The Register form. Fields are plain strings here so the server can answer every field at once
 * with a message meant for people (422 details `{path, message}`), e.g. SHA256 "must be exactly
 * 64 hex characters".
 */
export const RegisterUpdateRequest = Type.Object(
  {
    version: Type.String({ maxLength: 1000, description: 'Exactly the upstream version string, e.g. 5.12.1' }),
    os: Type.String({ maxLength: 100, description: 'linux, darwin, windows or freebsd' }),
    arch: Type.String({ maxLength: 100, description: 'amd64 or arm64' }),
    url: Type.String({ maxLength: 4096, description: 'Must start with /api/, typically /api/v1/osquery/binary/<os>/<arch>/<version>/osqueryd' }),
    sha256: Type.String({ maxLength: 1000, description: 'Exactly 64 hex characters' }),
    signature: Type.String({ maxLength: 4096, description: 'Ed25519 signature over the manifest, hex (128 characters)' }),
    timestamp: Type.String({ maxLength: 1000, description: 'RFC 3339 UTC, e.g. 2026-04-04T12:00:00Z' }),
  },
  { additionalProperties: false },
);
export type RegisterUpdateRequest = Type.Static<typeof RegisterUpdateRequest>;

/** A change plus the toast text the console shows (seed 000 wording). */
export const UpdateArtifactResult = Type.Object({ artifact: UpdateArtifact, message: Type.String() });

export const RolloutRequest = Type.Object(
  { percent: Type.Integer({ minimum: 0, maximum: 100, description: 'One of the presets of this kind' }) },
  { additionalProperties: false },
);
export const RolloutResult = Type.Object({
  artifact: UpdateArtifact,
  message: Type.String(),
  /** False when the rollout already had this value: nothing was saved or audited. */
  changed: Type.Boolean(),
});

export const UpdateDeleted = Type.Object({ ok: Type.Literal(true), message: Type.String() });

export const UpdateProgress = Type.Object({
  artifactId: Id,
  kind: UpdateKind,
  version: Type.String(),
  platform: Type.String(),
  rollout: Type.Integer(),
  /** Hosts of this os/arch. */
  hostsTotal: Type.Integer(),
  /** Of those, hosts whose cohort number is below the rollout. */
  hostsInCohort: Type.Integer(),
  /** Of those hosts, how many already report this version. */
  hostsOnVersion: Type.Integer(),
  /** Hosts whose agent has asked for updates (plain osquery hosts without the agent never do). */
  hostsReporting: Type.Integer(),
  /** Hosts whose agent said osquery auto-updates are off (installer option; they never take osquery updates). */
  autoUpdateOff: Type.Integer(),
});
export type UpdateProgress = Type.Static<typeof UpdateProgress>;

export const UpdateBinary = Type.Object({
  id: Id,
  kind: UpdateKind,
  os: Type.String(),
  arch: Type.String(),
  version: Type.String(),
  /** The download URL to register (agent-facing, node-key authenticated). */
  url: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
  uploadedAt: Timestamp,
  uploadedBy: Type.String(),
});
export type UpdateBinary = Type.Static<typeof UpdateBinary>;
export const UpdateBinaryList = Page(UpdateBinary);
export const UpdateBinaryListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  kind: Type.Optional(UpdateKind),
});
export const UploadedBinary = Type.Object({
  binary: UpdateBinary,
  message: Type.String(),
  /** False when the same bytes were already stored. */
  changed: Type.Boolean(),
});

/**
 * Agent-facing (`POST /api/v1/osquery/updates`, node-key authenticated): what the agent reports.
 * `autoUpdate` is the installer's "osquery auto-updates" switch (seed 000 troubleshooting (2)).
 */
export const AgentUpdateCheck = Type.Object({
  node_key: Type.Optional(Type.String()),
  os: Type.String(),
  arch: Type.String(),
  osqueryVersion: Type.String(),
  agentVersion: Type.String(),
  autoUpdate: Type.Optional(Type.Boolean()),
});
export type AgentUpdateCheck = Type.Static<typeof AgentUpdateCheck>;

/** One target: enough to download, check the SHA-256 and verify the manifest signature. */
export const AgentUpdateTarget = Type.Object({
  version: Type.String(),
  url: Type.String(),
  sha256: Type.String(),
  signature: Type.String(),
  timestamp: Type.String(),
});
export type AgentUpdateTarget = Type.Static<typeof AgentUpdateTarget>;

/** `null` = stay where you are. */
export const AgentUpdateAnswer = Type.Object({
  osquery: Type.Union([AgentUpdateTarget, Type.Null()]),
  agent: Type.Union([AgentUpdateTarget, Type.Null()]),
});
export type AgentUpdateAnswer = Type.Static<typeof AgentUpdateAnswer>;
