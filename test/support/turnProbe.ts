/**
 * Runs the project's TURN client from a child process, so a test can use it inside a network namespace:
 *   node --import tsx test/support/turnProbe.ts '<json ProbeRequest>'
 * prints one JSON ProbeResult line. Each step's outcome is reported, never thrown.
 */
import { TurnClient, TurnRefusal, type TurnServerAddress } from "../../token/smoke/turnClient.ts";

export interface ProbeRequest {
  readonly server: TurnServerAddress;
  readonly credentials: { readonly username: string; readonly password: string };
  /** Peers to create a permission for, in order. */
  readonly permissions: readonly string[];
  /** After the permissions: send this text to the peer and wait for it to come back through the relay. */
  readonly echo?: { readonly address: string; readonly port: number; readonly text: string };
}

export type StepOutcome = { readonly ok: true; readonly detail?: unknown } | { readonly ok: false; readonly code?: number; readonly error: string };

export interface ProbeResult {
  readonly allocate: StepOutcome;
  readonly permissions: Readonly<Record<string, StepOutcome>>;
  readonly echo?: StepOutcome;
}

function failure(error: unknown): StepOutcome {
  if (error instanceof TurnRefusal) return { ok: false, code: error.code, error: error.message };
  return { ok: false, error: error instanceof Error ? error.message : String(error) };
}

/** Runs one probe with the client (also usable in-process). */
export async function probe(request: ProbeRequest): Promise<ProbeResult> {
  let client: TurnClient;
  try {
    client = await TurnClient.connect(request.server);
  } catch (error) {
    return { allocate: failure(error), permissions: {} };
  }
  try {
    let allocate: StepOutcome;
    try {
      allocate = { ok: true, detail: await client.allocate(request.credentials) };
    } catch (error) {
      return { allocate: failure(error), permissions: {} };
    }
    const permissions: Record<string, StepOutcome> = {};
    for (const peer of request.permissions) {
      permissions[peer] = await client.createPermission(peer).then(() => ({ ok: true }) as const, failure);
    }
    if (request.echo === undefined) return { allocate, permissions };
    const { address, port, text } = request.echo;
    const echo = await (async (): Promise<StepOutcome> => {
      try {
        const answer = client.nextData();
        client.send({ address, port }, Buffer.from(text));
        const { data, from } = await answer;
        return { ok: true, detail: { text: data.toString(), from } };
      } catch (error) {
        return failure(error);
      }
    })();
    return { allocate, permissions, echo };
  } finally {
    client.close();
  }
}

if (process.argv[1]?.endsWith("turnProbe.ts") === true && process.argv[2] !== undefined) {
  const request = JSON.parse(process.argv[2]) as ProbeRequest;
  process.stdout.write(`${JSON.stringify(await probe(request))}\n`);
}
