-- What the SOS service records outside its own tables: audit rows (06-sos §9, 02 §6) and the
-- emergency override consents (02 §8). Every audit call and consent write of the service is in
-- this file, so a change of those APIs touches only it.
--
-- The overrides live in the system's one consent store; the consent.* functions write them
-- there (in the caller's transaction) with the store's own rules.
local M = {}

local function is_owner(req, event)
  return req.user ~= nil and req.user.id == event.user_id
end

-- Emergency override (02 §8) -----------------------------------------------------------------

-- Creates the override of a new event (inside the trigger's transaction). Returns its id and
-- expiry instant.
function M.open_override(req, event, now)
  local id, expires = consent.open_emergency{
    user_id = event.user_id, emergency_id = event.id, granted_to_id = event.ambulance_id, expires_at = now + 24 * 3600,
  }
  audit.log{
    action = "emergency_override", resource_type = "consent", resource_id = id, subject = event.user_id,
    purpose = "emergency_sharing", consent_id = id, emergency_id = event.id,
    details = { granted_to_id = event.ambulance_id },
  }
  return id, expires
end

-- Ends the override of a resolved event, exactly this event's (inside the resolution's
-- transaction). Audited as the system's act, whoever's request noticed the resolution.
function M.end_override(event)
  local changed = consent.end_emergency(event.user_id, event.id)
  audit.log{
    action = "emergency_end", resource_type = "consent", resource_id = event.emergency_consent_id, subject = event.user_id,
    purpose = "system", actor_type = "system", emergency_id = event.id, consent_id = event.emergency_consent_id,
    details = { consents_revoked = changed },
  }
end

-- Revokes the overrides of events being deleted; returns how many were still in force.
function M.revoke_overrides(user_id, event_ids)
  local revoked = 0
  for _, id in ipairs(event_ids) do
    revoked = revoked + consent.end_emergency(user_id, id)
  end
  return revoked
end

-- "active", "expired" or "revoked" (also for a record that no longer exists) for the override
-- `consent_id`, with expiry evaluated now (the store writes `consent_expired` the first time).
function M.override_state(consent_id, now)
  if consent_id == nil or consent_id == json.null then return "revoked" end
  return consent.state(consent_id)
end

-- Audit (06-sos §9) ----------------------------------------------------------------------------

function M.event_created(event)
  audit.log{ action = "write", resource_type = "sos_event", resource_id = event.id, subject = event.user_id, purpose = "self" }
end

-- One row for the owner's read of their own events; one `emergency_access` row per event for a
-- responder or admin reading someone else's.
function M.events_read(req, events, resource_id)
  local own = 0
  for _, event in ipairs(events) do
    if is_owner(req, event) then
      own = own + 1
    else
      audit.log{
        action = "emergency_access", resource_type = "sos_event", resource_id = event.id, subject = event.user_id,
        purpose = "emergency_sharing", emergency_id = event.id, consent_id = event.emergency_consent_id,
      }
    end
  end
  if own > 0 or #events == 0 then
    audit.log{ action = "read", resource_type = "sos_event", resource_id = resource_id, purpose = "self", details = { count = own } }
  end
end

function M.emergency_data_read(req, event, responder_id)
  if is_owner(req, event) then
    audit.log{ action = "read", resource_type = "emergency_data", resource_id = event.id, purpose = "self", emergency_id = event.id }
  else
    audit.log{
      action = "emergency_access", resource_type = "emergency_data", resource_id = event.id, subject = event.user_id,
      purpose = "emergency_sharing", emergency_id = event.id, justification = responder_id,
      consent_id = event.emergency_consent_id,
    }
  end
end

function M.emergency_data_refused(req, event, responder_id, reason)
  audit.log{
    action = "access_denied", resource_type = "emergency_data", resource_id = event.id, subject = event.user_id,
    purpose = "emergency_sharing", emergency_id = event.id, justification = responder_id, success = false, error = reason,
    consent_id = event.emergency_consent_id,
  }
end

function M.profile_read(user_id)
  audit.log{ action = "read", resource_type = "emergency_profile", resource_id = user_id, purpose = "self" }
end

function M.profile_updated(user_id, fields)
  audit.log{ action = "update", resource_type = "emergency_profile", resource_id = user_id, purpose = "self", details = { fields = json.array(fields) } }
end

function M.history_deleted(user_id, events, consents_revoked)
  audit.log{
    action = "delete", resource_type = "sos_event", resource_id = user_id, purpose = "self",
    details = { events = events, consents_revoked = consents_revoked },
  }
end

function M.notification_delivered(event, name, contacts)
  audit.log{
    action = "data_shared", resource_type = "sos_event", resource_id = event.id, subject = event.user_id,
    purpose = "emergency_sharing", actor_type = "system", emergency_id = event.id, details = { event = name, contacts = contacts },
  }
end

return M
