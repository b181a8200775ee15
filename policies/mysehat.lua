-- Named policies the routing tables refer to (00-conventions §2.3, §9; 01-auth §6).
-- Order of checks on a request: CORS preflight, body size, rate limits, auth, roles, consent,
-- access hook, target. Sizes accept "16KB", "1MB", "12MiB"; rate limits are token buckets.

local user_rate = { per_minute = 300, key = "user" }

return {
  -- No token needed; a token, if sent, is ignored.
  public = { auth = "none" },

  -- Any valid bearer token; acts on the caller's own data.
  user = { auth = "jwt", rate_limit = user_rate },

  -- The SOS trigger is exempt from the per-user rate limit (06-sos §1).
  user_unlimited = { auth = "jwt" },

  admin = { auth = "jwt", roles = { "admin" }, rate_limit = user_rate },

  -- Login protection (01-auth §6): per phone number and per client IP.
  otp = {
    auth = "none", max_body = "16KB",
    rate_limit = {
      { limit = 1, period = 30, key = "body.phone_number", message = "Too many OTP requests. Try again later." },
      { limit = 5, period = 3600, key = "body.phone_number", message = "Too many OTP requests. Try again later." },
      { limit = 20, period = 3600, key = "ip", message = "Too many OTP requests. Try again later." },
    },
  },
  login = {
    auth = "none", max_body = "16KB",
    rate_limit = {
      { per_minute = 5, key = "body.phone_number", message = "Too many login attempts. Try again later." },
      { per_minute = 10, key = "ip", message = "Too many login attempts. Try again later." },
    },
  },
  signup = {
    auth = "none", max_body = "64KB",
    rate_limit = { per_minute = 10, key = "ip", message = "Too many requests" },
  },

  -- Symptom triage: anonymous use allowed (60/minute per IP); signed-in callers need consent.
  triage = {
    auth = "optional", consent = "ai_symptom_checker",
    rate_limit = {
      { per_minute = 60, key = "ip", applies_to = "anonymous" },
      { per_minute = 300, key = "user", applies_to = "users" },
    },
  },
  triage_upload = {
    auth = "optional", consent = "ai_symptom_checker", max_body = "12MiB", timeout = 60,
    rate_limit = {
      { per_minute = 60, key = "ip", applies_to = "anonymous" },
      { per_minute = 300, key = "user", applies_to = "users" },
    },
  },
  -- Session reads and deletes: optional identity, no consent (03-diagnostics §1).
  triage_session = {
    auth = "optional",
    rate_limit = {
      { per_minute = 60, key = "ip", applies_to = "anonymous" },
      { per_minute = 300, key = "user", applies_to = "users" },
    },
  },

  medicine = { auth = "jwt", consent = "medicine_reminders", rate_limit = user_rate },
  medicine_upload = { auth = "jwt", consent = "medicine_reminders", max_body = "12MiB", rate_limit = user_rate },

  fhir = { auth = "jwt", errors = "fhir", rate_limit = user_rate },
  fhir_public = { auth = "none", errors = "fhir" },

  records_upload = { auth = "jwt", consent = "health_record_storage", max_body = "12MiB", timeout = 120, rate_limit = user_rate },
}
