-- Prints options of a Prosody config file as Prosody's own parser reads them (see prosodyConfigReader.ts).
-- Usage: lua5.4 readProsodyConfig.lua FILE HOST OPTION [HOST OPTION ...]; one line per pair: "<type> <hex>".
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
-- The rendered file's RunScript (the log redaction, at its production path) only acts in a running Prosody;
-- options are all this reads. configmanager takes dofile from the globals when it is loaded.
dofile = function() end
local configmanager = require "core.configmanager"

local ok, stage, err = configmanager.load(arg[1])
if not ok then
    io.stderr:write(tostring(stage) .. ": " .. tostring(err) .. "\n")
    os.exit(2)
end

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

for i = 2, #arg, 2 do
    local value = configmanager.get(arg[i], arg[i + 1])
    if type(value) == "table" then
        local items = {}
        for _, item in ipairs(value) do items[#items + 1] = hex(tostring(item)) end
        print("table " .. table.concat(items, ","))
    else
        print(type(value) .. " " .. hex(tostring(value)))
    end
end
