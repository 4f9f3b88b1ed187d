#!/usr/bin/python3
"""Keeps this host's certbot lineage in the deployment's AWS Secrets Manager secret, so a replaced instance
restores the certificate instead of asking Let's Encrypt for a new one (5 per exact set of names per 7 days).

Installed by obtain-certificate.sh as /usr/local/sbin/jitsi-certificate-store (names.ts certificateStoreClient);
run as root by that script and by the certbot deploy hook (templates/renewal-hook.sh.hbs).

  jitsi-certificate-store configure --config-dir DIR   settings from env (below) into DIR/jitsi-certificate-store.json
  jitsi-certificate-store restore   --config-dir DIR   no local lineage: restore the stored one if it fits (env below)
  jitsi-certificate-store store     --config-dir DIR   store the local lineage when it differs from the stored one

env for configure: JITSI_CERT_STORE_ARN (the secret's ARN; its region is the client's), DOMAIN,
  JITSI_CERT_STORE_ENDPOINT (optional: Secrets Manager endpoint URL, tests only)
env for restore: DOMAIN, EXTRA_DOMAINS (space-separated), ACME_SERVER: the names and CA the lineage must match;
  ACME_WEBROOT [/var/www/acme], CERTBOT_WORK_DIR [/var/lib/letsencrypt], CERTBOT_LOGS_DIR [/var/log/letsencrypt]:
  the same settings and defaults as obtain-certificate.sh, written into the regenerated renewal file
env (optional): JITSI_CERT_STORE_WAIT_SECONDS [120] how long to retry while the instance role is not usable yet
  (IAM is eventually consistent after the role or its policy changed)

restore trusts nothing in the value: every certbot renewal parameter outside an allow-list (a *_hook runs as root at
the next `certbot renew`) makes it unusable, and the renewal file is written anew from the checked values; the
private key must match the certificate, chain.pem must have issued it, fullchain.pem = cert + chain, valid at most
100 days. Anything wrong with the value means "not used" (certbot obtains a new certificate); only a failure to
read the store is an error (exit 1), because a new certificate then could count against Let's Encrypt's limits
for nothing. A killed restore's staging dir (.jitsi-restore-*, may hold a key) is removed by the next restore.

The secret's value is JSON: format, sha256 (of the lineage's files), names, notAfter, server, configDir and lineage
(base64 of a tar.gz: accounts/, renewal/<domain>.conf, the archive/<domain>/ files live/ points at, live/<domain>/
as symlinks). Non-secret metadata (names, notAfter, ACME server) also goes into tags on the secret, which the Pulumi
program reads at preview (infra/certificateStore.ts). The value only ever lives in this process: never on a command
line, in the environment, in a file outside certbot's root-only directories, or in the output.
Credentials: boto3's default chain, on EC2 the instance role through IMDSv2.
"""
import base64
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.parse

FORMAT = 1
SETTINGS_FILE = "jitsi-certificate-store.json"
# Tag keys, the contract with infra/certificateStore.ts (a test compares them).
TAG_NAMES = "jitsi:certificate-names"
TAG_NOT_AFTER = "jitsi:certificate-not-after"
TAG_SERVER = "jitsi:certificate-acme-server"
LIVE_FILES = ("cert.pem", "chain.pem", "fullchain.pem", "privkey.pem")
# SecretString holds at most 65,536 bytes.
MAX_VALUE = 65536
STAGING_PREFIX = ".jitsi-restore-"
# Longest validity restore accepts: Let's Encrypt issues 90 days (plus a margin for a change of theirs).
MAX_VALIDITY = datetime.timedelta(days=100)
# The renewal file's allow-list (certbot's storage.py/renewal.py keys our `certonly --webroot` writes). Paths are
# compared with this config dir's own lineage; key parameters take only certbot's own choices.
LINEAGE_PATHS = {"archive_dir": "archive/{domain}", **{name: "live/{domain}/%s.pem" % name for name in ("cert", "privkey", "chain", "fullchain")}}
KEY_PARAMS = {
    "key_type": ("rsa", "ecdsa"),
    "rsa_key_size": ("2048", "3072", "4096"),
    "elliptic_curve": ("secp256r1", "secp384r1", "secp521r1"),
}
REQUIRED_PARAMS = ("version", *LINEAGE_PATHS, "account", "server", "authenticator", "webroot_path")
ACCOUNT_FILES = ("meta.json", "private_key.json", "regr.json")


