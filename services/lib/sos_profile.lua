-- The emergency profile (06-sos §2.3, §2.4): what a user wants responders to know, and which of
-- it may be shared. Stored one row per user; the list fields are JSON-encoded text, and are
-- returned that way, as the reference did.
local validate = require("validate")

local M = {}

M.TABLE = [[
CREATE TABLE sos_emergency_profiles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL UNIQUE,
  name TEXT,
  age INTEGER,
  blood_group TEXT,
  allergies TEXT NOT NULL DEFAULT '[]',
  chronic_conditions TEXT NOT NULL DEFAULT '[]',
  current_medications TEXT NOT NULL DEFAULT '[]',
  emergency_contacts TEXT NOT NULL DEFAULT '[]',
  organ_donor INTEGER,
  insurance_provider TEXT,
  insurance_id TEXT,
  share_blood_group INTEGER NOT NULL DEFAULT 1,
  share_allergies INTEGER NOT NULL DEFAULT 1,
  share_chronic_conditions INTEGER NOT NULL DEFAULT 1,
  share_current_medications INTEGER NOT NULL DEFAULT 1,
  share_emergency_contacts INTEGER NOT NULL DEFAULT 1,
  share_name INTEGER NOT NULL DEFAULT 1,
  share_age INTEGER NOT NULL DEFAULT 1,
  share_organ_donor_status INTEGER NOT NULL DEFAULT 0,
  share_insurance_info INTEGER NOT NULL DEFAULT 0,
  require_manual_confirmation INTEGER NOT NULL DEFAULT 0,
  auto_notify_emergency_contacts INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL
)]]

-- Boolean settings and their defaults, in the order the spec lists them.
M.FLAGS = {
  { "share_blood_group", true }, { "share_allergies", true }, { "share_chronic_conditions", true },
  { "share_current_medications", true }, { "share_emergency_contacts", true }, { "share_name", true },
  { "share_age", true }, { "share_organ_donor_status", false }, { "share_insurance_info", false },
  { "require_manual_confirmation", false }, { "auto_notify_emergency_contacts", true },
}
M.LISTS = { "allergies", "chronic_conditions", "current_medications" }
local TEXTS = { { "name", 100 }, { "blood_group", 10 }, { "insurance_provider", 100 }, { "insurance_id", 100 } }

local function value(v)
  if v == json.null then return nil end
  return v
end

local function decode_list(text)
  local list = type(text) == "string" and json.decode(text) or nil
  if type(list) ~= "table" then return json.array({}) end
  return json.array(list)
end

function M.find(user_id)
  return db.one("SELECT * FROM sos_emergency_profiles WHERE user_id = ?", user_id)
end

-- The stored profile, created with the defaults on first use.
function M.get_or_create(user_id)
  local row = M.find(user_id)
  if row then return row end
  db.exec("INSERT INTO sos_emergency_profiles (user_id, updated_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING", user_id, time.iso())
  return M.find(user_id)
end

function M.delete(user_id)
  return db.exec("DELETE FROM sos_emergency_profiles WHERE user_id = ?", user_id).changes
end

-- UserEmergencyProfile (§2.3).
function M.to_json(row)
  local out = {
    id = row.id, user_id = row.user_id, name = row.name, age = row.age, blood_group = row.blood_group,
    allergies = row.allergies, chronic_conditions = row.chronic_conditions, current_medications = row.current_medications,
    emergency_contacts = row.emergency_contacts, insurance_provider = row.insurance_provider, insurance_id = row.insurance_id,
    organ_donor = json.null, updated_at = row.updated_at,
  }
  if row.organ_donor ~= json.null then out.organ_donor = row.organ_donor == 1 end
  for _, flag in ipairs(M.FLAGS) do out[flag[1]] = row[flag[1]] == 1 end
  return out
end

-- The profile as plain Lua values (lists decoded, flags as booleans); the defaults of §2.3 when
-- the user has no profile.
function M.view(row)
  local view = { allergies = json.array({}), chronic_conditions = json.array({}), current_medications = json.array({}),
    emergency_contacts = json.array({}) }
  for _, flag in ipairs(M.FLAGS) do view[flag[1]] = flag[2] end
  if not row then return view end
  view.name, view.age, view.blood_group = value(row.name), value(row.age), value(row.blood_group)
  view.insurance_provider, view.insurance_id = value(row.insurance_provider), value(row.insurance_id)
  if row.organ_donor ~= json.null then view.organ_donor = row.organ_donor == 1 end
  for _, field in ipairs(M.LISTS) do view[field] = decode_list(row[field]) end
  view.emergency_contacts = decode_list(row.emergency_contacts)
  for _, flag in ipairs(M.FLAGS) do view[flag[1]] = row[flag[1]] == 1 end
  return view
