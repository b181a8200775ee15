-- SOS: emergency trigger, ambulance tracking and the emergency profile (06-sos).
--
-- Identity comes only from req.user (the gateway verified the token); self paths and a body or
-- query `user_id` are claims that must equal it. Roles `responder` and `admin` see every active
-- event and, while an event's emergency override is in force, its emergency data.
local validate = require("validate")
local events = require("sos_events")
local profile = require("sos_profile")
local emergency = require("sos_emergency")
local records = require("sos_records")
local notifier = require("sos_notifier")
local hospitals = require("sos_hospitals")
local map = require("sos_map")

-- Own tables: sos, sos_*. accounts.lua reads the account's emergency fields from users.
local sos = service("sos", { tables = { read = { "users" } } })

sos:migrate{
  events.TABLE,
  "CREATE INDEX sos_events_user ON sos_events (user_id, triggered_at)",
  "CREATE INDEX sos_events_status ON sos_events (status)",
  profile.TABLE,
}

local NOT_FOUND = { detail = "SOS Event not found" }
local CLAIM_MISMATCH = { detail = "user_id does not match the authenticated user" }

local function is_responder(req)
  return req.user.role == "responder" or req.user.role == "admin"
end

local function claim_mismatch(req, claimed)
  return claimed ~= nil and claimed ~= json.null and claimed ~= "" and tostring(claimed) ~= req.user.id
end

-- A handler for signed-in callers: the caller must be signed in (the route policy ensures it)
-- and every identity claim (a self-path `{user_id}`, a `user_id` query parameter) must name them.
local function signed_in(handler)
  return function(req)
    if not req.user then return 401, { detail = "Invalid or expired token" }, { ["WWW-Authenticate"] = "Bearer" } end
    if claim_mismatch(req, req.params.user_id) or claim_mismatch(req, req.query.user_id) then return 403, CLAIM_MISMATCH end
    return handler(req)
  end
end

local function resolved(event)
  notifier.notify("sos.resolved", event)
end

-- The event the caller may see (owner, responder, admin) brought up to date, or nil and an answer.
local function visible_event(req)
  local v = validate.new()
  local id = v:integer({ "path", "sos_id" }, req.params.sos_id, { required = true })
  if not v:ok() then return nil, v:response() end
  local event = events.find(id)
  if not event or (event.user_id ~= req.user.id and not is_responder(req)) then return nil, 404, NOT_FOUND end
  return events.refresh(event, time.now(), resolved)
end

-- Public -------------------------------------------------------------------------------------

sos:get("/", function(req)
  return 200, { message = "SOS Backend Module is running. Go to /docs for Swagger UI.", dpdp_compliant = true }
end, { summary = "SOS service root" })

sos:get("/health", function(req)
  return 200, { status = "ok", service = "sos_backend", dpdp_compliant = true }
end, { summary = "SOS service health" })

sos:get("/map", function(req)
  return 200, map.HTML, {
    ["Content-Type"] = "text/html; charset=utf-8", ["Content-Security-Policy"] = map.CONTENT_SECURITY_POLICY,
  }
end, { summary = "Live SOS map page" })

-- Trigger (§3.3, §4.1) -----------------------------------------------------------------------

sos:post("/", signed_in(function(req)
  local body, status, problem = validate.json_object(req)
  if not body then return status, problem end
  local v = validate.new()
  local claimed = v:string({ "body", "user_id" }, body.user_id, { nullable = true })
  local lat = v:number({ "body", "latitude" }, body.latitude, { required = true, ge = -90, le = 90, parent = body })
  local lon = v:number({ "body", "longitude" }, body.longitude, { required = true, ge = -180, le = 180, parent = body })
  local kind = v:string({ "body", "emergency_type" }, body.emergency_type, { required = true, min = 1, max = 50, parent = body })
  if not v:ok() then return v:response() end
  if claim_mismatch(req, claimed) then return 403, CLAIM_MISMATCH end

  -- Dispatch: a simulated ambulance somewhere near the user, and its route (computed before the
  -- transaction: a router call must not hold the database).
  local now = time.now()
  local ambulance = "AMB-" .. math.random(100, 999)
  local start_lat = lat + (math.random() * 0.04 - 0.02)
  local start_lon = lon + (math.random() * 0.04 - 0.02)
  local route = events.route(start_lat, start_lon, lat, lon)

  local event = db.transaction(function()
    local new = {
      user_id = req.user.id, latitude = lat, longitude = lon, emergency_type = kind, timestamp = time.iso(now),
      ambulance_id = ambulance, route = route, travel_seconds = events.travel_seconds(),
    }
    new.id = events.insert(new)
    local consent_id, expires_at = records.open_override(req, new, now)
    events.acknowledge(new.id, consent_id, expires_at)
    local stored = events.find(new.id)
    records.event_created(stored)
    return stored
  end)
  notifier.notify("sos.triggered", event)
  return 200, events.to_json(event)
end), { summary = "Trigger an SOS" })

-- Reading events (§3.4, §3.5, §3.9) ----------------------------------------------------------

