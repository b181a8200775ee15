-- Great-circle geometry on a spherical Earth (radius 6371 km), coordinates in degrees.
local M = {}

M.EARTH_RADIUS_KM = 6371

-- Haversine distance in kilometres.
function M.distance_km(lat1, lon1, lat2, lon2)
  local rad = math.pi / 180
  local dlat = (lat2 - lat1) * rad
  local dlon = (lon2 - lon1) * rad
  local a = math.sin(dlat / 2) ^ 2 + math.cos(lat1 * rad) * math.cos(lat2 * rad) * math.sin(dlon / 2) ^ 2
  return 2 * M.EARTH_RADIUS_KM * math.asin(math.min(1, math.sqrt(a)))
end

-- `value` rounded half away from zero to `decimals` places.
function M.round(value, decimals)
  local scale = 10 ^ decimals
  if value >= 0 then return math.floor(value * scale + 0.5) / scale end
  return -math.floor(-value * scale + 0.5) / scale
end

-- The latitude and longitude of a point in range (for validating data files).
function M.valid(lat, lon)
  return type(lat) == "number" and type(lon) == "number" and lat >= -90 and lat <= 90 and lon >= -180 and lon <= 180
end

return M
