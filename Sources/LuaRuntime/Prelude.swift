/// Lua code run once in every state before any config file. It builds the sandbox's base
/// environment from the host functions Swift registered in `__host`, and removes everything else.
///
/// Kept in Lua because it is mostly table plumbing; everything that touches the outside world is a
/// host function.
enum Prelude {
    static let source = #"""
local host, HOST_TAG = ...
local raw = {
  resume = coroutine.resume, yield = coroutine.yield, status = coroutine.status,
  create = coroutine.create, running = coroutine.running, isyieldable = coroutine.isyieldable,
  close = coroutine.close,
}
local pack, unpack, select, type, error, setmetatable, getmetatable, rawequal =
  table.pack, table.unpack, select, type, error, setmetatable, getmetatable, rawequal

-- Coroutines the script creates must not swallow the host's I/O yields: a host yield inside a
-- script coroutine is passed up to the request coroutine and its results passed back down.
local function resume(co, ...)
  local r = pack(raw.resume(co, ...))
  while r[1] and r.n >= 2 and rawequal(r[2], HOST_TAG) and raw.status(co) == "suspended" do
    r = pack(raw.resume(co, raw.yield(HOST_TAG)))
  end
  return unpack(r, 1, r.n)
end

local function wrap(f)
  local co = raw.create(f)
  return function(...)
    local r = pack(resume(co, ...))
    if not r[1] then error(r[2], 2) end
    return unpack(r, 2, r.n)
  end
end

local safe_coroutine = {
  create = raw.create, resume = resume, wrap = wrap, yield = raw.yield, status = raw.status,
  running = raw.running, isyieldable = raw.isyieldable, close = raw.close,
}

local function copy(t, only)
  local out = {}
  if only then
    for _, k in ipairs(only) do out[k] = t[k] end
  else
    for k, v in pairs(t) do out[k] = v end
  end
  return out
end

local safe_string = copy(string)
safe_string.dump = nil

-- The base every file's environment reads through. Files write their globals to their own
-- environment table, never here.
local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  print = host.print, rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
  select = select, setmetatable = setmetatable, getmetatable = getmetatable, tonumber = tonumber,
  tostring = tostring, type = type, xpcall = xpcall, _VERSION = _VERSION,
  string = safe_string, table = copy(table), math = copy(math), utf8 = copy(utf8),
  coroutine = safe_coroutine,
  os = copy(os, { "time", "clock", "date", "difftime" }),
}

-- load: text chunks only, and always inside the sandbox.
base.load = function(chunk, name, mode, env)
  if mode ~= nil and mode ~= "t" then return nil, "only text chunks can be loaded" end
  return load(chunk, name, "t", env or base)
end

-- json ----------------------------------------------------------------------------------------
local json = { null = host.json_null, encode = host.json_encode, decode = host.json_decode }
local array_mt = host.json_array_mt
function json.array(t)
  return setmetatable(t or {}, array_mt)
end
function json.is_array(t) return getmetatable(t) == array_mt end
base.json = json

-- log -----------------------------------------------------------------------------------------
base.log = {
  debug = function(msg, fields) host.log("debug", msg, fields) end,
  info = function(msg, fields) host.log("info", msg, fields) end,
  warn = function(msg, fields) host.log("warning", msg, fields) end,
  error = function(msg, fields) host.log("error", msg, fields) end,
}

base.spawn = host.spawn

-- Further primitives (db, http, groq, jwt, time, ...) registered by the host.
for name, value in pairs(host.extra or {}) do base[name] = value end

-- db.transaction(fn): commit when fn returns, roll back when it raises. A budget kill inside fn
-- never returns here; the host rolls back for it.
if base.db then
  local begin, finish = base.db.begin, base.db.finish
  local db = { query = base.db.query, one = base.db.one, exec = base.db.exec }
  function db.transaction(fn)
    if type(fn) ~= "function" then error("db.transaction expects a function", 2) end
    begin()
    local result = pack(pcall(fn))
    if result[1] then
      finish(true)
      return unpack(result, 2, result.n)
    end
    finish(false)
    error(result[2], 0)
  end
  base.db = db
end

-- services ------------------------------------------------------------------------------------
local services = {}
local Service = {}
Service.__index = Service

