-- SOS events (06-sos §2.2) and the ambulance simulation (§4.2, §4.3).
--
-- An event's movement is a pure function of the time since its trigger, its route and its travel
-- time, so bringing an event up to date is the same computation whoever does it (a read, the
-- sweep): only the resolution has effects, and a conditional update makes them happen once.
local geo = require("geo")
local records = require("sos_records")

local M = {}

M.TABLE = [[
CREATE TABLE sos_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  latitude REAL NOT NULL,
  longitude REAL NOT NULL,
  emergency_type TEXT NOT NULL,
  triggered_at TEXT NOT NULL,
  status TEXT NOT NULL,
  assigned_ambulance_id TEXT,
  ambulance_lat REAL,
  ambulance_lon REAL,
  route_coords TEXT,
  route_progress INTEGER NOT NULL DEFAULT 0,
  travel_seconds REAL NOT NULL,
  emergency_consent_id INTEGER,
  consent_expires_at TEXT,
  data_shared_to TEXT,
  resolved_at TEXT
)]]

M.ACTIVE = { Triggered = true, Acknowledged = true, OnTheWay = true }
-- Seconds between the trigger and the ambulance setting off (§4.2).
M.DISPATCH_SECONDS = 3
-- Number of segments of a straight-line route (31 points).
M.STRAIGHT_SEGMENTS = 30

local ACTIVE_SQL = "status IN ('Triggered', 'Acknowledged', 'OnTheWay') AND (consent_expires_at IS NULL OR consent_expires_at > ?)"

-- SOS_TRAVEL_SECONDS, default 60; fixed per event when it is triggered.
function M.travel_seconds()
  local seconds = tonumber(config.get("sos_travel_seconds", "60"))
  if not seconds or seconds <= 0 then return 60 end
  return seconds
end

-- Routes (§4.3) --------------------------------------------------------------------------------

local function point(lon, lat)
  return json.array({ geo.round(lon, 6), geo.round(lat, 6) })
end

