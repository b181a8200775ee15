-- Hospitals for the nearby search (06-sos §3.11, §8), from a JSON data file read when the
-- configuration loads: the bundled services/data/sos_hospitals.json, or SOS_HOSPITALS_FILE (a
-- path inside the config folder, or an absolute path ops configured).
--
-- An invalid file is rejected: the last valid list this process loaded (kept in `shared`, which
-- survives reloads) stays in use, and the service reports itself degraded.
local geo = require("geo")

local M = {}

M.DEFAULT_FILE = "services/data/sos_hospitals.json"
local SHARED_KEY = "sos.hospitals"

local function optional_text(v)
  return v == nil or v == json.null or type(v) == "string"
end

-- The hospital list of a file's text, or nil and the problem.
function M.parse(text)
  local list, err = json.decode(text)
  if err then return nil, "not JSON: " .. err end
  if type(list) ~= "table" or not json.is_array(list) then return nil, "the file must hold a JSON array" end
  local seen, out = {}, {}
  for i, h in ipairs(list) do
    local where = "entry " .. i .. ": "
    if type(h) ~= "table" or json.is_array(h) then return nil, where .. "not an object" end
    if math.type(h.id) ~= "integer" then return nil, where .. "id must be an integer" end
    if seen[h.id] then return nil, where .. "duplicate id " .. h.id end
    seen[h.id] = true
    if type(h.name) ~= "string" or h.name == "" then return nil, where .. "name is required" end
    if not geo.valid(h.lat, h.lon) then return nil, where .. "lat and lon must be numbers in range" end
    if not optional_text(h.address) or not optional_text(h.phone) then return nil, where .. "address and phone must be strings" end
    if h.emergency ~= nil and h.emergency ~= json.null and type(h.emergency) ~= "boolean" then
      return nil, where .. "emergency must be a boolean"
    end
    out[#out + 1] = {
      id = h.id, name = h.name, lat = h.lat + 0.0, lon = h.lon + 0.0,
      address = h.address or json.null, phone = h.phone or json.null, emergency = h.emergency ~= false,
    }
  end
  return out
end

-- Loads the configured file; called once per state when the module loads.
local function load()
  local path = config.get("sos_hospitals_file")
  if path == nil or path == "" then path = M.DEFAULT_FILE end
  local text, err = files.read(path)
  local list
  if text then list, err = M.parse(text) end
  if list then
    shared.set(SHARED_KEY, text)
    return list, true
  end
  log.error("sos hospital data rejected", { file = path, error = err })
  local previous = shared.get(SHARED_KEY)
  return previous and M.parse(previous) or {}, false
end

M.list, M.loaded = load()

-- Hospitals with an emergency department within `radius_km` of the point, nearest first, at
-- most `limit`.
function M.nearby(lat, lon, radius_km, limit)
  local found = {}
  for _, h in ipairs(M.list) do
    if h.emergency then
      local d = geo.distance_km(lat, lon, h.lat, h.lon)
      if d <= radius_km then found[#found + 1] = { hospital = h, distance = d } end
    end
  end
  table.sort(found, function(a, b)
    if a.distance ~= b.distance then return a.distance < b.distance end
    return a.hospital.id < b.hospital.id
  end)
  local out = json.array({})
  for i = 1, math.min(limit, #found) do
    local h = found[i].hospital
    out[i] = {
      id = h.id, name = h.name, lat = h.lat, lon = h.lon, distance_km = geo.round(found[i].distance, 2),
      address = h.address, phone = h.phone,
    }
  end
  return out
end

return M