end

-- Update body (§2.4) -------------------------------------------------------------------------

-- A list field given as an array or as a JSON-encoded string of one; the decoded array or nil.
local function list_input(v, loc, input)
  local list = input
  if type(input) == "string" then
    local decoded, err = json.decode(input)
    list = (not err) and decoded or nil
  end
  if type(list) ~= "table" or not (json.is_array(list) or next(list) == nil) then
    v:add("list_type", loc, "Input should be a valid list (or a JSON-encoded list)", input)
    return nil
  end
  return list
end

local function too_many(v, loc, list, max, input)
  if #list <= max then return false end
  v:add("too_long", loc, "List should have at most " .. max .. " items after validation, not " .. #list, input,
    { field_type = "List", max_length = max, actual_length = #list })
  return true
end

local function strings(v, field, input)
  local loc = { "body", field }
  local list = list_input(v, loc, input)
  if not list or too_many(v, loc, list, 50, input) then return nil end
  local out, ok = {}, true
  for i, item in ipairs(list) do
    local text = v:string({ "body", field, i - 1 }, item, { required = true, min = 1, max = 100 })
    if text == nil then ok = false end
    out[i] = text
  end
  return ok and json.array(out) or nil
end

local function contacts(v, input)
  local loc = { "body", "emergency_contacts" }
  local list = list_input(v, loc, input)
  if not list or too_many(v, loc, list, 10, input) then return nil end
  local out, ok = {}, true
  for i, item in ipairs(list) do
    local at = { "body", "emergency_contacts", i - 1 }
    if type(item) ~= "table" or json.is_array(item) then
      v:add("dict_type", at, "Input should be a valid dictionary", item)
      ok = false
    else
      local function field(name) return { "body", "emergency_contacts", i - 1, name } end
      local name = v:string(field("name"), item.name, { required = true, min = 1, max = 100, parent = item })
      local phone = v:string(field("phone"), item.phone, { required = true, min = 1, max = 15, parent = item })
      local relationship = v:string(field("relationship"), item.relationship, { nullable = true, max = 50 })
      if name == nil or phone == nil or (validate.present(item.relationship) and relationship == nil) then ok = false end
      out[i] = { name = name, phone = phone, relationship = relationship or json.null }
    end
  end
  return ok and json.array(out) or nil
end

-- Checks an update body; returns the column changes ({column = SQL value}) and the names applied
-- in order, or nil, nil and the checker holding the problems.
function M.changes(body)
  local v = validate.new()
  local set, names = {}, {}
  local function put(column, sql_value)
    set[column] = sql_value
    names[#names + 1] = column
  end
  -- Nullable fields: JSON null clears the value (json.null binds as SQL NULL).
  local function nullable(name, check)
    if body[name] == json.null then
      put(name, json.null)
    elseif body[name] ~= nil then
      local checked = check({ "body", name }, body[name])
      if checked ~= nil then put(name, checked) end
    end
  end
  for _, text in ipairs(TEXTS) do
    nullable(text[1], function(loc, input) return v:string(loc, input, { max = text[2] }) end)
  end
  nullable("age", function(loc, input) return v:integer(loc, input, { ge = 0, le = 130 }) end)
  for _, field in ipairs(M.LISTS) do
    if body[field] ~= nil then
      local list = strings(v, field, body[field])
      if list then put(field, json.encode(list)) end
    end
  end
  if body.emergency_contacts ~= nil then
    local list = contacts(v, body.emergency_contacts)
    if list then put("emergency_contacts", json.encode(list)) end
  end
  nullable("organ_donor", function(loc, input)
    local donor = v:boolean(loc, input, {})
    if donor == nil then return nil end
    return donor and 1 or 0
  end)
  for _, flag in ipairs(M.FLAGS) do
    local name = flag[1]
    if body[name] ~= nil then
      local on = v:boolean({ "body", name }, body[name], {})
      if on ~= nil then put(name, on and 1 or 0) end
    end
  end
  if not v:ok() then return nil, nil, v end
  return set, names
end

-- Applies checked changes (creating the profile first when needed); returns the stored row.
function M.apply(user_id, set, names)
  M.get_or_create(user_id)
  local assignments, params = { "updated_at = ?" }, { time.iso() }
  for _, column in ipairs(names) do
    -- Column names come from the fixed lists above, never from the request.
    assignments[#assignments + 1] = column .. " = ?"
    params[#params + 1] = set[column]
  end
  params[#params + 1] = user_id
  db.exec("UPDATE sos_emergency_profiles SET " .. table.concat(assignments, ", ") .. " WHERE user_id = ?", table.unpack(params))
  return M.find(user_id)
end

return M