function M.straight_route(a_lat, a_lon, u_lat, u_lon)
  local route = json.array({})
  local n = M.STRAIGHT_SEGMENTS
  for i = 0, n do
    route[#route + 1] = point(a_lon + (u_lon - a_lon) * i / n, a_lat + (u_lat - a_lat) * i / n)
  end
  return route
end

-- The first route of an OSRM-compatible router, or nil (any failure falls back).
local function routed(base, a_lat, a_lon, u_lat, u_lon)
  local url = string.format("%s/route/v1/driving/%.6f,%.6f;%.6f,%.6f?overview=full&geometries=geojson",
    (base:gsub("/+$", "")), a_lon, a_lat, u_lon, u_lat)
  local ok, res, err = pcall(http.request, { method = "GET", url = url, timeout = 5 })
  if not ok or not res or res.status ~= 200 then
    log.warn("sos router unavailable; using a straight line", { error = tostring(ok and (err or (res and res.status)) or res) })
    return nil
  end
  local body = json.decode(res.body)
  local coordinates = type(body) == "table" and type(body.routes) == "table" and type(body.routes[1]) == "table"
    and type(body.routes[1].geometry) == "table" and body.routes[1].geometry.coordinates
  if type(coordinates) ~= "table" or #coordinates < 2 then return nil end
  local route = json.array({})
  for _, c in ipairs(coordinates) do
    if type(c) ~= "table" or not geo.valid(c[2], c[1]) then return nil end
    route[#route + 1] = point(c[1], c[2])
  end
  return route
end

-- The route from the ambulance's start A to the user U: the router's when one is configured and
-- answers, else the straight line.
function M.route(a_lat, a_lon, u_lat, u_lon)
  local router = config.get("sos_router_url")
  if router and router ~= "" then
    local route = routed(router, a_lat, a_lon, u_lat, u_lon)
    if route then return route end
  end
  return M.straight_route(a_lat, a_lon, u_lat, u_lon)
end

-- Storage ------------------------------------------------------------------------------------

function M.find(id)
  return db.one("SELECT * FROM sos_events WHERE id = ?", id)
end

function M.of_user(user_id)
  return db.query("SELECT * FROM sos_events WHERE user_id = ? ORDER BY triggered_at DESC, id DESC", user_id)
end

-- Active events (§3.4) of one user, or of everyone when user_id is nil, newest first.
function M.active(user_id, now)
  if user_id then
    return db.query("SELECT * FROM sos_events WHERE user_id = ? AND " .. ACTIVE_SQL .. " ORDER BY triggered_at DESC, id DESC",
      user_id, time.iso(now))
  end
  return db.query("SELECT * FROM sos_events WHERE " .. ACTIVE_SQL .. " ORDER BY triggered_at DESC, id DESC", time.iso(now))
end

-- Records a triggered event with its dispatch (inside the trigger's transaction); returns its id.
function M.insert(event)
  local start = event.route[1]
  return db.exec([[
    INSERT INTO sos_events (user_id, latitude, longitude, emergency_type, triggered_at, status, assigned_ambulance_id,
        ambulance_lat, ambulance_lon, route_coords, route_progress, travel_seconds, data_shared_to)
    VALUES (?, ?, ?, ?, ?, 'Triggered', ?, ?, ?, ?, 0, ?, ?)]],
    event.user_id, event.latitude, event.longitude, event.emergency_type, event.timestamp, event.ambulance_id,
    start[2], start[1], json.encode(event.route), event.travel_seconds, event.ambulance_id).last_id
end

function M.acknowledge(id, consent_id, expires_at)
  db.exec("UPDATE sos_events SET status = 'Acknowledged', emergency_consent_id = ?, consent_expires_at = ? WHERE id = ?",
    consent_id, expires_at, id)
end

-- Deletes a user's events; returns their ids.
function M.delete_of_user(user_id)
  local ids = {}
  for _, row in ipairs(db.query("SELECT id FROM sos_events WHERE user_id = ?", user_id)) do ids[#ids + 1] = row.id end
  db.exec("DELETE FROM sos_events WHERE user_id = ?", user_id)
  return ids
end

-- Simulation (§4.2) ------------------------------------------------------------------------------

local function decode_route(event)
  if type(event.route_coords) ~= "string" then return {} end
  local route = json.decode(event.route_coords)
  return type(route) == "table" and route or {}
end

-- Status, progress and ambulance position of `event` at time `now` (Unix seconds).
function M.state_at(event, now)
  local started = time.parse(event.triggered_at)
  local travel = event.travel_seconds
  local elapsed = now - started
  local route = decode_route(event)
  local n = #route
  if elapsed >= M.DISPATCH_SECONDS + travel or n == 0 then
    return {
      status = "Resolved", route_progress = math.max(n - 1, 0), ambulance_lat = event.latitude, ambulance_lon = event.longitude,
      resolved_at = time.iso(started + M.DISPATCH_SECONDS + travel),
    }
  end
  local progress = 0
  local status = "Acknowledged"
  if elapsed >= M.DISPATCH_SECONDS then
    status = "OnTheWay"
    progress = math.min(math.floor((elapsed - M.DISPATCH_SECONDS) / travel * (n - 1)), n - 1)
  end
  local at = route[progress + 1]
  return { status = status, route_progress = progress, ambulance_lat = at[2], ambulance_lon = at[1] }
end

-- Brings a stored event up to date and returns it. The first caller to see it resolved revokes
-- its emergency override (with the audit row) in one transaction and hands `sos.resolved` to
-- `on_resolved`; everyone else just reads the result.
function M.refresh(event, now, on_resolved)
  if event.status == "Resolved" then return event end
  local state = M.state_at(event, now)
  if state.status == event.status and state.route_progress == event.route_progress then return event end
  if state.status ~= "Resolved" then
    db.exec([[UPDATE sos_events SET status = ?, route_progress = ?, ambulance_lat = ?, ambulance_lon = ?
      WHERE id = ? AND status <> 'Resolved']], state.status, state.route_progress, state.ambulance_lat, state.ambulance_lon, event.id)
    return M.find(event.id) or event
  end
  local first = db.transaction(function()
    local r = db.exec([[UPDATE sos_events SET status = 'Resolved', route_progress = ?, ambulance_lat = ?, ambulance_lon = ?,
        resolved_at = ? WHERE id = ? AND status <> 'Resolved']],
      state.route_progress, state.ambulance_lat, state.ambulance_lon, state.resolved_at, event.id)
    if r.changes == 0 then return false end
    records.end_override(event)
    return true
  end)
  local current = M.find(event.id) or event
  if first and on_resolved then on_resolved(current) end
  return current
end

-- SOSEvent (§2.2).
function M.to_json(row)
  return {
    id = row.id, user_id = row.user_id, latitude = row.latitude, longitude = row.longitude,
    emergency_type = row.emergency_type, timestamp = row.triggered_at, status = row.status,
    assigned_ambulance_id = row.assigned_ambulance_id, ambulance_lat = row.ambulance_lat, ambulance_lon = row.ambulance_lon,
    route_coords = row.route_coords, route_progress = row.route_progress,
    emergency_consent_id = row.emergency_consent_id, consent_expires_at = row.consent_expires_at,
    data_shared_to = row.data_shared_to, resolved_at = row.resolved_at,
  }
end

function M.list_json(rows)
  local out = json.array({})
  for i, row in ipairs(rows) do out[i] = M.to_json(row) end
  return out
end

return M
