/**
 * System accounts the Debian packages create for Jitsi's Java services, and how a file holding one of their
 * secrets lands. Both users have the primary group `jitsi`; the postinst scripts delete any old per-service
 * `jicofo`/`jvb` group and, on every configure, `chown -R <user>:jitsi` their /etc/jitsi/<service> directory
 * (jicofo and jitsi-videobridge debian/postinst). So the files are owned by the service user and group `jitsi`,
 * what an upgrade would set anyway.
 */
import type { RenderedFile } from "../deployment.ts";
import type { ServiceName } from "jitsi-jwt-token/shared";

export const JITSI_SYSTEM_USERS = {
  jicofo: "jicofo",
  jvb: "jvb",
  /** Shared by both services. */
  group: "jitsi",
} as const;

/** A configuration file holding a service's password: its user alone reads it (0600), the service restarts on change. */
export function jitsiServiceSecretFile(
  path: string,
  content: string,
  user: keyof Omit<typeof JITSI_SYSTEM_USERS, "group">,
  service: ServiceName,
): RenderedFile {
  return {
    path,
    content,
    // Not group-readable: the other Jitsi service shares the group and must not read this password.
    mode: 0o600,
    owner: JITSI_SYSTEM_USERS[user],
    group: JITSI_SYSTEM_USERS.group,
    effect: { service, action: "restart" },
    secret: true,
  };
}
