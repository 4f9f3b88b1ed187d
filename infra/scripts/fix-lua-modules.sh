#!/usr/bin/env bash
# Makes the pure-Lua libraries Jitsi's token plugins need loadable by the Lua that Prosody runs on, as root.
# Ubuntu/Debian ship lua-basexx and lua-inspect only for older Lua versions while Prosody 0.12+ runs on Lua 5.4,
# so token auth fails with "module 'basexx' not found" (jitsi-meet#14918). Both are single pure-Lua files, so a
# copy into the 5.4 tree is enough; the C modules (cjson, luaossl, luasec) are packaged for 5.4 already.
# env (tests only): LUA_VERSION (default: from Prosody's interpreter line), LUA_SHARE_DIR (default /usr/share/lua).
# Idempotent; exits non-zero naming the module when a library still cannot be loaded.
set -euo pipefail

share=${LUA_SHARE_DIR:-/usr/share/lua}
version=${LUA_VERSION:-}
if [[ -z "$version" ]]; then
  # /usr/bin/prosody starts with "#!/usr/bin/env lua5.4" (or "#!/usr/bin/lua5.4").
  version=$(head -n1 /usr/bin/prosody | grep -oE 'lua5\.[0-9]' | head -n1 | sed 's/^lua//')
fi
if [[ ! "$version" =~ ^5\.[1-9]$ ]]; then
  echo "fix-lua-modules: cannot tell which Lua Prosody uses" >&2
  exit 2
fi
lua="lua$version"
target="$share/$version"

loadable() { LUA_PATH="$target/?.lua;$target/?/init.lua;;" "$lua" -e "require('$1')" >/dev/null 2>&1; }

for module in basexx inspect; do
  loadable "$module" && continue
  for older in 5.4 5.3 5.2 5.1; do
    if [[ "$older" != "$version" && -f "/usr/share/lua/$older/$module.lua" ]]; then
      install -D -m 0644 "/usr/share/lua/$older/$module.lua" "$target/$module.lua"
      echo "fix-lua-modules: $module.lua copied from Lua $older to $version"
      break
    fi
  done
done

missing=()
for module in basexx inspect cjson.safe openssl.digest openssl.hmac openssl.pkey ssl; do
  loadable "$module" || missing+=("$module")
done
if ((${#missing[@]} > 0)); then
  echo "fix-lua-modules: Lua $version cannot load: ${missing[*]}" >&2
  exit 1
fi
echo "fix-lua-modules: token plugin libraries load on Lua $version"
