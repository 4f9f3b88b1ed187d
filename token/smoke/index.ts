/**
 * runSmokeTest: proves over the public HTTPS port that a deployed Jitsi accepts minted tokens, gives the right
 * roles, admits guests only behind a host, and refuses bad tokens — with the server's own reasons. Used by
 * `jitsi-token smoke` and importable as `<package>/token/smoke`.
 */
import { randomBytes } from "node:crypto";
import type { TokenSigningConfig } from "../options.ts";
import { baseUrl, discover } from "./discover.ts";
import type { NetworkOptions } from "./network.ts";
import { guestStep, moderatorStep, participantStep, rejectionStep, STEP_TITLES, timed, turnStep, type StepContext } from "./steps.ts";
import { isTenant } from "../shared/names.ts";
import { canonicalRoom } from "../roomName.ts";
import { FieldError } from "../errors.ts";
import { REJECTION_CASES, STEP_IDS, TENANT_REJECTION_CASE, type DiscoveredHost, type RejectionCase, type SmokeReport, type StepId, type StepResult } from "./types.ts";

export { formatJson, formatJunit, formatText } from "./report.ts";
export { parseConfigJs } from "./configJs.ts";
export { REJECTION_CASES, STEP_IDS, TENANT_REJECTION_CASE, type DiscoveredHost, type RejectionCase, type SmokeReport, type StepId, type StepResult } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_PROMOTION_WAIT_MS = 5_000;
export const DEFAULT_SETTLE_MS = 1_000;

export interface SmokeOptions extends NetworkOptions {
  /** The deployment's public base URL, e.g. https://meet.example.com. */
  url: string;
  /** Who signs tokens: loadTokenConfig's result (env or stack) or literal values. */
  signing: TokenSigningConfig;
  /** Total budget for the whole run (default 30 s); whatever is still running then is failed and closed. */
  timeoutMs?: number;
  promotionWaitMs?: number;
  settleMs?: number;
  /** Which rejection cases to run (default all four). */
  rejections?: readonly RejectionCase[];
  /** Also check TURN (credentials over XMPP, a relay over TLS); default false: no TURN step in the report. */
  turn?: boolean;
  /**
   * Room to use, as a user would type it (default a fresh `smoke-<random>`). The run uses its MUC node
   * (token/roomName.ts canonicalRoom: "My Room" → `my%20room`), the form the web client joins from a link and the
   * tokens' `room` claim carry, so the join, the tokens and the service URL's `?room=` agree.
   */
  room?: string;
  /**
   * Run inside this tenant (`https://host/<tenant>/…`): discovery reads `/<tenant>/config.js`, tokens carry
   * `sub` = the tenant, and one more case checks that a token for the same room in another tenant is refused.
   */
  tenant?: string;
  /** Called as each step finishes (live progress). */
  onStep?: (step: StepResult) => void;
  now?: () => Date;
}

/** Just the signing fields: mintToken rejects unknown options, and a TokenConfig carries more (baseUrl, source). */
function signingOnly(c: TokenSigningConfig): TokenSigningConfig {
  const s: TokenSigningConfig = { appId: c.appId, domain: c.domain };
  if (c.secret !== undefined) s.secret = c.secret;
  if (c.privateKey !== undefined) s.privateKey = c.privateKey;
  if (c.kid !== undefined) s.kid = c.kid;
  if (c.audience !== undefined) s.audience = c.audience;
  return s;
}

function skipped(id: StepId, why: string): StepResult {
  return { id, title: STEP_TITLES[id], status: "skipped", durationMs: 0, detail: why, warnings: [] };
}

