// Sorting and filtering of the connections table. The table is complete
// without this: it only hides rows and reorders them. A link may preselect
// a view: #outcome=refused&q=10.0.0.1&sort=7&dir=desc.
(function () {
  var table = document.getElementById("connections-table");
  document.documentElement.classList.add("js");
  if (!table) { document.body.setAttribute("data-script", "ready"); return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById("conn-filter");
  var outcome = document.getElementById("conn-outcome");
  var shown = document.getElementById("conn-shown");
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) { e.hidden = false; });

  function apply() {
    var q = filter.value.toLowerCase(), o = outcome.value, n = 0;
    rows.forEach(function (r) {
      var ok = (!o || r.getAttribute("data-outcome") === o) &&
        (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = String(n);
    table.setAttribute("data-rows-shown", String(n));
  }

  function sortBy(col, dir) {
    var num = heads[col].getAttribute("data-type") === "num";
    var keyOf = function (r) {
      var c = r.cells[col], v = c.hasAttribute("data-sort") ? c.getAttribute("data-sort") : c.textContent;
      return num ? (v === "" ? -Infinity : Number(v)) : v;
    };
    var keyed = rows.map(function (r, i) { return [keyOf(r), i, r]; });
    keyed.sort(function (a, b) {
      var c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
      return (dir === "desc" ? -c : c) || a[1] - b[1];
    });
    keyed.forEach(function (k) { body.appendChild(k[2]); });
    heads.forEach(function (h, i) {
      if (i === col) h.setAttribute("data-sorted", dir); else h.removeAttribute("data-sorted");
    });
    table.setAttribute("data-sorted-by", String(col) + " " + dir);
  }

  heads.forEach(function (h, i) {
    h.addEventListener("click", function () {
      sortBy(i, h.getAttribute("data-sorted") === "asc" ? "desc" : "asc");
    });
  });
  filter.addEventListener("input", apply);
  outcome.addEventListener("change", apply);

  var want = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("=");
    if (p[0]) want[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || "");
  });
  if (want.q) filter.value = want.q;
  if (want.outcome) outcome.value = want.outcome;
  if (want.sort && heads[Number(want.sort)]) sortBy(Number(want.sort), want.dir === "desc" ? "desc" : "asc");
  apply();
  document.body.setAttribute("data-script", "ready");
})();
