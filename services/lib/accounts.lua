-- The account profile a user keeps with the auth service (01-auth §1.1), read-only. This is the
-- only Lua file that knows the auth tables, so a change of their schema touches only this file.
local M = {}

local function list(text)
  if type(text) ~= "string" then return {} end
  local value = json.decode(text)
  if type(value) ~= "table" then return {} end
  local out = {}
  for _, item in ipairs(value) do
    if type(item) == "string" then out[#out + 1] = item end
  end
  return out
end

local function value(v)
  if v == json.null then return nil end
  return v
end

-- { name, age, blood_group, allergies = {...}, conditions = {...}, emergency_contact,
-- emergency_phone } of an active account, or nil when there is none. A failed read is logged and
-- answered as "no account data": emergency views show what the SOS profile has rather than fail.
function M.profile(user_id)
  local id = math.tointeger(tonumber(user_id))
  if not id then return nil end
  local ok, row = pcall(db.one, [[
    SELECT name, age, blood_group, allergies, conditions, emergency_contact, emergency_phone
    FROM users WHERE id = ? AND is_active = 1]], id)
  if not ok then
    log.warn("account profile unavailable", { error = tostring(row) })
    return nil
  end
  if not row then return nil end
  return {
    name = value(row.name),
    age = value(row.age),
    blood_group = value(row.blood_group),
    allergies = list(row.allergies),
    conditions = list(row.conditions),
    emergency_contact = value(row.emergency_contact),
    emergency_phone = value(row.emergency_phone),
  }
end

return M
