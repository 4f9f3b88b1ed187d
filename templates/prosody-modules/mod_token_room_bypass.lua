-- mod_token_room_bypass: the token claims context.user.lobby_bypass and context.user.security_bypass take effect.
-- Part of jitsi-jwt-pulumi (written for this project). Rendered by templates/files/prosodyModules.ts and loaded
-- on the conference MUC component, next to Jitsi's token_verification, token_affiliation and lobby modules.
--
-- Claim names and hook order follow the de-facto third-party plugin, jitsi-contrib/prosody-plugins
-- token_lobby_bypass (context.user.lobby_bypass = true; muc-occupant-pre-join at priority -3). Jitsi's
-- mod_token_affiliation (-3.5) expects a lobby bypass to have run just before it and upgrades the member
-- affiliation granted here to owner for a moderator token; Jitsi's lobby gate (mod_muc_lobby_rooms, -4) and
-- Prosody's members-only check (-5) then let a member through, and Prosody's password check (-20) a join that
-- carries the room's password.
--
--   lobby_bypass = true     a room with the lobby on (members-only) is entered directly, as a member.
--   security_bypass = true  the same, and a room password does not apply: the join carries the room's password,
--                           as Jitsi's own mod_muc_flip does for a participant's second device.
--
-- Only real booleans count (the token module writes them so), and only for a session whose token Prosody's
-- token authentication verified (session.auth_token is cleared when verification fails). Guests have no token.

local MUC_NS = "http://jabber.org/protocol/muc";
-- Just before mod_token_affiliation (-3.5) and the lobby gate (-4); after token_verification (99).
local PRIORITY = -3;

local function claims(session)
	if session == nil or session.auth_token == nil then return false, false; end
	local user = session.jitsi_meet_context_user;
	if type(user) ~= "table" then return false, false; end
	return user.lobby_bypass == true, user.security_bypass == true;
end

--- Replaces any password in the join's <x xmlns=muc/> with the room's own.
local function carry_room_password(stanza, password)
	local join = stanza:get_child("x", MUC_NS);
	if join == nil then
		stanza:tag("x", { xmlns = MUC_NS }):up();
		join = stanza:get_child("x", MUC_NS);
	end
	join:maptags(function (child)
		if child.name == "password" and (child.attr.xmlns == nil or child.attr.xmlns == MUC_NS) then return nil; end
		return child;
	end);
	join:tag("password", { xmlns = MUC_NS }):text(password):up();
end

module:hook("muc-occupant-pre-join", function (event)
	local room, occupant = event.room, event.occupant;
	local lobby_bypass, security_bypass = claims(event.origin);
	if not (lobby_bypass or security_bypass) then return; end

	if security_bypass then
		local password = room:get_password();
		if password ~= nil and password ~= "" then
			carry_room_password(event.stanza, password);
			module:log("info", "%s enters %s without the room password (security_bypass)", occupant.bare_jid, room.jid);
		end
	end

	if room:get_members_only() then
		local affiliation = room:get_affiliation(occupant.bare_jid);
		if affiliation == nil or affiliation == "none" then
			room:set_affiliation(true, occupant.bare_jid, "member");
		end
		if occupant.role == nil or occupant.role == "none" or occupant.role == false then
			occupant.role = "participant";
		end
		module:log("info", "%s enters %s past the lobby (%s)", occupant.bare_jid, room.jid,
			lobby_bypass and "lobby_bypass" or "security_bypass");
	end
end, PRIORITY);
