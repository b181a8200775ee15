-- The public path space of MySehat (00-conventions §1, 09-route-reference).
--
-- Precedence: exact paths, then the longest prefix, then parameterised paths. A prefix route hands
-- its service the path without the prefix (/auth/login -> /login); `rewrite` hands it another
-- path, which is how aliases are written. Lines marked `optional = true` wait for a service that
-- is not built into this binary yet: they are skipped with a warning until it exists.

-- The consent service's endpoints, also published under each area's prefix (02 §5): consent/*,
-- my-data and audit/my (chain verification stays admin-only under /api/v1).
local function dpdp_aliases(area)
  return {
    { prefix = area .. "/api/v1/consent", service = "consent", rewrite = "/consent", policy = "user", optional = true },
    { prefix = area .. "/api/v1/my-data", service = "consent", rewrite = "/my-data", policy = "user", optional = true },
    { path = area .. "/api/v1/audit/my", service = "consent", rewrite = "/audit/my", policy = "user", methods = { "GET" }, optional = true },
  }
end

local routes = {
  -- Accounts, OTP login, tokens (01-auth).
  { path = "/auth", service = "auth", rewrite = "/", policy = "public", methods = { "GET" } },
  { path = "/auth/health", service = "auth", rewrite = "/health", policy = "public", methods = { "GET" } },
  { path = "/auth/otp/request", service = "auth", rewrite = "/otp/request", policy = "otp", methods = { "POST" } },
  { path = "/auth/login", service = "auth", rewrite = "/login", policy = "login", methods = { "POST" } },
  { path = "/auth/signup", service = "auth", rewrite = "/signup", policy = "signup", methods = { "POST" } },
  { prefix = "/auth/users", service = "auth", rewrite = "/users", policy = "admin" },
  { prefix = "/auth", service = "auth", policy = "user" },

  -- DPDP consent, rights and audit (02). GET /api/v1/consent is the guide's alias of /consent/my.
  { path = "/api/v1/consent", service = "consent", rewrite = "/consent/my", policy = "user", methods = { "GET" }, optional = true },
  { path = "/api/v1/audit/verify", service = "consent", rewrite = "/audit/verify", policy = "admin", optional = true },
  { prefix = "/api/v1", service = "consent", policy = "user", optional = true },

  -- Symptom triage (03): anonymous allowed; signed-in callers need consent ai_symptom_checker.
  { path = "/diagnostics", service = "diagnostics", rewrite = "/", policy = "public", methods = { "GET" }, optional = true },
  { path = "/diagnostics/health", service = "diagnostics", rewrite = "/health", policy = "public", methods = { "GET" }, optional = true },
  { path = "/diagnostics/api/v1/triage/disclaimer", service = "diagnostics", rewrite = "/api/v1/triage/disclaimer", policy = "public", methods = { "GET" }, optional = true },
  { path = "/diagnostics/api/v1/triage/image", service = "diagnostics", rewrite = "/api/v1/triage/image", policy = "triage_upload", methods = { "POST" }, optional = true },
  { path = "/diagnostics/triage", service = "diagnostics", rewrite = "/api/v1/triage/text", policy = "triage", methods = { "POST" }, optional = true },
  { prefix = "/diagnostics/api/v1/triage/session", service = "diagnostics", rewrite = "/api/v1/triage/session", policy = "triage_session", methods = { "GET", "DELETE" }, optional = true },
  { prefix = "/diagnostics", service = "diagnostics", policy = "triage", optional = true },

  -- Medicine reminders (04).
  { path = "/medicine-reminder", service = "lua:medicine", rewrite = "/", policy = "public", methods = { "GET" }, optional = true, name = "medicine" },
  { path = "/medicine-reminder/health", service = "lua:medicine", rewrite = "/health", policy = "public", methods = { "GET" }, optional = true, name = "medicine" },
  { path = "/medicine-reminder/admin/init-db", service = "lua:medicine", rewrite = "/admin/init-db", policy = "admin", optional = true, name = "medicine" },
  { path = "/medicine-reminder/prescriptions/upload", service = "lua:medicine", rewrite = "/prescriptions/upload", policy = "medicine_upload", optional = true, name = "medicine" },
  { prefix = "/medicine-reminder/my-data", service = "lua:medicine", rewrite = "/my-data", policy = "user", optional = true, name = "medicine" },
  { prefix = "/medicine-reminder/uploads", service = "lua:medicine", rewrite = "/uploads", policy = "user", optional = true, name = "medicine" },
  { prefix = "/medicine-reminder", service = "lua:medicine", policy = "medicine", optional = true, name = "medicine" },

  -- Mental-health companion (05).
  { path = "/mental-health/health", service = "mental-health", rewrite = "/health", policy = "public", methods = { "GET" }, optional = true },
  { prefix = "/mental-health/external", service = "mental-health", rewrite = "/external", policy = "public", optional = true },
  { prefix = "/mental-health", service = "mental-health", policy = "user", optional = true },

  -- SOS (06): the trigger is exempt from the per-user rate limit; /sos/trigger is the guide's alias.
  { path = "/sos", service = "lua:sos", rewrite = "/", policy = "user_unlimited", methods = { "POST" }, optional = true },
  { path = "/sos/trigger", service = "lua:sos", rewrite = "/", policy = "user_unlimited", methods = { "POST" }, optional = true },
  { path = "/sos", service = "lua:sos", rewrite = "/", policy = "public", methods = { "GET" }, optional = true },
  { path = "/sos/health", service = "lua:sos", rewrite = "/health", policy = "public", methods = { "GET" }, optional = true },
  { path = "/sos/map", service = "lua:sos", rewrite = "/map", policy = "public", methods = { "GET" }, optional = true },
  { prefix = "/sos", service = "lua:sos", policy = "user", optional = true },

  -- FHIR R4 (07): errors as OperationOutcome.
  { path = "/fhir", service = "fhir", rewrite = "/", policy = "fhir_public", methods = { "GET" }, optional = true },
  { path = "/fhir/health", service = "fhir", rewrite = "/health", policy = "fhir_public", methods = { "GET" }, optional = true },
  { path = "/fhir/metadata", service = "fhir", rewrite = "/metadata", policy = "fhir_public", methods = { "GET" }, optional = true },
  { prefix = "/fhir", service = "fhir", policy = "fhir", optional = true },

  -- Health records (08). /health-records/records is the guide's alias of .../list.
  { path = "/health-records", service = "health-records", rewrite = "/", policy = "public", methods = { "GET" }, optional = true },
  { path = "/health-records/health", service = "health-records", rewrite = "/health", policy = "public", methods = { "GET" }, optional = true },
  { path = "/health-records/records", service = "health-records", rewrite = "/api/v1/health-records/list", policy = "user", methods = { "GET" }, optional = true },
  { path = "/health-records/api/v1/health-records/analyze", service = "health-records", rewrite = "/api/v1/health-records/analyze", policy = "records_upload", optional = true },
  { path = "/health-records/api/v1/health-records/save", service = "health-records", rewrite = "/api/v1/health-records/save", policy = "records_upload", optional = true },
  { path = "/health-records/api/v1/health-records/upload", service = "health-records", rewrite = "/api/v1/health-records/upload", policy = "records_upload", optional = true },
  { path = "/health-records/api/v1/health-records/cleanup-expired", service = "health-records", rewrite = "/api/v1/health-records/cleanup-expired", policy = "admin", optional = true },
  { prefix = "/health-records", service = "health-records", policy = "user", optional = true },
}

for _, area in ipairs({ "/diagnostics", "/medicine-reminder", "/mental-health", "/sos", "/health-records" }) do
  for _, alias in ipairs(dpdp_aliases(area)) do routes[#routes + 1] = alias end
end

return routes
