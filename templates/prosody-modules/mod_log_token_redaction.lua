-- mod_log_token_redaction: no JSON Web Token reaches any of Prosody's log sinks.
-- Part of jitsi-jwt-pulumi (written for this project). Rendered by templates/files/prosodyModules.ts.
--
-- Why: Jitsi's mod_token_verification logs the whole token at error level when a join is refused ("Token %s
-- not allowed to join"), and Debian's prosody.cfg.lua sends error lines to a file and to syslog. Keeping the
-- log level at info does not help. A token in a log is a credential anyone who can read the log can replay
-- until it expires.
--
-- How: Prosody's core/loggingmanager.lua builds every sink from a sink type ("file", "syslog", "console",
-- "stdout") and offers register_sink_type(name, maker), which returns the maker it replaces. This module wraps
-- each existing maker so that the sink it makes receives the formatted line with every JWT-shaped run replaced,
-- then has the logging configuration re-applied (reload_logging), so sinks configured before this module loaded
-- are rebuilt through the wrappers. The `log` option stays the operator's; nothing is scrubbed afterwards.
-- Unloading the module puts the original makers back.
--
-- JWT-shaped: a run of base64url characters and dots with at least two dots and at least two dot-separated
-- parts of 16 or more characters (a JWS header alone is at least 20: {"alg":"HS256"}). Host names and JIDs
-- of ordinary length do not match; a longer one that does is only shown redacted.

module:set_global();

local loggingmanager = require "core.loggingmanager";
local format = require "util.format".format;

local REPLACEMENT = "[JWT redacted]";
local LONG_PART = 16;
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

--- `text` with every JWT-shaped run of [A-Za-z0-9_-.] replaced.
local function redact(text)
	if not text:find("[%w_-]%.[%w_-]") then return text; end
	return (text:gsub("[%w_%-%.]+", function (run)
		if jwt_shaped(run) then return REPLACEMENT; end
	end));
end

local originals = module:shared("original_sink_makers");

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

function module.load()
	for _, sink_type in ipairs(SINK_TYPES) do
		-- A reload finds the originals it saved; wrapping a wrapper would only cost time.
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
	loggingmanager.reload_logging();
	module:log("info", "log sinks now redact JSON Web Tokens");
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
