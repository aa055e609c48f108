// mltrack UI: optional enhancements. Every page works without this file.
"use strict";

// MLflow's client prints links such as http://host/#/experiments/1/runs/<id>; map them to our paths.
(function hashLinks() {
  var h = window.location.hash;
  if (window.location.pathname !== "/" || h.indexOf("#/") !== 0) return;
  var p = h.slice(1).split("?")[0];
  var m;
  var target = null;
  if ((m = p.match(/^\/experiments\/([^/]+)\/runs\/([^/]+)/))) target = "/experiments/" + m[1] + "/runs/" + m[2];
  else if ((m = p.match(/^\/experiments\/([^/]+)/))) target = "/experiments/" + m[1];
  else if ((m = p.match(/^\/models\/([^/]+)\/versions\/([^/]+)/))) target = "/models/" + m[1] + "/versions/" + m[2];
  else if ((m = p.match(/^\/models\/([^/]+)/))) target = "/models/" + m[1];
  else if (p.indexOf("/models") === 0) target = "/models";
  else if ((m = p.match(/^\/compare-runs/))) {
    var q = h.split("?")[1] || "";
    var runs = new URLSearchParams(q).get("runs");
    try { runs = JSON.parse(runs).join(","); } catch (e) { /* keep as is */ }
    if (runs) target = "/compare?runs=" + encodeURIComponent(runs);
  }
  if (target) window.location.replace(target);
})();

function cellValue(row, index) {
  var cell = row.children[index];
  if (!cell) return null;
  var v = cell.getAttribute("data-v");
  if (v === null) v = cell.textContent.trim();
  if (v === "") return null;
  var n = Number(v);
  return isNaN(n) ? v.toLowerCase() : n;
}

function compareValues(a, b, asc) {
  if (a === null && b === null) return 0;
  if (a === null) return 1; // missing values last, as the server sorts them
  if (b === null) return -1;
  var r;
  if (typeof a === "number" && typeof b === "number") r = a - b;
  else r = String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  return asc ? r : -r;
}

// Sorting without a reload, when the table holds every matching run (otherwise the header links
// ask the server, which sorts across pages). Child runs stay under their parent.
function sortable(table) {
  if (table.getAttribute("data-complete") !== "1") return;
  var body = table.tBodies[0];
  table.querySelectorAll("thead th[data-col]").forEach(function (th, _) {
    // Duration has no server-side order (the search grammar has none), so it is a plain label.
    var link = th.querySelector("a") || th.querySelector("span.sort");
    if (!link) return;
    link.style.cursor = "pointer";
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      // As the server's links: a new column starts descending, a second click flips it.
      var asc = th.classList.contains("sorted") && !th.classList.contains("asc");
      var groups = [];
      Array.prototype.forEach.call(body.rows, function (row) {
        if (row.getAttribute("data-parent") && groups.length) groups[groups.length - 1].push(row);
        else groups.push([row]);
      });
      groups.sort(function (x, y) { return compareValues(cellValue(x[0], index), cellValue(y[0], index), asc); });
      groups.forEach(function (g) { g.forEach(function (row) { body.appendChild(row); }); });
      table.querySelectorAll("thead th").forEach(function (h) { h.classList.remove("sorted", "asc"); });
      th.classList.add("sorted");
      if (asc) th.classList.add("asc");
    });
  });
}

// Collapse and expand the children of a parent run.
function nesting(table) {
  table.querySelectorAll("button.toggle[data-run]").forEach(function (button) {
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-run");
      var open = button.getAttribute("aria-expanded") !== "false";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      button.textContent = open ? "▸" : "▾";
      table.querySelectorAll('tr[data-root="' + id + '"]').forEach(function (row) {
        row.classList.toggle("hidden", open);
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("runs");
  if (table) {
    sortable(table);
    nesting(table);
  }
});
