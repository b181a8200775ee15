-- CORS (00-conventions §8). The mobile app needs none; browsers on listed origins may call the API.
-- Without an `origins` list the defaults apply: development allows any origin (without
-- credentials), production allows none. "*" together with credentials is refused at load.
return {
  -- origins = { "https://app.mysehat.in", "https://*.mysehat.in" },
  -- credentials = true,
  methods = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" },
  expose_headers = { "X-Request-ID", "Retry-After", "Content-Disposition", "WWW-Authenticate" },
  max_age = 600,
}