class StoreError(Exception):
    """A problem to report in one line (exit 1), without a traceback."""


class Unusable(StoreError):
    """The stored value cannot be used (not ours, damaged, unsafe): restore ignores it, store overwrites it."""


def say(message):
    print(f"certificate-store: {message}", flush=True)


def die(message, code=1):
    print(f"certificate-store: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def read_settings(config_dir):
    path = os.path.join(config_dir, SETTINGS_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
    except FileNotFoundError:
        raise StoreError(f"{path} is missing: the certificate step writes it")
    if not str(settings.get("secret", "")).startswith("arn:"):
        raise StoreError(f"{path} names no secret ARN")
    return settings


def configure(config_dir):
    secret = os.environ.get("JITSI_CERT_STORE_ARN", "")
    parts = secret.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or not parts[3]:
        raise StoreError(f"JITSI_CERT_STORE_ARN must be a Secrets Manager secret ARN, got '{secret}'")
    endpoint = os.environ.get("JITSI_CERT_STORE_ENDPOINT", "")
    if endpoint and not endpoint.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        raise StoreError(f"JITSI_CERT_STORE_ENDPOINT must be an https:// URL, got '{endpoint}'")
    settings = {"secret": secret, "domain": required_env("DOMAIN")}
    if endpoint:
        settings["endpoint"] = endpoint
    os.makedirs(config_dir, mode=0o755, exist_ok=True)
    write_atomically(os.path.join(config_dir, SETTINGS_FILE), (json.dumps(settings, indent=2) + "\n").encode(), 0o644)


def required_env(name):
    value = os.environ.get(name, "")
    if not value:
        raise StoreError(f"{name} is required")
    return value


def write_atomically(path, data, mode):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".jitsi-")
    try:
        os.fchmod(handle, mode)
        os.write(handle, data)
        os.fsync(handle)
        os.close(handle)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --- Secrets Manager ------------------------------------------------------------------------------------------

def client(settings):
    import boto3
    from botocore.config import Config

    region = settings["secret"].split(":")[3]
    return boto3.client(
        "secretsmanager",
        region_name=region,
        endpoint_url=settings.get("endpoint") or None,
        config=Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 5, "mode": "standard"}),
    )


def patiently(call):
    """Runs call(), retrying while the instance role's credentials or permissions are not there yet."""
    from botocore.exceptions import ClientError, NoCredentialsError

    deadline = time.monotonic() + int(os.environ.get("JITSI_CERT_STORE_WAIT_SECONDS", "120"))
    while True:
        try:
            return call()
        except (ClientError, NoCredentialsError) as error:
            code = error.response["Error"]["Code"] if isinstance(error, ClientError) else "NoCredentials"
            if code not in ("AccessDeniedException", "UnrecognizedClientException", "NoCredentials") or time.monotonic() >= deadline:
                raise StoreError(f"Secrets Manager: {code}: {describe(error)}")
            say(f"Secrets Manager answered {code}; the instance role may not be in effect yet, retrying")
            time.sleep(10)


def describe(error):
    """What went wrong, never the request (which may hold the value): the service's message, a file system or
    connection error's own text, else only the error's type (botocore's parameter errors quote values)."""
    response = getattr(error, "response", None)
    if response:
        return response.get("Error", {}).get("Message", "")
    if isinstance(error, (OSError, StoreError)) or (type(error).__module__.startswith("botocore") and "Param" not in type(error).__name__):
        return str(error)
    return type(error).__name__


