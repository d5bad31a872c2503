/**
 * The secrets of `modeltap api`, one per purpose, parsed from their settings: named API tokens
 * (MODELTAP_API_TOKENS), media-signing keys with key ids (MODELTAP_MEDIA_KEYS), and where /metrics
 * is served (MODELTAP_API_METRICS). Problems name the entry, never its secret.
 */

/** A secret with a name: an API token's name (logged for audit), or a media key's id. */
export interface NamedSecret {
  readonly name: string;
  readonly secret: string;
}

export const MIN_SECRET_CHARS = 16;
/** At most this many entries per list: a token or key is compared against each on every request. */
export const MAX_NAMED_SECRETS = 32;

/** "name:secret,name:secret"; names unique, secrets unique, 16+ characters each. */
export function parseNamedSecrets(
  setting: string,
  raw: string,
  what: { entry: string; nameRe: RegExp; nameRule: string },
  problems: string[],
): NamedSecret[] {
  const out: NamedSecret[] = [];
  const entries = raw
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length > MAX_NAMED_SECRETS) {
    problems.push(`${setting}: at most ${MAX_NAMED_SECRETS} entries, got ${entries.length}`);
    return [];
  }
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    const name = colon < 0 ? "" : entry.slice(0, colon).trim();
    const secret = colon < 0 ? "" : entry.slice(colon + 1).trim();
    const at = `${setting}: entry ${i + 1}`;
    if (colon < 0) {
      problems.push(`${at} is not ${what.entry}`);
      continue;
    }
    if (!what.nameRe.test(name)) {
      problems.push(`${at}: the name must be ${what.nameRule}`);
      continue;
    }
    if (secret.length < MIN_SECRET_CHARS) {
      problems.push(`${at} (${name}): the secret must be at least ${MIN_SECRET_CHARS} characters`);
      continue;
    }
    if (out.some((s) => s.name === name)) problems.push(`${at}: the name ${name} is given twice`);
    else if (out.some((s) => s.secret === secret))
      problems.push(`${at} (${name}): the same secret as another entry`);
    else out.push({ name, secret });
  }
  return out;
}

export type MetricsBind =
  | { readonly mode: "off" }
  | { readonly mode: "same" }
  | { readonly mode: "bind"; readonly host: string; readonly port: number };

/** off | same | <host>:<port> (an IPv6 host in brackets). */
export function parseMetricsBind(setting: string, raw: string, problems: string[]): MetricsBind {
  const v = raw.trim();
  if (v === "off" || v === "same") return { mode: v };
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    problems.push(`${setting}: must be off, same, or <host>:<port>, got ${JSON.stringify(raw)}`);
    return { mode: "same" };
  }
  return { mode: "bind", host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Secrets shared between purposes defeat the split: the tool holding one would hold the others. */
export function sharedSecretProblems(
  parts: ReadonlyArray<{ setting: string; secrets: readonly string[] }>,
): string[] {
  const problems: string[] = [];
  for (const [i, a] of parts.entries()) {
    for (const b of parts.slice(i + 1)) {
      if (a.secrets.some((s) => s !== "" && b.secrets.includes(s)))
        problems.push(`${a.setting} and ${b.setting}: must not share a secret (one secret per purpose)`);
    }
  }
  return problems;
}
