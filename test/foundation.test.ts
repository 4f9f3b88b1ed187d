import { describe, expect, it } from "vitest";
import { xmppNames } from "jitsi-jwt-token/shared";

describe("xmppNames", () => {
  it("derives every component from the public domain", () => {
    const n = xmppNames("meet.example.com");
    expect(n.guest).toBe("guest.meet.example.com");
    expect(n.muc).toBe("conference.meet.example.com");
    expect(n.brewery).toBe("jvbbrewery@internal.auth.meet.example.com");
    expect(n.focusUser).toBe("focus@auth.meet.example.com");
  });
});
