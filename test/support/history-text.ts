/**
 * The text of a run's history as the server stores it (`temporal workflow show --output json`),
 * with every base64 field (payload data and metadata) decoded next to it, so a test can grep it
 * for values that must not be there in clear.
 */
import { execFileSync } from 'node:child_process';

export function serverHistoryText(workflowId: string, runId?: string): string {
  const bin = process.env.RR_TEMPORAL_BIN;
  if (!bin) throw new Error('RR_TEMPORAL_BIN is not set: eval "$(scripts/stack env)" first');
  const args = [
    'workflow',
    'show',
    '--workflow-id',
    workflowId,
    ...(runId ? ['--run-id', runId] : []),
    '--output',
    'json',
    '--address',
    process.env.TEMPORAL_ADDRESS!,
    '--namespace',
    process.env.TEMPORAL_NAMESPACE ?? 'default',
  ];
  const raw = execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const decoded: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0)
        decoded.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  }
  walk(parsed);
  if (!/"eventType"|"eventId"/.test(raw))
    throw new Error(`temporal workflow show gave no events:\n${raw.slice(0, 500)}`);
  return raw + '\n' + decoded.join('\n');
}
