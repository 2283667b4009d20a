/**
 * SQLite's tokenizer, rule for rule (sqlite.org/src tokenize.c `sqlite3GetToken`): osquery runs every
 * query through SQLite, so a query is valid exactly when SQLite can tokenize and parse it. Strings
 * have no backslash escapes (`'C:\'` is a complete string), `""`, `` ` ` `` and `[ ]` quote
 * identifiers, and a number glued to letters (`1abc`) is an unrecognized token.
 */

export type TokenType = 'id' | 'qid' | 'string' | 'blob' | 'number' | 'param' | 'op' | 'eof';

export interface Token {
  type: TokenType;
  /** Source text of the token. */
  text: string;
  /** Identifiers and strings without quotes; upper-cased text for bare words. */
  value: string;
  /** Upper-cased bare word (keyword lookups); '' for other tokens. */
  upper: string;
  start: number;
  end: number;
}

export class SqlSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

// SQLite's IdChar: letters, digits, `_`, `$` and every byte >= 0x80 (UTF-8 is taken as letters).
const isIdStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
const isIdChar = (c: number): boolean => isIdStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
// sqlite3Isspace: space, \t, \n, \v, \f, \r.
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Two- and three-character operators first, so the longest match wins. */
const OPERATORS = ['->>', '->', '||', '==', '!=', '<>', '<=', '>=', '<<', '>>', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '~', '(', ')', ',', ';', '.'];

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (type: TokenType, start: number, end: number, value: string) => {
    const text = sql.slice(start, end);
    tokens.push({ type, text, value, upper: type === 'id' ? value : '', start, end });
  };
  function unrecognized(start: number, end: number): never {
    throw new SqlSyntaxError(`unrecognized token: "${sql.slice(start, Math.min(end, start + 40))}"`, start);
  }

  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // Comments: `-- …` to the end of the line, `/* … */` (an unclosed one runs to the end, as in SQLite).
    if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      while (i < n && sql.charCodeAt(i) !== 0x0a) i++;
      continue;
    }
    if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    const start = i;
    // Strings: only '' escapes a quote; backslashes are ordinary characters.
    if (c === 0x27) {
      let value = '';
      i++;
      for (;;) {
        const q = sql.indexOf("'", i);
        if (q < 0) unrecognized(start, n);
        value += sql.slice(i, q);
        if (sql.charCodeAt(q + 1) === 0x27) {
          value += "'";
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      push('string', start, i, value);
      continue;
    }
    // Quoted identifiers: "…" and `…` double their quote to escape it; […] has no escape.
    if (c === 0x22 || c === 0x60) {
      const quote = sql[i] ?? '';
      let value = '';
      i++;
      for (;;) {
        const q = sql.indexOf(quote, i);
        if (q < 0) unrecognized(start, n);
        value += sql.slice(i, q);
        if (sql[q + 1] === quote) {
          value += quote;
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      push('qid', start, i, value);
      continue;
    }
    if (c === 0x5b) {
      const q = sql.indexOf(']', i + 1);
      if (q < 0) unrecognized(start, n);
      i = q + 1;
      push('qid', start, i, sql.slice(start + 1, q));
      continue;
    }
    // Blob literal x'0A1B': an even number of hex digits.
    if ((c === 0x78 || c === 0x58) && sql.charCodeAt(i + 1) === 0x27) {
      let j = i + 2;
      while (j < n && isHex(sql.charCodeAt(j))) j++;
      if (sql.charCodeAt(j) !== 0x27 || (j - i - 2) % 2 !== 0) {
        while (j < n && sql.charCodeAt(j) !== 0x27) j++;
        unrecognized(start, j + 1);
      }
      i = j + 1;
      push('blob', start, i, sql.slice(start + 2, j));
      continue;
    }
    // Numbers: 12, 1.5, .5, 1e10, 1.5E-3, 0x1F. Letters right after a number make it illegal.
    if (isDigit(c) || (c === 0x2e && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i;
      if (c === 0x30 && (sql.charCodeAt(i + 1) === 0x78 || sql.charCodeAt(i + 1) === 0x58) && isHex(sql.charCodeAt(i + 2))) {
        j = i + 2;
        while (j < n && isHex(sql.charCodeAt(j))) j++;
      } else {
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (sql.charCodeAt(j) === 0x2e) {
          j++;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
        const e = sql.charCodeAt(j);
        if (e === 0x65 || e === 0x45) {
          const sign = sql.charCodeAt(j + 1);
          if (isDigit(sign)) j += 1;
          else if ((sign === 0x2b || sign === 0x2d) && isDigit(sql.charCodeAt(j + 2))) j += 2;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
        }
      }
      if (j < n && isIdChar(sql.charCodeAt(j))) {
        let k = j;
        while (k < n && isIdChar(sql.charCodeAt(k))) k++;
        unrecognized(start, k);
      }
      i = j;
      push('number', start, i, sql.slice(start, i));
      continue;
    }
    // Parameters: ?, ?NNN, :name, @name, $name. osquery never binds them, but they parse.
    if (c === 0x3f) {
      i++;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      push('param', start, i, sql.slice(start, i));
      continue;
    }
    if (c === 0x3a || c === 0x40 || c === 0x24) {
      let j = i + 1;
      while (j < n && isIdChar(sql.charCodeAt(j))) j++;
      if (j === i + 1) unrecognized(start, j);
      i = j;
      push('param', start, i, sql.slice(start, i));
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(sql.charCodeAt(j))) j++;
      i = j;
      push('id', start, i, sql.slice(start, i).toUpperCase());
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (op === undefined) unrecognized(start, start + 1);
    i += op.length;
    // `==` is `=` and `<>` is `!=` to the parser.
    push('op', start, i, op === '==' ? '=' : op === '<>' ? '!=' : op);
  }
  tokens.push({ type: 'eof', text: '', value: '', upper: '', start: n, end: n });
  return tokens;
}

/** 1-based line and column of a character offset. */
export function lineColumn(sql: string, offset: number): { line: number; column: number } {
  return lineColumnFinder(sql)(offset);
}

/** Line and column lookups for many offsets in one text (line starts are found once). */
export function lineColumnFinder(sql: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = sql.indexOf('\n'); i >= 0; i = sql.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    const at = Math.max(0, Math.min(offset, sql.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - (starts[lo] ?? 0) + 1 };
  };
}
