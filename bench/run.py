#!/usr/bin/env python3
"""MySehat gateway benchmark: wrk on loopback, paired runs against nginx doing the same job.

Usage: bench/run.py [--runs N] [--duration S] [--connections C] [--binary PATH]

Prints a table of medians (req/s, p99) for:
  (a) a Swift route       vs nginx `return 200`
  (b) a Lua route         vs nginx + ngx_lua `content_by_lua_block`
  (c) the proxy path      vs nginx `proxy_pass` with a keep-alive pool, both to the same upstream
  (d) a Lua route reading one SQLite row, (e) a jwt-policy Swift route, when available
plus idle RSS, RSS after load and process start to first 200 on /health.
"""
import argparse, json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, timeout=20.0, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=1) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.002)
    return False


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wrk(url, duration, connections, headers=None):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else 0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, (float(p99.group(1)) * scale if p99 else 0.0), int(errors.group(1)) if errors else 0


NGINX_CONF = """
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream pool {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  # The shared upstream both gateways proxy to: a fixed JSON answer.
  server {{
    listen 127.0.0.1:{upstream};
    location / {{ default_type application/json; return 200 '{{"upstream":"ok"}}'; }}
  }}
  server {{
    listen 127.0.0.1:{port};
    location = /fixed {{ default_type application/json; return 200 '{{"message":"hello","service":"bench"}}'; }}
    location = /lua {{ default_type application/json; content_by_lua_block {{ ngx.say('{{"message":"hello","service":"bench"}}') }} }}
    location /proxy/ {{ proxy_pass http://pool/; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/mysehat"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    have_nginx = shutil.which("nginx") is not None and os.path.exists("/usr/lib/nginx/modules/ngx_http_lua_module.so")

    work = tempfile.mkdtemp(prefix="mysehat-bench-")
    upstream_port, nginx_port, gw_port = free_port(), free_port(), free_port()
    nginx = None
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=work, upstream=upstream_port, port=nginx_port, workers=os.cpu_count() or 2))
    # nginx always serves the shared upstream; its own routes are the peers.
    nginx = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{upstream_port}/")

    config = os.path.join(work, "config")
    shutil.copytree(os.path.join(ROOT, "bench/config"), config)
    os.makedirs(os.path.join(config, "policies"), exist_ok=True)
    routes = os.path.join(config, "routes/bench.lua")
    with open(routes) as f:
        text = f.read().replace("BENCH_UPSTREAM_PORT", str(upstream_port))
    with open(routes, "w") as f:
        f.write(text)
    # The gateway's own routes and policies too, so the Swift services are reachable.
    for folder in ("routes", "policies"):
        for name in os.listdir(os.path.join(ROOT, folder)):
            if name != "cors.lua":
                shutil.copy(os.path.join(ROOT, folder, name), os.path.join(config, folder, name))

    env = dict(os.environ, LOG_LEVEL="error", DATA_DIR=os.path.join(work, "data"), PORT=str(gw_port),
               JWT_SECRET_KEY="bench-secret-0123456789abcdef0123456789abcdef")
    started = time.time()
    gw = subprocess.Popen([args.binary, "serve", "--config", config, "--host", "127.0.0.1", "--watch-interval", "0"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = wait_http(f"http://127.0.0.1:{gw_port}/health")
    start_ms = (time.time() - started) * 1000
    if not ok:
        gw.kill(); nginx.terminate()
        sys.exit("the gateway did not start")
    time.sleep(1.0)
    idle = rss_kb(gw.pid)

    token = None
    try:
        body = json.dumps({"phone_number": "9999999999", "otp": "123456"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{gw_port}/auth/login", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            token = json.load(r)["access_token"]
    except Exception:
        pass

    gw_base = f"http://127.0.0.1:{gw_port}"
    ng_base = f"http://127.0.0.1:{nginx_port}"
    swift_path = "/auth/health" if token else "/health"
    cases = [
        ("(a) Swift route", gw_base + swift_path, ng_base + "/fixed", None, "nginx return 200"),
        ("(b) Lua route", gw_base + "/bench/lua", ng_base + "/lua", None, "nginx + ngx_lua"),
        ("(c) proxy to loopback upstream", gw_base + "/bench/proxy/x", ng_base + "/proxy/x", None, "nginx proxy_pass keepalive"),
        ("(d) Lua route, one SQLite read", gw_base + "/bench/lua-db", None, None, ""),
    ]
    if token:
        cases.append(("(e) jwt policy + one SQLite read", gw_base + "/bench/jwt-db", None, {"Authorization": "Bearer " + token}, ""))

    # warm up
    for _, url, peer, headers, _ in cases:
        wrk(url, 1, args.connections, headers)
        if peer:
            wrk(peer, 1, args.connections)

    results = {}
    for name, url, peer, headers, _ in cases:
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(wrk(url, args.duration, args.connections, headers))
            if peer:
                theirs.append(wrk(peer, args.duration, args.connections))
        results[name] = (ours, theirs)
    loaded = rss_kb(gw.pid)

    gw.send_signal(signal.SIGTERM)
    gw.wait(timeout=20)
    nginx.send_signal(signal.SIGQUIT)
    nginx.wait(timeout=10)

    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, loopback, median of {args.runs} paired runs, {os.cpu_count()} cores")
    print()
    print(f"| case | mysehat req/s | p99 ms | peer | peer req/s | peer p99 ms | ratio |")
    print(f"|---|---|---|---|---|---|---|")
    for name, url, peer, headers, peer_name in cases:
        ours, theirs = results[name]
        rps = statistics.median(r[0] for r in ours)
        p99 = statistics.median(r[1] for r in ours)
        errors = sum(r[2] for r in ours)
        err = f" ({errors} non-2xx)" if errors else ""
        if theirs:
            prps = statistics.median(r[0] for r in theirs)
            pp99 = statistics.median(r[1] for r in theirs)
            print(f"| {name} | {rps:,.0f}{err} | {p99:.2f} | {peer_name} | {prps:,.0f} | {pp99:.2f} | {rps / prps:.2f}x |")
        else:
            print(f"| {name} | {rps:,.0f}{err} | {p99:.2f} | | | | |")
    plain = statistics.median(r[0] for r in results["(b) Lua route"][0])
    db = statistics.median(r[0] for r in results["(d) Lua route, one SQLite read"][0])
    print()
    print(f"Lua + SQLite read / plain Lua route: {db / plain:.2f}x")
    if token:
        swift = statistics.median(r[0] for r in results["(a) Swift route"][0])
        jwt_runs = results["(e) jwt policy + one SQLite read"][0]
        jwt = statistics.median(r[0] for r in jwt_runs)
        p99 = statistics.median(r[1] for r in jwt_runs)
        print(f"jwt policy + one SQLite read / plain Swift route: {jwt / swift:.2f}x (p99 {p99:.2f} ms)")
    print(f"idle RSS: {idle / 1024:.1f} MB; RSS after load: {loaded / 1024:.1f} MB; start to first 200 on /health: {start_ms:.0f} ms")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
