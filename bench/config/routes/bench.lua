-- Routes the benchmark drives. BENCH_UPSTREAM_PORT is filled in by bench/run.py.
return {
  { path = "/bench/lua", service = "lua:bench", rewrite = "/plain" },
  { path = "/bench/lua-db", service = "lua:bench", rewrite = "/db" },
  { path = "/bench/swift-db", service = "auth", rewrite = "/health", policy = "user", optional = true },
  { prefix = "/bench/proxy", upstream = "http://127.0.0.1:BENCH_UPSTREAM_PORT" },
}
