/**
 * The Register version modal (seed 000 "How to register a new version"): seven fields pasted from
 * the CI signing step, with the seed's hints, pattern and footer text. The three format rules the
 * seed puts in the form itself (SHA256 pattern, 128 hex signature, URL under /api/) are checked here
 * with the server's own wording, so nothing is sent until they hold; everything else (version text,
 * timestamp, and above all the Ed25519 signature covering exactly these values) is the server's
 * answer, shown next to the field it names.
 */
import { Alert, Button, Group, Modal, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { UPDATE_ARCHES, UPDATE_OSES, type UpdateArtifact, type UpdateKind } from '@mimir/api-contract';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode, type SyntheticEvent } from 'react';
import { api } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { errorMessage, notifySuccess } from '../../../lib/notify';

type Field = 'version' | 'os' | 'arch' | 'url' | 'sha256' | 'signature' | 'timestamp';
type Values = Record<Field, string>;

/** The seed's pattern="[a-fA-F0-9]{64}" and the server's rules (services/updates/validate.ts). */
export const SHA256_PATTERN = '[a-fA-F0-9]{64}';
export const SIGNATURE_PATTERN = '[a-fA-F0-9]{128}';

/** Same messages as the server, so a person sees one wording whichever side caught it. */
export function checkRegisterFields(v: Values): Partial<Record<Field, string>> {
  const out: Partial<Record<Field, string>> = {};
  if (!v.url.startsWith('/api/')) out.url = 'must start with /api/';
  if (!new RegExp(`^${SHA256_PATTERN}$`).test(v.sha256)) out.sha256 = 'must be exactly 64 hex characters';
  if (v.signature === '') out.signature = 'is required: the hex Ed25519 signature from the signing step (128 hex characters)';
  else if (!new RegExp(`^${SIGNATURE_PATTERN}$`).test(v.signature)) out.signature = 'must be exactly 128 hex characters (Ed25519, hex)';
  return out;
}

function Hint({ label, hint }: { label: string; hint: string }): ReactNode {
  return <>{label} <Text span size="xs" c="dimmed" fw={400}>{hint}</Text></>;
}

/** Field names as the form shows them: the API's messages ("must start with /api/") follow them. */
const LABELS: Record<Field, string> = {
  version: 'Version', os: 'OS', arch: 'Arch', url: 'Download URL', sha256: 'SHA256', signature: 'Manifest signature', timestamp: 'Manifest timestamp',
};

function fieldMessage(name: Field, message: string | undefined): string | undefined {
  return message === undefined ? undefined : `${LABELS[name]} ${message}`;
}

const EMPTY: Values = { version: '', os: 'linux', arch: 'amd64', url: '', sha256: '', signature: '', timestamp: '' };

export function RegisterVersionModal({ kind, opened, onClose }: { kind: UpdateKind; opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [values, setValues] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [alert, setAlert] = useState<string>();
  const binary = kind === 'osquery' ? 'binary' : 'agent-binary';
  const file = kind === 'osquery' ? 'osqueryd' : 'mimir-agent';

  const register = useMutation({
    mutationFn: (body: Values) => api.post<{ artifact: UpdateArtifact; message: string }>(`/updates/${kind}/artifacts`, body),
    onSuccess: async (r) => {
      notifySuccess(r.message);
      setValues(EMPTY);
      onClose();
      await qc.invalidateQueries({ queryKey: ['updates', kind] });
    },
    onError: (err) => {
      setErrors(fieldErrorsOf(err));
      setAlert(errorMessage(err));
    },
  });

  const close = () => {
    setErrors({});
    setAlert(undefined);
    onClose();
  };

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    setAlert(undefined);
    const problems = checkRegisterFields(values);
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    register.mutate(values);
  };

  const field = (name: Field) => ({
    value: values[name],
    error: fieldMessage(name, errors[name]),
    onChange: (e: { currentTarget: { value: string } }) => {
      const value = e.currentTarget.value;
      setValues((v) => ({ ...v, [name]: value }));
    },
  });

  return (
    <Modal opened={opened} onClose={close} title="Register version" size="lg">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          {alert !== undefined && <Alert color="red" role="alert" title="Registration failed">{alert}</Alert>}
          <TextInput
            label="Version" required data-autofocus autoComplete="off" spellCheck={false}
            placeholder={kind === 'osquery' ? '5.12.1' : '1.2.0'} ff="monospace" {...field('version')}
          />
          <SimpleGrid cols={2}>
            <Select
              label="OS" required allowDeselect={false} data={[...UPDATE_OSES]} value={values.os} error={fieldMessage('os', errors.os)}
              onChange={(os) => setValues((v) => ({ ...v, os: os ?? v.os }))}
            />
            <Select
              label="Arch" required allowDeselect={false} data={[...UPDATE_ARCHES]} value={values.arch} error={fieldMessage('arch', errors.arch)}
              onChange={(arch) => setValues((v) => ({ ...v, arch: arch ?? v.arch }))}
            />
          </SimpleGrid>
          <TextInput
            label={<Hint label="Download URL" hint="(must start with /api/)" />} required autoComplete="off" spellCheck={false}
            placeholder={`/api/v1/osquery/${binary}/${values.os}/${values.arch}/${values.version !== '' ? values.version : '<version>'}/${file}`}
            {...field('url')}
          />
          <TextInput
            label="SHA256" required autoComplete="off" spellCheck={false} pattern={SHA256_PATTERN} maxLength={64} ff="monospace"
            placeholder="64 hex characters" {...field('sha256')}
          />
          <TextInput
            label={<Hint label="Manifest signature" hint="(Ed25519, hex)" />} required autoComplete="off" spellCheck={false}
            pattern={SIGNATURE_PATTERN} ff="monospace" placeholder="128 hex characters" {...field('signature')}
          />
          <TextInput
            label="Manifest timestamp" required autoComplete="off" spellCheck={false} placeholder="2026-04-04T12:00:00Z"
            {...field('timestamp')}
          />
          <Text size="xs" c="dimmed">
            Signature and timestamp are generated by the CI signing step (scripts/sign-osquery-manifest.sh). For direct binary
            uploads, use mimir-cli or POST multipart/form-data to the API.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>Cancel</Button>
            <Button type="submit" loading={register.isPending}>Register</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
