/**
 * A stand-in PostgreSQL client for unit tests of activities (injected as the worker's pg factory,
 * lib/deps.ts): each query is answered by the first handler whose pattern matches its SQL.
 */
import type { Client } from 'pg';

export type QueryHandler = [RegExp, (params: unknown[]) => Record<string, unknown>[]];

export interface FakePg {
  factory: (config: { connectionString?: string; application_name?: string }) => Client;
  /** Every statement run, in order. */
  queries: string[];
  /** Connections opened and not yet ended. */
  open: () => number;
}

export function fakePg(handlers: QueryHandler[]): FakePg {
  const queries: string[] = [];
  let open = 0;
  const factory = () =>
    ({
      on: () => undefined,
      connect: async () => {
        open++;
      },
      end: async () => {
        open--;
      },
      query: async (sql: string, params: unknown[] = []) => {
        queries.push(sql);
        const h = handlers.find(([re]) => re.test(sql));
        if (!h) throw new Error(`fake pg: no answer for ${sql.replace(/\s+/g, ' ').trim()}`);
        const rows = h[1](params);
        return { rows, rowCount: rows.length };
      },
    }) as unknown as Client;
  return { factory, queries, open: () => open };
}
