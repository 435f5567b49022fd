/**
 * Reads pg_restore's SQL on its way to psql: counts the rows of each COPY block (one line per row in
 * COPY's text format, up to the `\.` line) and the sequences set, so the transaction can check before
 * its COMMIT that every table holds exactly what the backup streamed. It can also send a table's
 * block into another table (the claims the backup held go to a temporary table, not to the live one).
 */
import { Transform, type TransformCallback } from 'node:stream';

const NL = 0x0a;

export class CopyCounter extends Transform {
  /** Rows per COPY target, schema.name as the catalog spells them. */
  readonly rows = new Map<string, number>();
  setvals = 0;
  /** COPY lines whose target could not be read. */
  readonly unreadable: string[] = [];
  private carry: Buffer = Buffer.alloc(0);
  private copying: string | undefined;
  private count = 0;

  /** redirect: schema.name → the SQL name its rows go to instead. */
  constructor(private readonly redirect: Map<string, string> = new Map()) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let start = 0;
    let emitFrom = 0;
    for (let nl = buf.indexOf(NL, start); nl >= 0; nl = buf.indexOf(NL, start)) {
      if (this.copying !== undefined) {
        if (nl - start === 2 && buf[start] === 0x5c && buf[start + 1] === 0x2e) this.endBlock();
        else this.count++;
      } else if (buf[start] === 0x43 || buf[start] === 0x53) {
        const replaced = this.statement(buf.toString('utf8', start, nl));
        if (replaced !== undefined) {
          this.push(buf.subarray(emitFrom, start));
          this.push(Buffer.from(replaced + '\n'));
          emitFrom = nl + 1;
        }
      }
      start = nl + 1;
    }
    if (start > emitFrom) this.push(buf.subarray(emitFrom, start));
    this.carry = Buffer.from(buf.subarray(start));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.carry.length) this.push(this.carry);
    cb();
  }

  /** A statement line outside COPY data; returns its replacement when its rows go elsewhere. */
  private statement(line: string): string | undefined {
    if (line.startsWith('SELECT pg_catalog.setval(')) this.setvals++;
    if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;')) return undefined;
    const target = parseQualified(line, 5);
    if (!target) {
      this.unreadable.push(line.slice(0, 200));
      this.copying = '';
      return undefined;
    }
    this.copying = `${target.schema}.${target.name}`;
    this.count = 0;
    const to = this.redirect.get(this.copying);
    return to === undefined ? undefined : `COPY ${to}${line.slice(target.end)}`;
  }

  private endBlock(): void {
    const k = this.copying!;
    if (k) this.rows.set(k, (this.rows.get(k) ?? 0) + this.count);
    this.copying = undefined;
  }
}

/** `schema.name` as pg_dump's fmtQualifiedId writes it (each part bare, or in double quotes with "" for "). */
function parseQualified(s: string, at: number): { schema: string; name: string; end: number } | undefined {
  const a = parseIdent(s, at);
  if (!a || s[a.end] !== '.') return undefined;
  const b = parseIdent(s, a.end + 1);
  return b && { schema: a.value, name: b.value, end: b.end };
}

function parseIdent(s: string, at: number): { value: string; end: number } | undefined {
  if (s[at] === '"') {
    let value = '';
    for (let i = at + 1; i < s.length; i++) {
      if (s[i] !== '"') value += s[i];
      else if (s[i + 1] === '"') value += s[i++];
      else return { value, end: i + 1 };
    }
    return undefined;
  }
  const m = /^[a-z_][a-z0-9_$]*/.exec(s.slice(at, at + 200));
  return m ? { value: m[0], end: at + m[0].length } : undefined;
}
