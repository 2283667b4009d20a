import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogRequest } from '../normalize.js';
import { toOsqueryJson } from './json.js';
import { asciiTime, resultBatchLine, resultEventLine, resultSnapshotLine, statusLine, toPlainLine } from './log-lines.js';

const T = 1704207845; // Tue Jan  2 15:04:05 2024 UTC

describe('asciiTime', () => {
  it('formats like C asctime in UTC with a space-padded day', () => {
    assert.equal(asciiTime(T), 'Tue Jan  2 15:04:05 2024 UTC');
    assert.equal(asciiTime(Date.UTC(2023, 11, 31, 23, 59, 59) / 1000), 'Sun Dec 31 23:59:59 2023 UTC');
    assert.equal(asciiTime(0), 'Thu Jan  1 00:00:00 1970 UTC');
  });
});

describe('result lines', () => {
  const common = { name: 'pack_it_procs', hostIdentifier: 'web-01', unixTime: T, counter: 3 };

  it('event format: common fields, decorations, columns (sorted), action', () => {
    const line = resultEventLine({ ...common, decorations: { host_uuid: 'U' } }, { pid: '97830', name: 'osqueryd' }, 'added');
    assert.equal(
      toOsqueryJson(line),
      '{"name":"pack_it_procs","hostIdentifier":"web-01","calendarTime":"Tue Jan  2 15:04:05 2024 UTC",' +
        '"unixTime":1704207845,"epoch":0,"counter":3,"numerics":false,"decorations":{"host_uuid":"U"},' +
        '"columns":{"name":"osqueryd","pid":"97830"},"action":"added"}',
    );
  });

  it('batch format: diffResults first, removed before added, no decorations key when none', () => {
    const line = resultBatchLine({ ...common, counter: 0 }, { added: [{ b: '2', a: '1' }] });
    assert.equal(
      toOsqueryJson(line),
      '{"diffResults":{"removed":[],"added":[{"a":"1","b":"2"}]},"name":"pack_it_procs","hostIdentifier":"web-01",' +
        '"calendarTime":"Tue Jan  2 15:04:05 2024 UTC","unixTime":1704207845,"epoch":0,"counter":0,"numerics":false}',
    );
  });

  it('snapshot format, with "" for empty snapshots and string numbers in 2.x', () => {
    assert.equal(
      toOsqueryJson(resultSnapshotLine(common, [{ x: 1 }])),
      '{"snapshot":[{"x":1}],"action":"snapshot","name":"pack_it_procs","hostIdentifier":"web-01",' +
        '"calendarTime":"Tue Jan  2 15:04:05 2024 UTC","unixTime":1704207845,"epoch":0,"counter":3,"numerics":false}',
    );
    assert.match(toOsqueryJson(resultSnapshotLine(common, [])), /^\{"snapshot":\[\],/);
    const legacy = toOsqueryJson(resultSnapshotLine({ ...common, version: '2.11.0' }, []));
    assert.match(legacy, /^\{"snapshot":"","action":"snapshot",/);
    assert.match(legacy, /"unixTime":"1704207845","epoch":"0","counter":"3"/);
  });

  it('flattens decorations with decorations_top_level', () => {
    const line = resultEventLine({ ...common, decorations: { host_uuid: 'U' }, decorationsTopLevel: true }, { a: '1' }, 'removed');
    assert.match(toOsqueryJson(line), /"numerics":false,"host_uuid":"U","columns":/);
  });

  it('round-trips through the server-side normalizer', () => {
    const data = [
      toPlainLine(resultEventLine(common, { a: '1' }, 'added')),
      toPlainLine(resultBatchLine(common, { removed: [{ a: '0' }] })),
      toPlainLine(resultSnapshotLine({ ...common, version: '2.0.0' }, [])),
    ];
    const parsed = parseLogRequest({ node_key: 'k', log_type: 'result', data });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.records.length, 3);
  });
});

describe('status lines', () => {
  const input = { hostIdentifier: 'web-01', unixTime: T, severity: 0, filename: 'init.cpp', line: 379, message: 'm' };

  it('uses numbers since 5.10 and strings before', () => {
    assert.equal(
      toOsqueryJson(statusLine({ ...input, version: '5.10.2', decorations: { host_uuid: 'U' } })),
      '{"hostIdentifier":"web-01","calendarTime":"Tue Jan  2 15:04:05 2024 UTC","unixTime":1704207845,"severity":0,' +
        '"filename":"init.cpp","line":379,"message":"m","version":"5.10.2","decorations":{"host_uuid":"U"}}',
    );
    assert.equal(
      toOsqueryJson(statusLine({ ...input, version: '5.9.1' })),
      '{"hostIdentifier":"web-01","calendarTime":"Tue Jan  2 15:04:05 2024 UTC","unixTime":"1704207845","severity":"0",' +
        '"filename":"init.cpp","line":"379","message":"m","version":"5.9.1"}',
    );
  });
});

describe('toOsqueryJson', () => {
  it('escapes like rapidjson: no "/" escaping, raw UTF-8, upper-case \\u00XX', () => {
    assert.equal(toOsqueryJson({ p: 'a/b', u: 'é☃', c: '\u0001\n"\\' }), '{"p":"a/b","u":"é☃","c":"\\u0001\\n\\"\\\\"}');
    assert.equal(toOsqueryJson(new Map([['2', 1], ['1', 2]])), '{"2":1,"1":2}');
  });
});
