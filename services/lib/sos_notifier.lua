-- The notifier (06-sos §6): every event is logged; with SOS_WEBHOOK_URL it is also posted, signed
-- with SOS_WEBHOOK_SECRET when one is set. Delivery runs after the answer has been sent (spawn),
-- so a slow or dead receiver never delays or fails the request that caused the event.
local emergency = require("sos_emergency")
local records = require("sos_records")

local M = {}

M.ATTEMPTS = 3
-- Waits before the second and third attempts, in milliseconds.
M.BACKOFF_MS = { 1000, 4000 }
M.TIMEOUT_SECONDS = 5

-- The webhook body: the event without health details, the user's name when it may be shared,
-- and the contacts when the user wants them told and allows sharing them.
function M.payload(name, event)
  local set = emergency.collect(event.user_id)
  local shareable = emergency.shareable(set)
  local contacts = json.array({})
  if set.flags.auto_notify_emergency_contacts and set.flags.share_emergency_contacts then
    for _, c in ipairs(set.emergency_contacts) do
      contacts[#contacts + 1] = { name = c.name or json.null, phone = c.phone or json.null, relationship = c.relationship or json.null }
    end
  end
  return {
    event = name, sos_id = event.id, user_id = event.user_id, timestamp = event.triggered_at,
    emergency_type = event.emergency_type, status = event.status, latitude = event.latitude, longitude = event.longitude,
    assigned_ambulance_id = event.assigned_ambulance_id, user_name = shareable.name, contacts = contacts,
  }
end

-- Posts `body` with retries; true once a receiver answered 2xx.
local function deliver(url, name, event, body, contacts)
  local headers = { ["Content-Type"] = "application/json", ["X-MySehat-Event"] = name }
  local secret = config.get("sos_webhook_secret")
  if secret and secret ~= "" then headers["X-MySehat-Signature"] = "sha256=" .. crypto.hmac_sha256(secret, body) end
  for attempt = 1, M.ATTEMPTS do
    local ok, res, err = pcall(http.request, { method = "POST", url = url, headers = headers, body = body, timeout = M.TIMEOUT_SECONDS })
    if ok and res and res.status >= 200 and res.status < 300 then
      records.notification_delivered(event, name, contacts)
      log.info("sos webhook delivered", { event = name, sos_id = event.id, attempt = attempt })
      return true
    end
    log.warn("sos webhook attempt failed", {
      event = name, sos_id = event.id, attempt = attempt,
      status = ok and res and res.status or nil, error = (not ok and tostring(res)) or err,
    })
    if attempt < M.ATTEMPTS then sleep(M.BACKOFF_MS[attempt]) end
  end
  log.error("sos webhook not delivered", { event = name, sos_id = event.id, attempts = M.ATTEMPTS })
  return false
end

-- Hands `name` ("sos.triggered", "sos.resolved") for `event` (a stored row) to the notifier.
function M.notify(name, event)
  log.info(name, { event = name, sos_id = event.id, user_id = event.user_id, status = event.status })
  local url = config.get("sos_webhook_url")
  if not url or url == "" then return end
  spawn(function()
    local payload = M.payload(name, event)
    deliver(url, name, event, json.encode(payload), #payload.contacts)
  end)
end

return M
