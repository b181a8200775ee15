-- The emergency data set (06-sos §5): what a responder may see about a user, assembled from the
-- emergency profile and the account profile, then filtered by the profile's share flags.
--
-- Not yet included, because their services do not exist yet: health-record critical information
-- (blood group, allergies, chronic conditions marked share_in_emergency) and active
-- medicine-reminder medications. Each is one more source in `collect` when it lands.
local accounts = require("accounts")
local profile = require("sos_profile")

local M = {}

M.NOTICE = "This data is shared under emergency consent as per DPDP Act 2023. Access is time-limited and audited."

-- Lists joined in order without case-insensitive duplicates (the first spelling wins).
local function union(...)
  local out, seen = json.array({}), {}
  for _, list in ipairs({ ... }) do
    for _, item in ipairs(list or {}) do
      local key = type(item) == "string" and item:lower() or nil
      if key and not seen[key] then
        seen[key] = true
        out[#out + 1] = item
      end
    end
  end
  return out
end

local function first(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= json.null and v ~= "" then return v end
  end
  return nil
end

-- Every item of the set with the profile's flags, before filtering.
function M.collect(user_id)
  local p = profile.view(profile.find(user_id))
  local account = accounts.profile(user_id) or {}
  local contacts = p.emergency_contacts
  if #contacts == 0 and (first(account.emergency_contact) or first(account.emergency_phone)) then
    contacts = json.array({ {
      name = first(account.emergency_contact, "Emergency contact"), phone = first(account.emergency_phone) or json.null,
      relationship = json.null,
    } })
  end
  return {
    flags = p,
    name = first(p.name, account.name),
    age = first(p.age, account.age),
    blood_group = first(p.blood_group, account.blood_group),
    allergies = union(p.allergies, account.allergies),
    chronic_conditions = union(p.chronic_conditions, account.conditions),
    current_medications = union(p.current_medications),
    emergency_contacts = contacts,
    organ_donor = p.organ_donor,
    insurance_provider = p.insurance_provider,
    insurance_id = p.insurance_id,
  }
end

-- The shareable part: a field whose flag is off is null (scalars) or [] (lists).
function M.shareable(set)
  local f = set.flags
  local function scalar(on, v) if on and v ~= nil then return v end return json.null end
  local function list(on, v) if on then return v end return json.array({}) end
  return {
    name = scalar(f.share_name, set.name),
    age = scalar(f.share_age, set.age),
    blood_group = scalar(f.share_blood_group, set.blood_group),
    allergies = list(f.share_allergies, set.allergies),
    chronic_conditions = list(f.share_chronic_conditions, set.chronic_conditions),
    current_medications = list(f.share_current_medications, set.current_medications),
    emergency_contacts = list(f.share_emergency_contacts, set.emergency_contacts),
    organ_donor = scalar(f.share_organ_donor_status, set.organ_donor),
    insurance_provider = scalar(f.share_insurance_info, set.insurance_provider),
    insurance_id = scalar(f.share_insurance_info, set.insurance_id),
  }
end

-- EmergencyDataResponse (§2.5) for an event.
function M.for_event(event)
  local out = M.shareable(M.collect(event.user_id))
  out.user_id = event.user_id
  out.latitude, out.longitude = event.latitude, event.longitude
  out.emergency_type, out.status = event.emergency_type, event.status
  out.consent_id, out.expires_at = event.emergency_consent_id, event.consent_expires_at
  out.dpdp_notice = M.NOTICE
  return out
end

return M
