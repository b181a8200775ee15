-- Request validation with 00-conventions §3.2 answers: every problem of a request is collected
-- as {type, loc, msg, input[, ctx]} and answered together as one 422.
--
--   local v = validate.new()
--   local lat = v:number({ "body", "latitude" }, body.latitude, { required = true, ge = -90, le = 90 })
--   if not v:ok() then return v:response() end
--
-- Values are checked the way the reference's models did in their lax mode: numbers may arrive as
-- numeric strings (query strings always do), booleans as true/false, 1/0, yes/no, on/off.
local M = {}

local Checker = {}
Checker.__index = Checker

function M.new()
  return setmetatable({ issues = {} }, Checker)
end

-- JSON null and absent are both "no value"; json.null is truthy in Lua, so test with this.
function M.present(value)
  return value ~= nil and value ~= json.null
end

-- Characters, not bytes (invalid UTF-8 counts bytes).
function M.length(text)
  return utf8.len(text) or #text
end

function Checker:add(kind, loc, msg, input, ctx)
  local issue = { type = kind, loc = json.array(loc), msg = msg }
  if input ~= nil then issue.input = input end
  if ctx ~= nil then issue.ctx = ctx end
  self.issues[#self.issues + 1] = issue
end

function Checker:ok()
  return #self.issues == 0
end

function Checker:response()
  return 422, { detail = json.array(self.issues) }
end

-- Missing and null handling shared by every checker. Returns true when the caller should stop
-- (value absent or null and that is allowed or already reported).
function Checker:absent(loc, value, opts, type_kind, type_msg, parent)
  if value == nil or (value == "" and opts.empty_is_absent) then
    if opts.required then self:add("missing", loc, "Field required", parent or json.null) end
    return true
  end
  if value == json.null then
    if not opts.nullable then self:add(type_kind, loc, type_msg, json.null) end
    return true
  end
  return false
end

local function bounds(self, loc, value, opts, input)
  if opts.ge ~= nil and value < opts.ge then
    self:add("greater_than_equal", loc, "Input should be greater than or equal to " .. opts.ge, input, { ge = opts.ge })
    return nil
  end
  if opts.le ~= nil and value > opts.le then
    self:add("less_than_equal", loc, "Input should be less than or equal to " .. opts.le, input, { le = opts.le })
    return nil
  end
  return value
end

-- opts: required, nullable, min, max (characters), parent (input reported for a missing field)
function Checker:string(loc, value, opts)
  opts = opts or {}
  if self:absent(loc, value, opts, "string_type", "Input should be a valid string", opts.parent) then return nil end
  if type(value) ~= "string" then
    self:add("string_type", loc, "Input should be a valid string", value)
    return nil
  end
  local n = M.length(value)
  if opts.min and n < opts.min then
    self:add("string_too_short", loc, "String should have at least " .. opts.min .. " character" .. (opts.min == 1 and "" or "s"), value,
      { min_length = opts.min })
    return nil
  end
  if opts.max and n > opts.max then
    self:add("string_too_long", loc, "String should have at most " .. opts.max .. " characters", value, { max_length = opts.max })
    return nil
  end
  return value
end

-- opts: required, nullable, ge, le
function Checker:number(loc, value, opts)
  opts = opts or {}
  if self:absent(loc, value, opts, "float_parsing", "Input should be a valid number", opts.parent) then return nil end
  local n = value
  if type(value) == "string" then n = tonumber(value) end
  if type(n) ~= "number" or n ~= n or n == math.huge or n == -math.huge then
    self:add("float_parsing", loc, "Input should be a valid number", value)
    return nil
  end
  return bounds(self, loc, n + 0.0, opts, value)
end

-- opts: required, nullable, ge, le
function Checker:integer(loc, value, opts)
  opts = opts or {}
  if self:absent(loc, value, opts, "int_type", "Input should be a valid integer", opts.parent) then return nil end
  local n
  if type(value) == "string" then
    n = value:match("^%s*[-+]?%d+%s*$") and math.tointeger(tonumber(value)) or nil
    if not n then
      self:add("int_parsing", loc, "Input should be a valid integer, unable to parse string as an integer", value)
      return nil
    end
  elseif type(value) == "number" then
    n = math.tointeger(value)
    if not n then
      self:add("int_parsing", loc, "Input should be a valid integer, got a number with a fractional part", value)
      return nil
    end
  else
    self:add("int_type", loc, "Input should be a valid integer", value)
    return nil
  end
  return bounds(self, loc, n, opts, value)
end

local truthy = { ["true"] = true, ["1"] = true, yes = true, on = true, t = true, y = true }
local falsy = { ["false"] = true, ["0"] = true, no = true, off = true, f = true, n = true }

-- opts: required, nullable. Returns true/false, or nil when absent or invalid.
function Checker:boolean(loc, value, opts)
  opts = opts or {}
  if self:absent(loc, value, opts, "bool_parsing", "Input should be a valid boolean", opts.parent) then return nil end
  if type(value) == "boolean" then return value end
  if type(value) == "number" and (value == 0 or value == 1) then return value == 1 end
  if type(value) == "string" then
    local lower = value:lower()
    if truthy[lower] then return true end
    if falsy[lower] then return false end
  end
  self:add("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", value)
  return nil
end

-- The JSON object body of a request, or nil and a ready answer (415, or 422 for a body that is
-- missing, not JSON or not an object). Unknown fields are the caller's to ignore.
function M.json_object(req)
  local content_type = (req.headers["content-type"] or ""):lower():match("^%s*([^;%s]*)")
  if content_type ~= "" and content_type ~= "application/json" and not content_type:match("^[%w%.%-]+/[%w%.%-]+%+json$") then
    return nil, 415, { detail = "Unsupported Media Type" }
  end
  local v = M.new()
  if req.body == "" then
    v:add("missing", { "body" }, "Field required", json.null)
    return nil, v:response()
  end
  local value, err = json.decode(req.body)
  if err then
    local offset = tonumber(tostring(err):match("at byte (%d+)")) or 0
    v:add("json_invalid", { "body", offset }, "JSON decode error", json.null, { error = err })
    return nil, v:response()
  end
  if type(value) ~= "table" or json.is_array(value) then
    v:add("model_attributes_type", { "body" }, "Input should be a valid dictionary or object to extract fields from", value)
    return nil, v:response()
  end
  return value
end

return M
