// A small RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF), enough for metadata tables;
// the project has no CSV dependency. One incremental parser serves both whole texts (parseCsv) and
// files read a chunk at a time (forEachCsvRecord), so that a large table (MIMIC-CXR's metadata has
// ~377k rows) never has to be held as one array of rows.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { gunzipSync } from 'node:zlib';

/** Parses CSV text pushed in pieces; each push returns the rows it completed. */
export class CsvParser {
  private row: string[] = [];
  private field = '';
  private quoted = false;
  private started = false;
  // A final '"' or '\r' whose meaning depends on the next character waits for the next piece.
  private held = '';

  push(piece: string): string[][] {
    let text = this.held + piece;
    this.held = '';
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return this.parse(text, false);
  }

  /** Completes the last row; throws when a quoted field is still open. */
  end(): string[][] {
    const held = this.held;
    this.held = '';
    const rows = this.parse(held, true);
    if (this.quoted) throw new SyntaxError('CSV: unterminated quoted field at the end of the text');
    if (this.field !== '' || this.row.length > 0) {
      this.row.push(this.field);
      rows.push(this.row);
      this.row = [];
      this.field = '';
    }
    return rows;
  }

  // Plain runs of a field are taken as slices rather than a character at a time: much faster, and
  // a large table's fields do not end up as long chains of one-character concatenations.
  private parse(text: string, final: boolean): string[][] {
    const rows: string[][] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (this.quoted) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          this.field += text.slice(i);
          break;
        }
        this.field += text.slice(i, q);
        if (q === n - 1 && !final) {
          this.held = '"'; // a closing quote, or the first of a doubled one: the next piece decides
          break;
        }
        if (text[q + 1] === '"') {
          this.field += '"';
          i = q + 2;
        } else {
          this.quoted = false;
          i = q + 1;
        }
        continue;
      }
      let j = i;
      while (j < n && !endsPlainRun(text.charCodeAt(j))) j++;
      if (j > i) this.field += text.slice(i, j);
      if (j === n) break;
      const c = text[j];
      if (c === '\r' && j === n - 1 && !final) {
        this.held = c; // maybe the first half of a CRLF
        break;
      }
      i = j + 1;
      if (c === '"') this.quoted = true;
      else if (c === ',') {
        this.row.push(this.field);
        this.field = '';
      } else {
        if (c === '\r' && text[i] === '\n') i++;
        this.row.push(this.field);
        rows.push(this.row);
        this.row = [];
        this.field = '';
      }
    }
    return rows;
  }
}

/** Quote, comma, line feed, carriage return. */
function endsPlainRun(c: number): boolean {
  return c === 0x22 || c === 0x2c || c === 0x0a || c === 0x0d;
}

/** Parses CSV text into rows of fields. A trailing line end does not add an empty row. */
export function parseCsv(text: string): string[][] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

/** Rows as objects keyed by the header row; a row with the wrong field count is an error naming its line. */
export function parseCsvRecords(text: string, source = 'CSV'): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...body] = parseCsv(text);
  if (header === undefined) throw new SyntaxError(`${source}: no header row`);
  const rows = body.map((fields, r) => {
    if (fields.length !== header.length) throw new SyntaxError(`${source}: data row ${r + 1} has ${fields.length} fields, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, fields[j] ?? '']));
  });
  return { header, rows };
}

const CHUNK_BYTES = 1 << 20;

/**
 * Streams a CSV file (plain, or gzip when the name ends in .gz) row by row, giving each row's values
 * of `columns` (an error names any the header lacks). Returns the number of data rows.
 */
export function forEachCsvRecord<C extends string>(path: string, columns: readonly C[], onRecord: (record: Record<C, string>) => void): number {
  const parser = new CsvParser();
  let header: string[] | undefined;
  let at: number[] = [];
  let count = 0;
  const take = (rows: string[][]): void => {
    for (const fields of rows) {
      if (header === undefined) {
        header = fields;
        const missing = columns.filter((c) => !fields.includes(c));
        if (missing.length > 0) throw new RangeError(`${path}: no column ${missing.map((c) => `'${c}'`).join(', ')} (columns: ${fields.join(', ')})`);
        at = columns.map((c) => fields.indexOf(c));
        continue;
      }
      count++;
      if (fields.length !== header.length) throw new SyntaxError(`${path}: data row ${count} has ${fields.length} fields, the header has ${header.length}`);
      const record = {} as Record<C, string>;
      columns.forEach((c, j) => {
        record[c] = fields[at[j] ?? 0] ?? '';
      });
      onRecord(record);
    }
  };
  const decoder = new StringDecoder('utf8');
  if (path.endsWith('.gz')) {
    const bytes = gunzipSync(readFileSync(path));
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) take(parser.push(decoder.write(bytes.subarray(at, at + CHUNK_BYTES))));
  } else {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(CHUNK_BYTES);
      for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) take(parser.push(decoder.write(buffer.subarray(0, n))));
    } finally {
      closeSync(fd);
    }
  }
  take(parser.push(decoder.end()));
  take(parser.end());
  if (header === undefined) throw new SyntaxError(`${path}: no header row`);
  return count;
}