/** Resolves with `fallback` when `ms` pass first; the losing work is abandoned (its sessions are closed by it). */
function bounded<T>(work: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * Runs the smoke matrix against `options.url` (and `options.tenant`, if given).
 * @throws FieldError("tenant") when the tenant is not one (token/shared/names.ts TENANT_PATTERN), before any request.
 * @throws RoomNameError (a FieldError, field "room") when `options.room` is no room the web client could open (see
 * canonicalRoom), before any request.
 */
export async function runSmokeTest(options: SmokeOptions): Promise<SmokeReport> {
  if (options.tenant !== undefined && !isTenant(options.tenant)) {
    throw new FieldError("tenant", "must be letters, digits and inner hyphens (one DNS label, at most 63), not a static directory of the app");
  }
  const room = options.room === undefined ? `smoke-${randomBytes(4).toString("hex")}` : canonicalRoom(options.room).node;
  const startedAt = (options.now ?? (() => new Date()))();
  const t0 = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const network: NetworkOptions = {};
  if (options.ca !== undefined) network.ca = options.ca;
  if (options.resolve !== undefined) network.resolve = options.resolve;
  const steps: StepResult[] = [];
  const record = (step: StepResult) => {
    steps.push(step);
    options.onStep?.(step);
  };
  const abort = new AbortController();
  const abortTimer = setTimeout(() => abort.abort(), timeoutMs);
  let host: DiscoveredHost | undefined;
  try {
    const discovery = await timed("discovery", async () => {
      const base = baseUrl(options.url);
      if (options.tenant !== undefined) base.pathname = `${base.pathname.replace(/\/+$/, "")}/${options.tenant}`;
      const found = await discover(base, network, abort.signal, startedAt);
      host = found.host;
      if (options.signing.domain !== found.host.domain) {
        found.warnings.push(`tokens are minted for domain ${options.signing.domain} but config.js says hosts.domain is ${found.host.domain}`);
      }
      const cert = found.host.certificate;
      return {
        status: "passed",
        detail: `XMPP domain ${found.host.domain}, MUC ${found.host.muc}, focus ${found.host.focus}, guests ${found.host.guestDomain ?? "disabled"}, ${found.host.websocketUrl}${cert ? `; certificate valid ${cert.daysLeft} more day(s)` : ""}`,
        warnings: found.warnings,
      };
    });
    record(discovery);
    // The TURN step only when asked for: a deployment without TURN keeps its report as it was.
    const defaultRejections = options.tenant === undefined ? REJECTION_CASES : [...REJECTION_CASES, TENANT_REJECTION_CASE];
    const rest: StepId[] = ["moderator", "participant", "guest", ...(options.rejections ?? defaultRejections), ...(options.turn === true ? ["turn" as const] : [])];
    if (host === undefined) {
      for (const id of rest) record(skipped(id, "discovery failed"));
      return report();
    }
    const ctx: StepContext = {
      host,
      signing: signingOnly(options.signing),
      network,
      room,
      ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
      deadline,
      promotionWaitMs: options.promotionWaitMs ?? DEFAULT_PROMOTION_WAIT_MS,
      settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
    };
    const late = (id: StepId) => (): StepResult => ({ id, title: STEP_TITLES[id], status: "failed", durationMs: Math.round(performance.now() - t0), detail: `not finished when the total timeout (${timeoutMs} ms) ran out`, warnings: [] });
    const hostRun = moderatorStep(ctx);
    const hosted = await bounded(hostRun, Math.max(0, deadline - Date.now()), () => ({ result: late("moderator")(), session: undefined }));
    record(hosted.result);
    try {
      // Without a host in the room only the login-time rejections can still be judged.
      const needsHost = (id: StepId) => id === "participant" || id === "guest" || id === "reject-other-room" || id === TENANT_REJECTION_CASE;
      const outOfTime = Date.now() >= deadline;
      const wanted = rest.slice(1);
      const runnable = outOfTime ? [] : wanted.filter((id) => hosted.session !== undefined || !needsHost(id));
      for (const id of wanted) {
        if (!runnable.includes(id)) record(skipped(id, outOfTime ? "the total timeout ran out before this step" : "no host in the room: the moderator step failed"));
      }
      // The remaining steps are independent: run them side by side.
      const pending = runnable.map(async (id) => {
        const work =
          id === "participant" ? participantStep(ctx) : id === "guest" ? guestStep(ctx) : id === "turn" ? turnStep(ctx) : rejectionStep(ctx, id as RejectionCase);
        // Whichever comes first is the step's result; a step finishing after the deadline is not recorded twice.
        record(await bounded(work, Math.max(0, deadline - Date.now()), late(id)));
      });
      await Promise.all(pending);
    } finally {
      await hosted.session?.close();
      // A moderator step still running at the deadline closes its own session when it settles.
      void hostRun.then((r) => r.session?.close());
    }
    return report();
  } finally {
    clearTimeout(abortTimer);
  }

  function report(): SmokeReport {
    const order = (s: StepResult) => STEP_IDS.indexOf(s.id);
    const sorted = [...steps].sort((a, b) => order(a) - order(b));
    const result: SmokeReport = {
      url: options.url,
      ok: sorted.every((s) => s.status !== "failed"),
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      room,
      steps: sorted,
    };
    if (options.tenant !== undefined) result.tenant = options.tenant;
    if (host !== undefined) result.host = host;
    return result;
  }
}
