/**
 * System accounts the Debian packages create for Jitsi's Java services. Both users have the primary group
 * `jitsi`; the postinst scripts delete any old per-service `jicofo`/`jvb` group and, on every configure,
 * `chown -R <user>:jitsi` their /etc/jitsi/<service> directory (jicofo and jitsi-videobridge debian/postinst).
 * Files rendered there are therefore owned by the service user and group `jitsi`: what an upgrade would set
 * anyway, so it never finds a different owner.
 */
export const JITSI_SYSTEM_USERS = {
  jicofo: "jicofo",
  jvb: "jvb",
  /** Shared by both services: a file holding one service's password stays out of it (mode 0600). */
  group: "jitsi",
} as const;
