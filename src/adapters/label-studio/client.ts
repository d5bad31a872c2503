/**
 * A small Label Studio HTTP API client. Accepts either token kind Label Studio 1.23 issues: a
 * legacy token ("Authorization: Token ...") or a personal access token, a JWT refresh token that is
 * exchanged at /api/token/refresh for a short-lived access token ("Authorization: Bearer ...").
 */
import { ModeltapError } from "../../core/errors.js";

export class LabelStudioError extends ModeltapError {
  override name = "LabelStudioError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super("LABELING_FAILED", message);
  }
}

const isJwt = (t: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(t);

export class LabelStudioClient {
  private access: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {
    if (!token) throw new ModeltapError("CONFIG_INVALID", "MODELTAP_LABEL_STUDIO_TOKEN is empty");
  }

  private async authHeader(refresh: boolean): Promise<string> {
    if (!isJwt(this.token)) return `Token ${this.token}`;
    if (!this.access || refresh) {
      const res = await fetch(`${this.baseUrl}/api/token/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh: this.token }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const body = (await res.json().catch(() => ({}))) as { access?: string };
      if (!res.ok || !body.access) {
        throw new LabelStudioError(
          `Label Studio refused the personal access token (${res.status})`,
          res.status,
        );
      }
      this.access = body.access;
    }
    return `Bearer ${this.access}`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: await this.authHeader(attempt > 0),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      // A personal access token's access token lives minutes: refresh once on 401.
      if (res.status === 401 && attempt === 0 && isJwt(this.token)) continue;
      if (!res.ok) {
        throw new LabelStudioError(
          `Label Studio ${method} ${path.split("?")[0]}: ${res.status} ${text.slice(0, 300)}`,
          res.status,
        );
      }
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }
}
