-- mod_log_token_redaction: no JSON Web Token and no configured secret reaches any of Prosody's log sinks.
-- Part of jitsi-jwt-pulumi (written for this project). Rendered by templates/files/prosodyModules.ts.
--
-- Why: Jitsi's mod_token_verification logs the whole token at error level when a join is refused ("Token %s
-- not allowed to join"), and, at debug level, the app secret itself when it loads ("starting MUC token verifier
-- app_id: … app_secret: …"). Debian's prosody.cfg.lua sends error lines to a file and to syslog. Keeping the
-- log level at info does not help the first; an operator who turns on debug to chase a problem must not leak the
-- second. A token in a log is a credential anyone who can read the log can replay until it expires; the app
-- secret mints tokens for ever.
--
-- How: Prosody's core/loggingmanager.lua builds every sink from a sink type ("file", "syslog", "console",
-- "stdout") and offers register_sink_type(name, maker), which returns the maker it replaces. This file wraps
-- each existing maker so that the sink it makes receives the formatted line with every JWT-shaped run and every
-- configured secret replaced. The `log` option stays the operator's; nothing is scrubbed afterwards.
--
-- When: before the first line is logged. Modules load host by host in an order Prosody does not fix (hosts and
-- each host's module set are hash tables), and token_verification logs the secret while it loads, so loading
-- this as a module alone would come too late about one start in fifteen. The rendered host config therefore
-- runs this file with Prosody's config directive RunScript while the configuration is read, before Prosody sets
-- up its log sinks (util/startup.lua: read_config, then init_logging): the sinks are built through the wrappers
-- from the start, in prosody and in prosodyctl alike. Loaded as a module as well, it reports itself and has
-- the logging configuration re-applied (reload_logging); unloading it puts the original makers back.
--
-- JWT-shaped: a run of base64url characters and dots with at least two dots and at least two dot-separated
-- parts of 16 or more characters (a JWS header alone is at least 20: {"alg":"HS256"}). Host names and JIDs
-- of ordinary length do not match; a longer one that does is only shown redacted.
--
-- Configured secret: every string of 8 or more characters set, globally or on any host, under an option one of
-- whose words is "secret", "password" or "passwd" (app_secret, external_service_secret, turncredentials_secret,
-- component_secret, shared_secret_prev, …; not an allow-list such as muc_password_whitelist), also inside
-- tables (an external_services entry's secret). Read from the configuration in
-- force when the line is logged, so a reload that changes a secret redacts the new one.

-- Loaded as a Prosody module, `module` is its API; run by RunScript at config time, it is absent.
local as_module = type(module) == "table" and type(module.set_global) == "function";
if as_module then module:set_global(); end

local loggingmanager = require "core.loggingmanager";
local configmanager = require "core.configmanager";
local format = require "util.format".format;

local REPLACEMENT = "[JWT redacted]";
local SECRET_REPLACEMENT = "[secret redacted]";
local LONG_PART = 16;
local SHORTEST_SECRET = 8;
local SINK_TYPES = { "file", "stdout", "console", "syslog" };

local function jwt_shaped(run)
	local dots = select(2, run:gsub("%.", "%0"));
	if dots < 2 then return false; end
	local long = 0;
	for part in (run .. "."):gmatch("([^.]*)%.") do
		if #part >= LONG_PART then
			long = long + 1;
			if long >= 2 then return true; end
		end
	end
	return false;
end

--- True for an option or field name that names a secret: one of its words (split at "_", "-" and ".") is
--- "secret", "password" or "passwd", and it is not a list of who may skip one (muc_password_whitelist).
local function names_secret(key)
	if type(key) ~= "string" then return false; end
	local lower = key:lower();
	if lower:find("whitelist$") or lower:find("allowlist$") then return false; end
	for word in lower:gmatch("[^_%-%.]+") do
		if word == "secret" or word == "password" or word == "passwd" then return true; end
	end
	return false;
end

--- Collects into `found` every string of SHORTEST_SECRET or more characters in `value` (a table is searched
--- through), when `sensitive` (an enclosing option or field name names a secret).
local function collect(value, sensitive, found, depth)
	if type(value) == "string" then
		if sensitive and #value >= SHORTEST_SECRET then found[value] = true; end
	elseif type(value) == "table" and depth < 6 then
		for key, inner in pairs(value) do
			collect(inner, sensitive or names_secret(key), found, depth + 1);
		end
	end
end

local secrets_cache = { config = nil, list = {} };

--- The configured secrets, longest first (one that contains another is replaced whole), with the pattern that
--- matches each literally. Recomputed when Prosody has read a new configuration (a new table).
local function configured_secrets()
	local config = configmanager.getconfig();
	if secrets_cache.config ~= config then
		local found = {};
		for _, options in pairs(config) do collect(options, false, found, 0); end
		local list = {};
		for secret in pairs(found) do list[#list + 1] = secret; end
		table.sort(list, function (a, b) return #a > #b; end);
		for i, secret in ipairs(list) do list[i] = { plain = secret, pattern = (secret:gsub("%p", "%%%0")) }; end
		secrets_cache.config, secrets_cache.list = config, list;
	end
	return secrets_cache.list;
end

--- A run with every spelling of a part separator Jitsi's token parser accepts as ".": its split_token splits at
--- a dot and at a backslash (luajwtjitsi.lib.lua), and a URL may carry either percent-encoded (%2E, %5C).
local function separators_as_dots(run)
	return (run:gsub("%%2[eE]", "."):gsub("%%5[cC]", "."):gsub("\\", "."));
end

--- `text` with every JWT-shaped run of [A-Za-z0-9_-.%=] and backslashes, and every configured secret replaced. A run that starts
--- with a query parameter's "name=" keeps it (token=[JWT redacted]).
local function redact(text)
	for _, secret in ipairs(configured_secrets()) do
		if text:find(secret.plain, 1, true) then text = text:gsub(secret.pattern, SECRET_REPLACEMENT); end
	end
	-- Only a line without any separator spelling can hold no token (a doubled separator, "h..p..s", is accepted by
	-- Jitsi's parser too).
	if not text:find("[%.\\%%]") then return text; end
	return (text:gsub("[%w_%-%.\\%%=]+", function (run)
		local name, rest = run:match("^([%w_%-]*=)(.*)$");
		if name ~= nil and jwt_shaped(separators_as_dots(rest)) then return name .. REPLACEMENT; end
		if jwt_shaped(separators_as_dots(run)) then return REPLACEMENT; end
	end));
end

-- The makers found before wrapping, by sink type: kept in package.loaded so that the RunScript run, the module
-- and any reload of either share them and never wrap a wrapper.
local originals = package.loaded["jitsi-jwt-pulumi.log_redaction.originals"] or {};
package.loaded["jitsi-jwt-pulumi.log_redaction.originals"] = originals;

local function wrapping(original)
	return function (sink_config, ...)
		local sink = original(sink_config, ...);
		return function (name, level, message, ...)
			-- Formatted as every built-in sink formats it; "%" doubled so the sink's own format call, which
			-- now has no arguments, gives the redacted line back unchanged.
			local line = redact(format(message, ...));
			return sink(name, level, (line:gsub("%%", "%%%%")));
		end;
	end;
end

--- Puts a redacting wrapper around every built-in sink maker (once; later calls re-wrap the saved originals).
local function wrap_sink_types()
	for _, sink_type in ipairs(SINK_TYPES) do
		local original = originals[sink_type];
		if original == nil then
			local current = loggingmanager.register_sink_type(sink_type, nil);
			if current ~= nil then
				originals[sink_type] = current;
				original = current;
			end
		end
		if original ~= nil then
			loggingmanager.register_sink_type(sink_type, wrapping(original));
		end
	end
end

if not as_module then
	-- RunScript while the configuration is read: the sinks Prosody builds next are built through the wrappers.
	wrap_sink_types();
	return { redact = redact };
end

function module.load()
	wrap_sink_types();
	loggingmanager.reload_logging();
	module:log("info", "log sinks now redact JSON Web Tokens and configured secrets");
end

function module.unload()
	for sink_type, original in pairs(originals) do
		loggingmanager.register_sink_type(sink_type, original);
		originals[sink_type] = nil;
	end
	loggingmanager.reload_logging();
end

-- For tests and other modules of this project.
return { redact = redact };
