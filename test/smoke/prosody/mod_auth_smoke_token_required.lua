-- Test stand-in, used only by the default (stock Prosody) smoke tests: stock Prosody has no JWT auth.
-- It applies the one rule of Jitsi's token auth that needs no JWT library: a login without ?token= on the
-- WebSocket URL fails SASL with ("not-allowed", "token required"), through Prosody's own mod_saslauth.
-- Any token is accepted; signatures, expiry and rooms are judged only by the opt-in run with Jitsi's plugins.
local new_sasl = require "util.sasl".new;
local formdecode = require "util.http".formdecode;

module:hook_global("websocket-session", function(event)
    local query = event.request.url.query;
    local params = query and formdecode(query) or {};
    event.session.smoke_standin_token = params.token;
end);

local provider = {};
function provider.test_password() return nil, "password auth not supported"; end
function provider.get_password() return nil; end
function provider.set_password() return nil, "password auth not supported"; end
function provider.user_exists() return nil; end
function provider.create_user() return nil, "accounts not supported"; end
function provider.delete_user() return nil, "accounts not supported"; end
function provider.users() return next, {}, nil; end
function provider.get_sasl_handler(session)
    local handler = new_sasl(module.host, { anonymous = function() return true; end });
    local process = handler.process;
    function handler:process(message)
        local token = session and session.smoke_standin_token;
        if token == nil or token == "" then
            return "failure", "not-allowed", "token required";
        end
        return process(self, message);
    end
    return handler;
end
module:provides("auth", provider);
