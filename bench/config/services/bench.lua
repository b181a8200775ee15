local s = service("bench")
s:migrate{
  "CREATE TABLE IF NOT EXISTS bench_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)",
  "INSERT INTO bench_items (id, name, price) VALUES (1, 'paracetamol', 12.5)",
}
s:get("/plain", function(req)
  return 200, { message = "hello", service = "bench" }
end)
s:get("/db", function(req)
  local row = db.one("SELECT id, name, price FROM bench_items WHERE id = ?", 1)
  return 200, row
end)
return s
