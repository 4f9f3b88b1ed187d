/** The smoke test's structured report: what CI reads (`--json`), what the text and JUnit writers format. */

/** Stable step ids (also the JUnit test case names). */
export const STEP_IDS = [
  "discovery",
  "moderator",
  "participant",
  "guest",
  "reject-wrong-secret",
  "reject-expired",
  "reject-other-room",
  "reject-no-token",
  "reject-other-tenant",
  "turn",
] as const;
export type StepId = (typeof STEP_IDS)[number];

export type RejectionCase = Extract<StepId, `reject-${string}`>;
/** Only with a tenant: a token for the same room name in another tenant. */
export const TENANT_REJECTION_CASE: RejectionCase = "reject-other-tenant";
/** The rejection cases every run has (the tenant case is added when the run has a tenant). */
export const REJECTION_CASES = STEP_IDS.filter(
  (id): id is RejectionCase => id.startsWith("reject-") && id !== TENANT_REJECTION_CASE,
);

export type StepStatus = "passed" | "failed" | "skipped";

export interface StepResult {
  id: StepId;
  title: string;
  status: StepStatus;
  durationMs: number;
  /** One line: what was proven, or why it failed / was skipped. */
  detail: string;
  /** The server's own words (SASL <text>, presence/IQ error condition and text), verbatim. */
  serverReason?: string;
  warnings: string[];
}

/** What /config.js told us about the deployment. */
export interface DiscoveredHost {
  /** hosts.domain: the XMPP domain token users log in to. */
  domain: string;
  /** hosts.muc: the conference MUC. */
  muc: string;
  /** hosts.focus (default focus.<domain>). */
  focus: string;
  /** hosts.anonymousdomain: the guest domain, when guests are enabled. */
  guestDomain?: string;
  /** The XMPP-over-WebSocket URL (config.js `websocket`). */
  websocketUrl: string;
  certificate?: { subject: string; validTo: string; daysLeft: number };
}

export interface SmokeReport {
  url: string;
  /** The tenant the run used (`https://host/<tenant>/<room>`), if any. */
  tenant?: string;
  ok: boolean;
  startedAt: string;
  durationMs: number;
  /** The room this run used, as its MUC node (a given name normalised by canonicalRoom, or a fresh one). */
  room: string;
  host?: DiscoveredHost;
  steps: StepResult[];
}