def fetch(settings):
    """The stored payload (dict), or None when the secret holds no value yet."""
    from botocore.exceptions import ClientError

    sm = client(settings)

    def get():
        try:
            return sm.get_secret_value(SecretId=settings["secret"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    answer = patiently(get)
    if answer is None or "SecretString" not in answer:
        return None
    try:
        payload = json.loads(answer["SecretString"])
    except ValueError:
        raise Unusable("the stored value is not this program's JSON")
    if payload.get("format") != FORMAT:
        raise Unusable(f"the stored value has format {payload.get('format')!r}, this client reads {FORMAT}")
    return payload


def put(settings, payload):
    sm = client(settings)
    value = json.dumps(payload, separators=(",", ":"))
    if len(value.encode()) > MAX_VALUE:
        raise StoreError(f"the lineage is {len(value)} bytes, more than a secret holds ({MAX_VALUE})")
    patiently(lambda: sm.put_secret_value(SecretId=settings["secret"], SecretString=value))
    patiently(
        lambda: sm.tag_resource(
            SecretId=settings["secret"],
            Tags=[
                {"Key": TAG_NAMES, "Value": " ".join(payload["names"])},
                {"Key": TAG_NOT_AFTER, "Value": payload["notAfter"]},
                {"Key": TAG_SERVER, "Value": payload["server"]},
            ],
        )
    )


# --- the lineage -----------------------------------------------------------------------------------------------

def renewal_params(text):
    """key = value pairs of a certbot renewal configuration (top level and [renewalparams])."""
    params = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", "[")):
            params.setdefault(key.strip(), value.strip())
    return params


def certificate_facts(pem):
    """(sorted DNS names, notAfter as aware datetime) of a PEM certificate."""
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(pem)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    return sorted(names), validity_bounds(certificate)[1]


def validity_bounds(certificate):
    """(notBefore, notAfter) as aware datetimes (Debian 12's cryptography 38 has only the naive properties)."""
    def utc(name):
        moment = getattr(certificate, f"{name}_utc", None)
        return moment if moment is not None else getattr(certificate, name).replace(tzinfo=datetime.timezone.utc)
    return utc("not_valid_before"), utc("not_valid_after")


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(config_dir, domain):
    """The lineage's entries: sorted list of (relative path, "file"|"link", bytes|target)."""
    entries = []
    renewal = f"renewal/{domain}.conf"
    with open(os.path.join(config_dir, renewal), "rb") as handle:
        entries.append((renewal, "file", handle.read()))
    for name in LIVE_FILES:
        link = f"live/{domain}/{name}"
        target = os.readlink(os.path.join(config_dir, link))
        archived = os.path.normpath(os.path.join(f"live/{domain}", target))
        if not archived.startswith(f"archive/{domain}/"):
            raise StoreError(f"{link} points outside archive/{domain}/: {target}")
        entries.append((link, "link", target))
        with open(os.path.join(config_dir, archived), "rb") as handle:
            entries.append((archived, "file", handle.read()))
    for top, _dirs, files in os.walk(os.path.join(config_dir, "accounts")):
        for name in files:
            path = os.path.relpath(os.path.join(top, name), config_dir)
            with open(os.path.join(config_dir, path), "rb") as handle:
                entries.append((path, "file", handle.read()))
    return sorted(entries)


def digest(entries, config_dir):
    """SHA-256 over the entries, with the renewal file's own paths made relative to config_dir and its work_dir and
    logs_dir left out (each host writes its own): the same lineage restored on another host is the same lineage."""
    hash_ = hashlib.sha256()
    for path, kind, content in entries:
        data = content if isinstance(content, bytes) else content.encode()
        if path.startswith("renewal/"):
            text = rewrite_paths(data.decode(), config_dir, "@CONFIG_DIR@")
            data = re.sub(r"(?m)^(work_dir|logs_dir) = .*$", r"\1 = @\1@", text).encode()
        hash_.update(f"{path}\0{kind}\0{len(data)}\0".encode() + data)
    return hash_.hexdigest()


def mode_of(path):
    if path.startswith("accounts/") and path.endswith("private_key.json"):
        return 0o400
    if os.path.basename(path).startswith("privkey"):
        return 0o600
    return 0o644


def pack(entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, kind, content in entries:
            info = tarfile.TarInfo(path)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), mode_of(path)
                tar.addfile(info, io.BytesIO(content))
    return base64.b64encode(buffer.getvalue()).decode()


def unpack(encoded, domain):
    """Entries from the stored tarball, refusing anything outside the lineage's own paths."""
    entries = []
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(encoded)), mode="r:gz") as tar:
        for info in tar.getmembers():
            path = info.name
            if os.path.isabs(path) or ".." in path.split("/") or path != os.path.normpath(path):
                raise Unusable(f"stored lineage holds an unsafe path {path!r}")
            if path in (entry[0] for entry in entries):
                raise Unusable(f"stored lineage holds {path!r} twice")
            if info.issym():
                target = os.path.normpath(os.path.join(os.path.dirname(path), info.linkname))
                if (os.path.dirname(path) != f"live/{domain}" or not info.linkname.startswith("../../")
                        or os.path.dirname(target) != f"archive/{domain}"):
                    raise Unusable(f"stored lineage holds an unexpected link {path!r}")
                entries.append((path, "link", info.linkname))
            elif info.isfile():
                if not (path == f"renewal/{domain}.conf" or path.startswith((f"archive/{domain}/", "accounts/"))):
                    raise Unusable(f"stored lineage holds an unexpected file {path!r}")
                entries.append((path, "file", tar.extractfile(info).read()))
            else:
                raise Unusable(f"stored lineage holds {path!r}, which is neither a file nor a symbolic link")
    return sorted(entries)


def payload_of(config_dir, domain):
    entries = collect(config_dir, domain)
    files = dict((path, content) for path, kind, content in entries if kind == "file")
    live_cert = os.path.normpath(os.path.join(f"live/{domain}", os.readlink(os.path.join(config_dir, f"live/{domain}/cert.pem"))))
    names, not_after = certificate_facts(files[live_cert])
    server = renewal_params(files[f"renewal/{domain}.conf"].decode()).get("server", "")
    return {
        "format": FORMAT,
        "sha256": digest(entries, config_dir),
        "names": names,
        "notAfter": iso(not_after),
        "server": server,
        "configDir": config_dir,
        "lineage": pack(entries),
    }


def store(config_dir):
    settings = read_settings(config_dir)
    domain = settings["domain"]
    if not os.path.isfile(os.path.join(config_dir, "renewal", f"{domain}.conf")):
        raise StoreError(f"no certbot lineage for {domain} in {config_dir}")
    payload = payload_of(config_dir, domain)
    try:
        stored = fetch(settings)
    except Unusable as error:
        say(f"the stored value is replaced: {error}")
        stored = None
    # Current only if both its checksum field and what it really holds match (restore checks the same two).
    if stored is not None and stored.get("sha256") == payload["sha256"] == stored_digest(stored, domain, config_dir):
        say(f"the stored lineage for {domain} is current (expires {payload['notAfter']})")
        return
    put(settings, payload)
    say(f"stored the lineage for {' '.join(payload['names'])} (expires {payload['notAfter']}, {payload['server']})")


def stored_digest(stored, domain, config_dir):
    """The digest of what the stored value really holds (not its own sha256 field); None when unreadable."""
    try:
        return digest(unpack(stored["lineage"], domain), stored.get("configDir", config_dir))
    except Exception:  # whatever the value holds, it is then not current
        return None


def restore(config_dir):
    settings = read_settings(config_dir)
    domain = settings["domain"]
    if domain != required_env("DOMAIN"):
        raise StoreError(f"settings name {domain}, DOMAIN is {os.environ['DOMAIN']}")
    wanted_names = sorted([domain] + os.environ.get("EXTRA_DOMAINS", "").split())
    wanted_server = required_env("ACME_SERVER")
    remove_stale_staging(config_dir)
    set_aside_incomplete(config_dir, domain)
    existing = [p for p in (f"renewal/{domain}.conf", f"live/{domain}", f"archive/{domain}") if os.path.lexists(os.path.join(config_dir, p))]
    if existing:
        say(f"a local lineage exists ({', '.join(existing)}); nothing restored")
        return
    # Only a failure to read the store stops the step (fetch's errors go up); whatever the value does after that
    # makes it "not used".
    def not_used(reason):
        say(f"the stored value is not used: {reason}; certbot obtains a new certificate")

    try:
        payload = fetch(settings)
    except Unusable as error:
        return not_used(error)
    try:
        restore_payload(config_dir, domain, wanted_names, wanted_server, payload)
    except Unusable as error:
        not_used(error)
    except Exception as error:
        not_used(f"restoring it failed ({type(error).__name__}: {describe(error)})")


def remove_stale_staging(config_dir):
    """Removes what a killed restore left: its root-only staging dirs (they can hold a private key)."""
    for name in sorted(os.listdir(config_dir)):
        if name.startswith(STAGING_PREFIX):
            path = os.path.join(config_dir, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
            say(f"removed {path}, left by an interrupted restore")


def set_aside_incomplete(config_dir, domain):
    """A live/ or archive/ lineage without its renewal file is what an interrupted restore (or certbot run) leaves:
    both write the renewal file last. certbot cannot use it and refuses to create the lineage over it ("live
    directory exists"), so every later deployment would fail. Moves it into a root-only .jitsi-incomplete-* dir."""
    if os.path.lexists(os.path.join(config_dir, f"renewal/{domain}.conf")):
        return
    partial = [p for p in (f"live/{domain}", f"archive/{domain}") if os.path.lexists(os.path.join(config_dir, p))]
    if not partial:
        return
    aside = tempfile.mkdtemp(dir=config_dir, prefix=".jitsi-incomplete-")
    for path in partial:
        os.rename(os.path.join(config_dir, path), os.path.join(aside, path.split("/")[0]))
    say(f"an incomplete lineage ({', '.join(partial)} without renewal/{domain}.conf) was moved aside to {aside}")


def restore_payload(config_dir, domain, wanted_names, wanted_server, payload):
    if payload is None:
        say(f"nothing stored yet for {domain}: certbot obtains a new certificate")
        return
    try:
        entries = unpack(payload["lineage"], domain)
    except (KeyError, TypeError, ValueError, tarfile.TarError, EOFError, OSError) as error:
        raise Unusable(f"its lineage cannot be read ({type(error).__name__})")
    stored_config_dir = payload.get("configDir", config_dir)
    if payload.get("sha256") != digest(entries, stored_config_dir):
        raise Unusable("the stored lineage does not match its own checksum")
    files = dict((path, content) for path, kind, content in entries if kind == "file")
    links = dict((path, target) for path, kind, target in entries if kind == "link")
    targets = {path: os.path.normpath(os.path.join(f"live/{domain}", target)) for path, target in links.items()}
    if sorted(links) != sorted(f"live/{domain}/{name}" for name in LIVE_FILES) or not all(t in files for t in targets.values()):
        raise Unusable("the stored lineage lacks live/ links or the files they point at")
    check_archive_names(domain, files, targets)
    if f"renewal/{domain}.conf" not in files:
        raise Unusable("the stored lineage lacks its renewal file")
    try:
        names, not_after = certificate_facts(files[targets[f"live/{domain}/cert.pem"]])
        params = renewal_params(files[f"renewal/{domain}.conf"].decode())
    except Exception as error:  # cryptography's parse errors, a certificate without names: all "unusable"
        raise Unusable(f"the stored certificate cannot be read ({type(error).__name__})")
    reason = None
    if names != wanted_names:
        reason = f"it is for {' '.join(names)}, not {' '.join(wanted_names)}"
    elif params.get("server") != wanted_server:
        reason = f"it was issued by {params.get('server')}, not {wanted_server}"
    elif not_after <= datetime.datetime.now(datetime.timezone.utc):
        reason = f"it expired at {iso(not_after)}"
    if reason is not None:
        say(f"the stored certificate is not used: {reason}; certbot obtains a new one")
        return
    check_key_and_chain({name: files[targets[f"live/{domain}/{name}"]] for name in LIVE_FILES})
    renewal, account_dir = checked_renewal(files[f"renewal/{domain}.conf"].decode(), domain, stored_config_dir, wanted_names, files)
    host_dirs = {
        "config_dir": config_dir,
        "work_dir": os.environ.get("CERTBOT_WORK_DIR") or "/var/lib/letsencrypt",
        "logs_dir": os.environ.get("CERTBOT_LOGS_DIR") or "/var/log/letsencrypt",
    }
    entries = [
        (path, kind, renewal_text(renewal, domain, host_dirs) if path == f"renewal/{domain}.conf" else content)
        for path, kind, content in entries
        # Only the account the renewal file names (another server's account stays behind).
        if not path.startswith("accounts/") or os.path.dirname(path) == account_dir
    ]
    install(config_dir, domain, entries)
    say(f"restored the lineage for {' '.join(names)} (expires {iso(not_after)}); certbot keeps it until it is due")


def check_archive_names(domain, files, targets):
    """The archive holds exactly the four files live/ points at, named as certbot names them, one version for all
    (cert<N>.pem, chain<N>.pem, fullchain<N>.pem, privkey<N>.pem). certbot's renew relinks live/ to the newest
    complete version in archive/, so any other file there would be served unchecked; a name certbot does not read
    would leave a lineage it can neither renew nor replace."""
    versions = set()
    for name in LIVE_FILES:
        stem = name[: -len(".pem")]
        match = re.fullmatch(rf"archive/{re.escape(domain)}/{stem}([1-9][0-9]{{0,5}})\.pem", targets[f"live/{domain}/{name}"])
        if match is None:
            raise Unusable(f"live/{domain}/{name} does not point at archive/{domain}/{stem}<N>.pem")
        versions.add(match.group(1))
    if len(versions) != 1:
        raise Unusable("the live/ links point at different versions")
    archive = sorted(path for path in files if path.startswith(f"archive/{domain}/"))
    if archive != sorted(targets.values()):
        raise Unusable(f"archive/{domain}/ holds files live/ does not point at")


def check_key_and_chain(live):
    """Unusable unless live["privkey.pem"] is cert.pem's key, chain.pem's first certificate (a CA, not the
    certificate itself) signed cert.pem, fullchain.pem is cert.pem then chain.pem, and the validity is at most
    MAX_VALIDITY (Let's Encrypt issues 90-day certificates, letsencrypt.org/docs/faq; the tests' pebble too)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    def public(key):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def certificates(pem):
        # (Debian 12's python3-cryptography 38 has no load_pem_x509_certificates.)
        blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
        return [x509.load_pem_x509_certificate(block) for block in blocks]

    def verify_issued(certificate, issuer):
        # What verify_directly_issued_by (cryptography >= 40) does: names chain, issuer's key signed the TBS part.
        if certificate.issuer != issuer.subject:
            raise ValueError("issuer name")
        issuer_key = issuer.public_key()
        if isinstance(issuer_key, ec.EllipticCurvePublicKey):
            issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(certificate.signature_hash_algorithm))
        elif isinstance(issuer_key, rsa.RSAPublicKey):
            issuer_key.verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(), certificate.signature_hash_algorithm)
        else:
            raise TypeError("issuer key type")

    try:
        certificate = x509.load_pem_x509_certificate(live["cert.pem"])
        key = serialization.load_pem_private_key(live["privkey.pem"], password=None)
        chain = certificates(live["chain.pem"])
        fullchain = certificates(live["fullchain.pem"])
    except (ValueError, TypeError) as error:
        raise Unusable(f"its certificate files or key cannot be read ({type(error).__name__})")
    if public(key.public_key()) != public(certificate.public_key()):
        raise Unusable("its private key does not belong to its certificate")
    try:
        issuer = chain[0]
        if issuer == certificate or not issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ValueError("not a CA")
        verify_issued(certificate, issuer)
    except (IndexError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        raise Unusable("its certificate was not issued by the first certificate of its chain.pem")
    if fullchain != [certificate, *chain]:
        raise Unusable("its fullchain.pem is not its certificate followed by its chain.pem")
    not_before, not_after = validity_bounds(certificate)
    validity = not_after - not_before
    if validity > MAX_VALIDITY:
        raise Unusable(f"its certificate is valid for {validity.days} days, longer than Let's Encrypt issues ({MAX_VALIDITY.days})")


def renewal_lines(text):
    """[(section, key, value)] of a certbot renewal file, in order: "" (top level), "renewalparams", "webroot_map".
    Comments and blank lines are dropped; any other line, section or a repeated key makes it Unusable."""
    section, lines = "", []
    follows = {"[renewalparams]": ("", "renewalparams"), "[[webroot_map]]": ("renewalparams", "webroot_map")}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line in follows:
            if section != follows[line][0]:
                raise Unusable(f"the stored renewal file has {line} out of place")
            section = follows[line][1]
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise Unusable("the stored renewal file holds a line that is not key = value")
        if any(key == seen and section == where for where, seen, _ in lines):
            raise Unusable(f"the stored renewal file sets {key} twice")
        lines.append((section, key, value))
    return lines


def checked_renewal(text, domain, stored_config_dir, wanted_names, files):
    """The renewal file's lines if every one is on the allow-list and points at this lineage, the configured webroot
    and an account the value holds; with the account's dir (accounts/<server host/path>/<id>). Unusable otherwise:
    above all any hook (pre_hook, post_hook, renew_hook, deploy_hook run as root at `certbot renew`), installer
    or manual_* setting, and any key not listed here."""
    webroot = os.environ.get("ACME_WEBROOT") or "/var/www/acme"
    lines = renewal_lines(text)
    values = {(section, key): value for section, key, value in lines}

    def wrong(key, value):
        raise Unusable(f"the stored renewal file sets {key} = {value[:80]!r}, which restore does not accept")

    for section, key, value in lines:
        if section == "webroot_map":
            if key not in wanted_names or value != webroot:
                wrong(f"webroot_map {key}", value)
        elif section == "" and key in LINEAGE_PATHS:
            if value != f"{stored_config_dir}/{LINEAGE_PATHS[key].format(domain=domain)}":
                wrong(key, value)
        elif section == "" and key == "version":
            if not re.fullmatch(r"\d{1,4}(\.\d{1,4}){1,3}", value):
                wrong(key, value)
        elif section == "renewalparams" and key in KEY_PARAMS:
            if value not in KEY_PARAMS[key]:
                wrong(key, value)
        elif section == "renewalparams" and key in ("config_dir", "work_dir", "logs_dir"):
            # config_dir must be the lineage's own; the host writes its own dirs in place of all three.
            if not value.startswith("/") or (key == "config_dir" and value != stored_config_dir):
                wrong(key, value)
        elif (section, key) == ("renewalparams", "authenticator"):
            if value != "webroot":
                wrong(key, value)
        elif (section, key) == ("renewalparams", "webroot_path"):
            if value not in (webroot, f"{webroot},"):
                wrong(key, value)
        elif (section, key) == ("renewalparams", "account"):
            if not re.fullmatch(r"[0-9a-f]{32}", value):
                wrong(key, value)
        elif (section, key) == ("renewalparams", "server"):
            if not re.fullmatch(r"https://[^\s/]+/\S*", value):
                wrong(key, value)
        else:
            raise Unusable(f"the stored renewal file sets {key}, which restore does not accept (a hook, installer or unknown setting)")
    missing = [key for key in REQUIRED_PARAMS if ("" if key == "version" or key in LINEAGE_PATHS else "renewalparams", key) not in values]
    mapped = sorted(key for section, key, _ in lines if section == "webroot_map")
    if missing or mapped != sorted(wanted_names):
        raise Unusable(f"the stored renewal file lacks {' '.join(missing) or 'a webroot_map entry for each name'}")
    server = urllib.parse.urlparse(values[("renewalparams", "server")])
    account_dir = f"accounts/{server.netloc}{server.path}/{values[('renewalparams', 'account')]}"
    if not all(f"{account_dir}/{name}" in files for name in ACCOUNT_FILES):
        raise Unusable(f"the stored lineage lacks the ACME account its renewal file names ({account_dir})")
    return lines, account_dir


def renewal_text(lines, domain, host_dirs):
    """A renewal file in certbot's own layout from checked lines, with this host's config, work and logs dirs."""
    out = ["# renew_before_expiry = 30 days"]
    section = ""
    for where, key, value in lines:
        if where != section:
            out += ["", "# Options used in the renewal process", "[renewalparams]"] if where == "renewalparams" else ["[[webroot_map]]"]
            section = where
        if where == "" and key in LINEAGE_PATHS:
            value = f"{host_dirs['config_dir']}/{LINEAGE_PATHS[key].format(domain=domain)}"
        elif where == "renewalparams" and key in host_dirs:
            value = host_dirs[key]
        out.append(f"{key} = {value}")
    return ("\n".join(out) + "\n").encode()


def install(config_dir, domain, entries):
    """Writes the entries under a root-only temp dir in config_dir, then renames them into place (renewal last)."""
    staging = tempfile.mkdtemp(dir=config_dir, prefix=STAGING_PREFIX)
    placed = []
    try:
        for path, kind, content in entries:
            target = os.path.join(staging, path)
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            if kind == "link":
                os.symlink(content, target)
                continue
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode_of(path))
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        accounts = sorted({os.path.dirname(p) for p, kind, _ in entries if kind == "file" and p.startswith("accounts/")})
        moves = [a for a in accounts if not os.path.exists(os.path.join(config_dir, a))]
        moves += [f"archive/{domain}", f"live/{domain}", f"renewal/{domain}.conf"]
        for path in moves:
            parent = os.path.dirname(os.path.join(config_dir, path))
            os.makedirs(parent, mode=0o755 if path.startswith("renewal/") else 0o700, exist_ok=True)
            os.rename(os.path.join(staging, path), os.path.join(config_dir, path))
            placed.append(path)
    except BaseException:
        for path in reversed(placed):
            target = os.path.join(config_dir, path)
            shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.unlink(target)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def rewrite_paths(text, old, new):
    lines = []
    for line in text.splitlines(keepends=True):
        key, sep, value = line.partition("=")
        stripped = value.strip()
        if sep and (stripped == old or stripped.startswith(old + "/")):
            line = f"{key}={value.replace(old, new, 1)}"
        lines.append(line)
    return "".join(lines)


def main(argv):
    if len(argv) != 3 or argv[0] not in ("configure", "restore", "store") or argv[1] != "--config-dir" or not argv[2].startswith("/"):
        die("usage: jitsi-certificate-store configure|restore|store --config-dir /absolute/dir", 2)
    command, config_dir = argv[0], argv[2].rstrip("/")
    os.umask(0o077)
    try:
        {"configure": configure, "restore": restore, "store": store}[command](config_dir)
    except StoreError as error:
        die(f"{command}: {error}")
    except Exception as error:  # boto3/botocore, file system: one line, no traceback (it could show values)
        die(f"{command}: {type(error).__name__}: {describe(error)}")


if __name__ == "__main__":
    main(sys.argv[1:])
