-- The map page (06-sos §7): one self-contained HTML document. Styles and script are inline and
-- the map is drawn as SVG, so it needs nothing from any other origin. It holds no personal data:
-- it calls the API with the token the user gives it.
local M = {}

M.CONTENT_SECURITY_POLICY = table.concat({
  "default-src 'none'", "script-src 'unsafe-inline'", "style-src 'unsafe-inline'", "connect-src 'self'",
  "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
}, "; ")

M.HTML = [==[<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MySehat SOS</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f6f8; color: #1d2733; }
  header { background: #b71c1c; color: #fff; padding: 12px 16px; font-size: 18px; font-weight: 600; }
  main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; }
  .panel { background: #fff; border-radius: 10px; box-shadow: 0 1px 4px rgba(0,0,0,.12); padding: 14px; }
  #controls { flex: 1 1 280px; max-width: 380px; display: flex; flex-direction: column; gap: 10px; }
  #mapbox { flex: 3 1 480px; min-height: 420px; }
  label { font-size: 13px; color: #52606d; }
  input, select, button { font: inherit; padding: 8px 10px; border-radius: 8px; border: 1px solid #cbd2d9; width: 100%; }
  button { cursor: pointer; background: #fff; }
  #trigger { background: #d32f2f; color: #fff; border: none; font-size: 20px; font-weight: 700; padding: 16px; letter-spacing: .5px; }
  #trigger:disabled { background: #e57373; cursor: wait; }
  .pill { display: inline-block; padding: 3px 12px; border-radius: 999px; font-weight: 600; font-size: 13px; background: #e4e7eb; }
  .pill.Triggered { background: #fdecea; color: #b71c1c; }
  .pill.Acknowledged { background: #fff4e5; color: #a35c00; }
  .pill.OnTheWay { background: #e3f2fd; color: #0d47a1; }
  .pill.Resolved { background: #e8f5e9; color: #1b5e20; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 8px 0 0; font-size: 14px; }
  dt { color: #52606d; }
  dd { margin: 0; font-weight: 600; }
  #message { min-height: 1.4em; font-size: 14px; }
  #message.error { color: #b71c1c; }
  #message.done { color: #1b5e20; font-weight: 700; }
  svg { width: 100%; height: 100%; min-height: 400px; background: #eef3e8; border-radius: 10px; }
  .legend { font-size: 12px; color: #52606d; margin-top: 6px; }
</style>
</head>
<body>
<header>🚑 MySehat SOS</header>
<main>
  <section id="controls" class="panel">
    <label for="token">Access token</label>
    <input id="token" type="password" placeholder="Paste your access token" autocomplete="off">
    <label for="etype">Emergency type</label>
    <select id="etype">
      <option value="Medical">Medical</option>
      <option value="Fire">Fire</option>
      <option value="Police">Police</option>
    </select>
    <button id="locate" type="button">📍 My Location</button>
    <button id="trigger" type="button">TRIGGER SOS</button>
    <div id="message" role="status"></div>
    <div>
      <span id="status" class="pill">No active SOS</span>
      <dl>
        <dt>SOS id</dt><dd id="sos-id">–</dd>
        <dt>Ambulance</dt><dd id="ambulance">–</dd>
        <dt>Distance</dt><dd id="distance">–</dd>
        <dt>ETA</dt><dd id="eta">–</dd>
        <dt>Position</dt><dd id="position">–</dd>
      </dl>
    </div>
  </section>
  <section id="mapbox" class="panel">
    <svg id="map" viewBox="0 0 600 420" role="img" aria-label="Schematic map"></svg>
    <div class="legend">🔵 you · 🔴 ambulance · ➕ hospitals · dashed: remaining route (schematic, not to a street map)</div>
  </section>
</main>
<script>
(function () {
  "use strict";
  var STORAGE_KEY = "mysehat_token";
  var AVERAGE_KMH = 40;
  var POLL_MS = 2000;
  var here = { lat: 28.61, lon: 77.20, fixed: false };
  var current = null;
  var hospitals = [];
  var timer = null;

  var $ = function (id) { return document.getElementById(id); };
  var tokenInput = $("token");

  // The token: from #token=..., else local storage, else what the user pastes.
  var fragment = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (fragment) {
    tokenInput.value = decodeURIComponent(fragment[1]);
    try { localStorage.setItem(STORAGE_KEY, tokenInput.value); } catch (e) {}
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    try { tokenInput.value = localStorage.getItem(STORAGE_KEY) || ""; } catch (e) {}
  }
  tokenInput.addEventListener("change", function () {
    try { localStorage.setItem(STORAGE_KEY, tokenInput.value.trim()); } catch (e) {}
  });

  function say(text, kind) {
    var m = $("message");
    m.textContent = text;
    m.className = kind || "";
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    var token = tokenInput.value.trim();
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) {}
          if (!res.ok) {
            var detail = data && data.detail;
            if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
            throw new Error(detail || ("HTTP " + res.status));
          }
          return data;
        });
      });
  }

  function km(lat1, lon1, lat2, lon2) {
    var r = Math.PI / 180;
    var a = Math.pow(Math.sin((lat2 - lat1) * r / 2), 2) +
      Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.pow(Math.sin((lon2 - lon1) * r / 2), 2);
    return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  // Remaining route as [lat, lon] points: ambulance, the route from its progress on, the user.
  function remainingRoute(ev) {
    var user = [ev.latitude, ev.longitude];
    var amb = ev.ambulance_lat != null ? [ev.ambulance_lat, ev.ambulance_lon] : null;
    var route = null;
    try { route = ev.route_coords ? JSON.parse(ev.route_coords) : null; } catch (e) { route = null; }
    if (!amb) return { points: [user], straight: false };
    if (!Array.isArray(route) || route.length < 2) return { points: [amb, user], straight: true };
    var points = [amb];
    for (var i = (ev.route_progress || 0) + 1; i < route.length; i++) points.push([route[i][1], route[i][0]]);
    points.push(user);
    return { points: points, straight: false };
  }

  function draw() {
    var svg = $("map");
    var W = 600, H = 420, PAD = 40;
    var user = current ? [current.latitude, current.longitude] : [here.lat, here.lon];
    var path = current ? remainingRoute(current) : { points: [user], straight: false };
    var all = path.points.slice();
    hospitals.forEach(function (h) { all.push([h.lat, h.lon]); });
    var minLat = Infinity, maxLat = -Infinity, minLon = Infinity, maxLon = -Infinity;
    all.forEach(function (p) {
      minLat = Math.min(minLat, p[0]); maxLat = Math.max(maxLat, p[0]);
      minLon = Math.min(minLon, p[1]); maxLon = Math.max(maxLon, p[1]);
    });
    var cos = Math.cos(user[0] * Math.PI / 180);
    var spanX = Math.max((maxLon - minLon) * cos, 0.01), spanY = Math.max(maxLat - minLat, 0.01);
    var scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
    var cx = (minLon + maxLon) / 2, cy = (minLat + maxLat) / 2;
    function xy(p) {
      return [(W / 2 + (p[1] - cx) * cos * scale).toFixed(1), (H / 2 - (p[0] - cy) * scale).toFixed(1)];
    }
    var parts = [];
    for (var g = 1; g < 6; g++) {
      parts.push('<line x1="' + (g * W / 6) + '" y1="0" x2="' + (g * W / 6) + '" y2="' + H + '" stroke="#dde5d3"/>');
      parts.push('<line x1="0" y1="' + (g * H / 6) + '" x2="' + W + '" y2="' + (g * H / 6) + '" stroke="#dde5d3"/>');
    }
    hospitals.forEach(function (h) {
      var p = xy([h.lat, h.lon]);
      parts.push('<g transform="translate(' + p[0] + ',' + p[1] + ')"><rect x="-8" y="-8" width="16" height="16" rx="3" fill="#fff" stroke="#2e7d32"/>' +
        '<path d="M-2 -6h4v4h4v4h-4v4h-4v-4h-4v-4h4z" fill="#2e7d32"/>' +
        '<text x="12" y="4" font-size="11" fill="#2e7d32">' + esc(h.name) + ' (' + h.distance_km + ' km)</text></g>');
    });
    if (path.points.length > 1) {
      var d = path.points.map(function (p, i) { var q = xy(p); return (i ? "L" : "M") + q[0] + " " + q[1]; }).join(" ");
      parts.push('<path d="' + d + '" fill="none" stroke="#d32f2f" stroke-width="3" stroke-dasharray="' + (path.straight ? "8 6" : "4 4") + '"/>');
      var a = xy(path.points[0]);
      parts.push('<circle cx="' + a[0] + '" cy="' + a[1] + '" r="9" fill="#d32f2f" stroke="#fff" stroke-width="2"/>');
      parts.push('<text x="' + (+a[0] + 12) + '" y="' + (+a[1] - 10) + '" font-size="12" fill="#b71c1c">' + esc(current.assigned_ambulance_id || "Ambulance") + '</text>');
    }
    var u = xy(user);
    parts.push('<circle cx="' + u[0] + '" cy="' + u[1] + '" r="10" fill="#1565c0" stroke="#fff" stroke-width="3"/>');
    parts.push('<text x="' + (+u[0] + 12) + '" y="' + (+u[1] + 18) + '" font-size="12" fill="#0d47a1">You</text>');
    svg.innerHTML = parts.join("");
  }

  function showEvent(ev) {
    current = ev;
    var pill = $("status");
    pill.textContent = ev.status;
    pill.className = "pill " + ev.status;
    $("sos-id").textContent = ev.id;
    $("ambulance").textContent = ev.assigned_ambulance_id || "–";
    $("position").textContent = ev.latitude.toFixed(4) + ", " + ev.longitude.toFixed(4);
    if (ev.ambulance_lat != null && ev.status !== "Resolved") {
      var dist = km(ev.ambulance_lat, ev.ambulance_lon, ev.latitude, ev.longitude);
      $("distance").textContent = dist.toFixed(2) + " km";
      $("eta").textContent = Math.max(1, Math.round(dist / AVERAGE_KMH * 60)) + " min";
    } else {
      $("distance").textContent = ev.status === "Resolved" ? "0 km" : "–";
      $("eta").textContent = ev.status === "Resolved" ? "arrived" : "–";
    }
    draw();
    if (ev.status === "Resolved") {
      stopPolling();
      $("trigger").disabled = false;
      say("✅ Emergency Resolved! Ambulance has arrived.", "done");
    }
  }

  function stopPolling() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function poll() {
    if (!current) return;
    api("GET", "/sos/" + encodeURIComponent(current.id)).then(showEvent).catch(function (e) { say(e.message, "error"); });
  }

  function loadHospitals(lat, lon) {
    api("GET", "/sos/hospitals/nearby?lat=" + lat + "&lon=" + lon).then(function (list) {
      hospitals = Array.isArray(list) ? list : [];
      draw();
    }).catch(function () { hospitals = []; draw(); });
  }

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say("This browser cannot tell your location.", "error"); return; }
    say("Finding your location…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      here = { lat: pos.coords.latitude, lon: pos.coords.longitude, fixed: true };
      say("Location found.");
      draw();
      loadHospitals(here.lat, here.lon);
    }, function (err) { say("Location unavailable: " + err.message, "error"); }, { enableHighAccuracy: true, timeout: 15000 });
  });

  $("trigger").addEventListener("click", function () {
    if (!tokenInput.value.trim()) { say("Paste your access token first.", "error"); return; }
    var button = $("trigger");
    button.disabled = true;
    say(here.fixed ? "Sending SOS…" : "Sending SOS with the default position (New Delhi)…");
    api("POST", "/sos", { latitude: here.lat, longitude: here.lon, emergency_type: $("etype").value })
      .then(function (ev) {
        say("SOS sent. Help is on the way.");
        showEvent(ev);
        loadHospitals(ev.latitude, ev.longitude);
        stopPolling();
        timer = setInterval(poll, POLL_MS);
      })
      .catch(function (e) { button.disabled = false; say(e.message, "error"); });
  });

  draw();
  if (tokenInput.value.trim()) loadHospitals(here.lat, here.lon);
})();
</script>
</body>
</html>
]==]

return M
