// A small RFC 4180 reader (quoted fields, doubled quotes, CRLF or LF), enough for metadata tables;
// the project has no CSV dependency.

/** Parses CSV text into rows of fields. A trailing line end does not add an empty row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new SyntaxError('CSV: unterminated quoted field at the end of the text');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
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