sos:get("/active", signed_in(function(req)
  local now = time.now()
  local found = events.active(not is_responder(req) and req.user.id or nil, now)
  local active = {}
  for _, event in ipairs(found) do
    local current = events.refresh(event, now, resolved)
    if events.ACTIVE[current.status] then active[#active + 1] = current end
  end
  records.events_read(req, active)
  return 200, events.list_json(active)
end), { summary = "Active SOS events (own; every one for responders and admins)" })

sos:get("/user/{user_id}", signed_in(function(req)
  local now = time.now()
  local history = {}
  for i, event in ipairs(events.of_user(req.user.id)) do history[i] = events.refresh(event, now, resolved) end
  records.events_read(req, history)
  return 200, events.list_json(history)
end), { summary = "The caller's SOS history" })

sos:delete("/user/{user_id}/history", signed_in(function(req)
  local user_id = req.user.id
  local deleted = db.transaction(function()
    local ids = events.delete_of_user(user_id)
    local revoked = records.revoke_overrides(user_id, ids)
    profile.delete(user_id)
    records.history_deleted(user_id, #ids, revoked)
    return #ids
  end)
  return 200, { message = "Deleted " .. deleted .. " SOS events and emergency profile", dpdp_compliant = true }
end), { summary = "Delete the caller's SOS history and emergency profile" })

-- Emergency profile (§3.7, §3.8) -------------------------------------------------------------

sos:get("/emergency-profile/{user_id}", signed_in(function(req)
  local row = profile.get_or_create(req.user.id)
  records.profile_read(req.user.id)
  return 200, profile.to_json(row)
end), { summary = "The caller's emergency profile" })

sos:put("/emergency-profile/{user_id}", signed_in(function(req)
  local body, status, problem = validate.json_object(req)
  if not body then return status, problem end
  if claim_mismatch(req, body.user_id) then return 403, CLAIM_MISMATCH end
  local set, names, problems = profile.changes(body)
  if problems then return problems:response() end
  local row = db.transaction(function()
    local stored = profile.apply(req.user.id, set, names)
    records.profile_updated(req.user.id, names)
    return stored
  end)
  return 200, profile.to_json(row)
end), { summary = "Create or update the caller's emergency profile" })

-- Nearby hospitals (§3.11) -------------------------------------------------------------------

sos:get("/hospitals/nearby", signed_in(function(req)
  local q = req.query
  local v = validate.new()
  local lat = v:number({ "query", "lat" }, q.lat, { required = true, ge = -90, le = 90, empty_is_absent = true })
  local lon = v:number({ "query", "lon" }, q.lon, { required = true, ge = -180, le = 180, empty_is_absent = true })
  local radius = v:number({ "query", "radius_km" }, q.radius_km, { ge = 0.1, le = 100, empty_is_absent = true })
  local limit = v:integer({ "query", "limit" }, q.limit, { ge = 1, le = 50, empty_is_absent = true })
  if not v:ok() then return v:response() end
  return 200, hospitals.nearby(lat, lon, radius or 10, limit or 10)
end), { summary = "Hospitals with an emergency department near a point" })

-- One event (§3.5, §3.6); after the literal paths above, which win over {sos_id} -------------

sos:get("/{sos_id}", signed_in(function(req)
  local event, status, problem = visible_event(req)
  if not event then return status, problem end
  records.events_read(req, { event }, event.id)
  return 200, events.to_json(event)
end), { summary = "One SOS event, brought up to date" })

sos:get("/{sos_id}/emergency-data", signed_in(function(req)
  local v = validate.new()
  local responder_id = v:string({ "query", "responder_id" }, req.query.responder_id, { max = 100 })
  if not v:ok() then return v:response() end
  local event, status, problem = visible_event(req)
  if not event then return status, problem end
  if event.user_id ~= req.user.id then
    local override = records.override_state(event.emergency_consent_id, time.now())
    if override ~= "active" then
      records.emergency_data_refused(req, event, responder_id, "consent_" .. override)
      if override == "expired" then return 403, { detail = "Emergency consent has expired" } end
      return 403, { detail = "Emergency consent is no longer active" }
    end
  end
  local data = emergency.for_event(event)
  records.emergency_data_read(req, event, responder_id)
  return 200, data
end), { summary = "Emergency data of an SOS event's user" })

-- Background, health and user rights ----------------------------------------------------------

-- Brings unread active events up to date, so overrides end on time (§4.2).
sos:every(tonumber(config.get("sos_sweep_seconds", "10")) or 10, function()
  local now = time.now()
  for _, event in ipairs(events.active(nil, now)) do events.refresh(event, now, resolved) end
end)

-- Degraded while the hospital data file could not be loaded (§3.2).
sos:health(function()
  return hospitals.loaded and 200 or 503
end)

sos:on_export(function(user_id)
  local row = profile.find(user_id)
  return { events = events.list_json(events.of_user(user_id)), emergency_profile = row and profile.to_json(row) or json.null }
end)

-- Runs inside the erasure's transaction; the erasure deletes the consent records itself.
sos:on_erase(function(user_id)
  return #events.delete_of_user(user_id) + profile.delete(user_id)
end)

return sos