local function add_route(method)
  return function(self, path, fn, info)
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
      error("route path must be a string starting with '/'", 2)
    end
    if type(fn) ~= "function" then error("route handler must be a function", 2) end
    if info ~= nil and type(info) ~= "table" then error("route info must be a table", 2) end
    local routes = self.routes
    routes[#routes + 1] = { method = method, path = path, fn = fn, info = info }
    return self
  end
end
Service.get = add_route("GET")
Service.post = add_route("POST")
Service.put = add_route("PUT")
Service.patch = add_route("PATCH")
Service.delete = add_route("DELETE")

-- service:migrate{ "CREATE TABLE ...", "ALTER TABLE ..." }: version i is migrations[i], applied
-- once per database and recorded under the service's name.
function Service:migrate(list)
  if type(list) ~= "table" then error("migrate expects a list of SQL strings", 2) end
  for i, sql in ipairs(list) do
    if type(sql) ~= "string" then error("migration " .. i .. " must be an SQL string", 2) end
  end
  self.migrations = list
  return self
end

-- The service's part of the user's rights (02 §4.5-4.6): on_export(fn(user_id) -> table) and
-- on_erase(fn(user_id) -> number deleted). Erase runs inside the erasure's single transaction:
-- db calls in it are part of that transaction.
function Service:on_export(fn)
  if type(fn) ~= "function" then error("on_export expects a function", 2) end
  self.export_hook = fn
  return self
end

function Service:on_erase(fn)
  if type(fn) ~= "function" then error("on_erase expects a function", 2) end
  self.erase_hook = fn
  return self
end

-- service:every(seconds, fn): fn() runs every `seconds` (at least 0.1) on one state of the
-- current configuration, outside any request (req.user is nil, audit rows name the system).
function Service:every(seconds, fn)
  if type(seconds) ~= "number" or seconds < 0.1 then error("every expects an interval of at least 0.1 seconds", 2) end
  if type(fn) ~= "function" then error("every expects a function", 2) end
  local jobs = self.jobs
  jobs[#jobs + 1] = { interval = seconds, fn = fn }
  return self
end

function Service:health(fn)
  if type(fn) ~= "function" then error("health check must be a function", 2) end
  self.health_check = fn
  return self
end

-- service(name, { tables = { read = { "users" }, write = { ... } } }): the tables a service may
-- use beyond its own (`name`, `name_*`), as lower-case lists. Errors point at the service() call.
local never_writable = {}
for _, table_name in ipairs(host.never_writable_tables) do never_writable[table_name] = true end
local grant_kinds = { read = true, write = true }

local function table_grants(tables)
  if tables == nil then return { read = {}, write = {} } end
  if type(tables) ~= "table" then error("tables must be a table like { read = { \"users\" } }", 3) end
  for key in pairs(tables) do
    if not grant_kinds[key] then error("unknown key '" .. tostring(key) .. "' in tables (use read or write)", 3) end
  end
  local grants = {}
  for kind in pairs(grant_kinds) do
    local list = tables[kind] or {}
    if type(list) ~= "table" then error("tables." .. kind .. " must be a list of table names", 3) end
    local names = {}
    for key, table_name in pairs(list) do
      if math.type(key) ~= "integer" or type(table_name) ~= "string" or table_name == "" then
        error("tables." .. kind .. " must be a list of table names (strings)", 3)
      end
      table_name = table_name:lower()
      if kind == "write" and never_writable[table_name] then
        error("table '" .. table_name .. "' cannot be granted for writing to a Lua service", 3)
      end
      names[#names + 1] = table_name
    end
    grants[kind] = names
  end
  return grants
end

local service_options = { instructions = true, tables = true }
-- Validated grants by service name. Kept here, out of the scripts' reach: a field on the service
-- object could be rewritten by the script after service() checked it.
local granted_tables = {}

base.service = function(name, options)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    error("service name must be letters, digits, '_' or '-'", 2)
  end
  if services[name] then error("service '" .. name .. "' is declared twice", 2) end
  if options ~= nil and type(options) ~= "table" then error("service options must be a table", 2) end
  for key in pairs(options or {}) do
    if not service_options[key] then error("unknown service option '" .. tostring(key) .. "'", 2) end
  end
  local instructions = options and options.instructions
  if instructions ~= nil and (math.type(instructions) ~= "integer" or instructions <= 0) then
    error("instructions must be a positive integer", 2)
  end
  granted_tables[name] = table_grants(options and options.tables)
  local s = setmetatable({ name = name, routes = {}, jobs = {}, file = host.current_file(), instructions = instructions }, Service)
  services[name] = s
  return s
end

-- Request objects -----------------------------------------------------------------------------
local Request = {}
Request.__index = Request
function Request:json()
  if self._json == nil then
    local value, err = json.decode(self.body)
    if err then host.bad_json() end
    self._json = value
  end
  return self._json
end
function Request:form()
  if self._form == nil then self._form = host.form() end
  return self._form
end

-- require: modules from the config folder only, each run once per state in its own environment.
local loaded, loading = {}, {}
base.require = function(name)
  if type(name) ~= "string" then error("require expects a module name", 2) end
  if loaded[name] ~= nil then return loaded[name] end
  if loading[name] then error("module '" .. name .. "' is required while it loads (a cycle)", 2) end
  local code, path = host.module_source(name)
  if not code then error(path, 2) end
  local chunk, err = load(code, "@" .. path, "t", setmetatable({}, { __index = base }))
  if not chunk then error(err, 2) end
  loading[name] = true
  local ok, result = pcall(chunk, name)
  loading[name] = nil
  if not ok then error(result, 0) end
  if result == nil then result = true end
  loaded[name] = result
  return result
end

-- Library tables are shared by every file of the state: hand scripts read-only views so one
-- service cannot replace string.format (say) under another. The string metatable is locked so
-- ("x"):method() also goes through the read-only view.
local function readonly(t, name)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error(name .. " is read-only", 2) end,
    __metatable = false,
  })
end
for _, name in ipairs({ "string", "table", "math", "utf8", "os", "coroutine", "json", "log" }) do
  base[name] = readonly(base[name], name)
end
for name, value in pairs(base) do
  if type(value) == "table" and getmetatable(value) == nil then base[name] = readonly(value, name) end
end
local string_mt = getmetatable("")
string_mt.__index = base.string
string_mt.__metatable = false

-- Lock the base: scripts cannot replace a primitive other files rely on.
setmetatable(base, { __newindex = function() error("the sandbox base is read-only", 2) end, __metatable = false })

local function new_env()
  return setmetatable({}, { __index = base })
end

return {
  services = services,
  granted_tables = granted_tables,
  new_env = new_env,
  request_mt = Request,
  base = base,
}
"""#
}
