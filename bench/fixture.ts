/** The deployment and user every benchmark case signs for (a typical self-hosted meeting token). */
export const BENCH_SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
export const BENCH_SIGNING = { appId: "bench-app", domain: "meet.bench.test", secret: BENCH_SECRET } as const;
export const BENCH_MINT = {
  ...BENCH_SIGNING,
  room: "weekly-sync",
  user: { id: "user-123", name: "Ada Lovelace", email: "ada@example.test", avatar: "https://example.test/ada.png" },
  moderator: true,
  features: { recording: true, livestreaming: true, transcription: false, "screen-sharing": true },
  group: "team-1",
} as const;
