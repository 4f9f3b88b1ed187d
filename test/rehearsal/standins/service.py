#!/usr/bin/python3
"""Rehearsal stand-in for Jicofo or the videobridge: serves exactly the REST routes the real service registers
for the configuration this project renders, and logs in to Prosody with the password from its own rendered
config file, so a password that did not reach Prosody shows up as it would on a real host.

Routes (upstream sources):
  Jicofo, REST on 127.0.0.1:8888 (jicofo reference.conf `rest`):
    GET /about/version   always registered (jicofo/src/main/kotlin/org/jitsi/jicofo/ktor/Application.kt about())
    GET /about/health    only with jicofo.health.enabled, false by default (reference.conf `health`,
                         JicofoServices.kt healthChecker) -> not served: 404, as on a stock host
    GET /stats           Application.kt stats() -> JicofoServices.kt getStats(): bridge_selector from
                         jicofo-selector BridgeSelector.kt stats (bridge_count, operational_bridge_count)
    GET /rtcstats        Application.kt rtcstats()
  Videobridge, private server on 127.0.0.1:8080 (jvb.conf http-servers.private, jvb Main.kt):
    GET /about/health    jvb JvbHealthChecker.kt: address/STUN/port checks, XMPP not checked -> 200
    GET /about/version   jvb RestApis.VERSION
    GET /colibri/stats   only with the COLIBRI REST API on (Stats.java @EnabledByConfig(RestApis.COLIBRI));
                         muc_clients_connected from VideobridgeStatisticsShim.kt

Usage: service.py jicofo|jvb VERSION. Bridge "operational" stands in for the brewery MUC: Jicofo counts the local
bridge when both the bridge and Jicofo itself are logged in to Prosody.
"""
import base64
import http.server
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

ROLE, VERSION = sys.argv[1], sys.argv[2]
STATE = "/run/rehearsal"
CONFIG = {"jicofo": "/etc/jitsi/jicofo/jicofo.conf", "jvb": "/etc/jitsi/videobridge/jvb.conf"}[ROLE]
connected = False


def log(message):
    print(f"{time.strftime('%H:%M:%S')} {ROLE}-stand-in {VERSION}: {message}", flush=True)


def setting(text, *names):
    for name in names:
        found = re.search(r'^\s*' + name + r'\s*=\s*"?([^"\n]*)"?\s*$', text, re.M)
        if found:
            return found.group(1)
    return None


def xmpp_login(domain, user, password, port=5222):
    """SASL PLAIN after STARTTLS, as the real clients log in (no verification: Prosody's cert is self-signed)."""
    holder = [socket.create_connection(("127.0.0.1", port), timeout=5)]

    def send(text):
        holder[0].sendall(text.encode())

    def read_until(*marks):
        buffer = ""
        while not any(mark in buffer for mark in marks):
            chunk = holder[0].recv(4096)
            if not chunk:
                raise EOFError(buffer)
            buffer += chunk.decode("utf-8", "replace")
        return buffer

    header = (f"<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' xmlns='jabber:client' "
              "xmlns:stream='http://etherx.jabber.org/streams'>")
    try:
        send(header)
        features = read_until("</stream:features>")
        if "urn:ietf:params:xml:ns:xmpp-tls" in features:
            send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            read_until("<proceed", "<failure")
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            holder[0] = context.wrap_socket(holder[0], server_hostname=domain)
            send(header)
            features = read_until("</stream:features>")
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        return "<success" in read_until("<success", "<failure")
    finally:
        holder[0].close()


def login_loop():
    """Like the real clients: keep trying; the state is re-read from the config on each attempt."""
    global connected
    while True:
        text = open(CONFIG).read()
        if ROLE == "jicofo":
            domain, user, password = setting(text, "domain"), setting(text, "username"), setting(text, "password")
        else:
            domain, user, password = setting(text, "DOMAIN"), setting(text, "USERNAME"), setting(text, "PASSWORD")
        try:
            ok = xmpp_login(domain, user, password)
        except (OSError, EOFError) as error:
            ok = False
            log(f"XMPP connection to Prosody failed: {error}")
        if ok != connected:
            log(f"{user}@{domain} {'logged in' if ok else 'SASL failure: not-authorized'}")
        connected = ok
        flag = f"{STATE}/{ROLE}-connected"
        if ok:
            open(flag, "w").close()
        elif os.path.exists(flag):
            os.remove(flag)
        time.sleep(2 if not ok else 5)


def bridge_operational():
    try:
        pid = int(open(f"{STATE}/jitsi-videobridge2.pid").read())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return connected and os.path.exists(f"{STATE}/jvb-connected")


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        if path == "/about/version":
            return self.reply(200, {"name": "Jicofo" if ROLE == "jicofo" else "JVB", "version": VERSION, "os": "Linux"})
        if ROLE == "jicofo":
            if path == "/stats":
                count = 1 if bridge_operational() else 0
                return self.reply(200, {"bridge_selector": {"bridge_count": count, "operational_bridge_count": count},
                                        "version": VERSION})
            if path == "/rtcstats":
                return self.reply(200, {})
        else:
            if path == "/about/health":
                return self.reply(200, b"")
            if path == "/colibri/stats" and re.search(r"rest\s*\{\s*enabled\s*=\s*true", open(CONFIG).read()):
                return self.reply(200, {"muc_clients_connected": 1 if connected else 0, "muc_clients_configured": 1})
        self.reply(404, {"error": "not found"})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = 8888 if ROLE == "jicofo" else 8080
    log(f"starting, REST on 127.0.0.1:{port}")
    threading.Thread(target=login_loop, daemon=True).start()
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
