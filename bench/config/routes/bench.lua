-- Routes the benchmark drives. BENCH_UPSTREAM_PORT is filled in by bench/run.py.
return {
  { path = "/bench/lua", service = "lua:bench", rewrite = "/plain" },
  { path = "/bench/lua-db", service = "lua:bench", rewrite = "/db" },
  -- The jwt policy (signature, claims, revocation check) in front of one SQLite read.
  { path = "/bench/jwt-db", service = "lua:bench", rewrite = "/db", policy = { auth = "jwt" } },
  { prefix = "/bench/proxy", upstream = "http://127.0.0.1:BENCH_UPSTREAM_PORT" },
}
