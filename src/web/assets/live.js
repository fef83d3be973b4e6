// The live view: appends each incident the server streams (Server-Sent
// Events from /web/events) to the top of the table. Text goes in with
// textContent only, never as markup; the one link is the server's own
// percent-encoded path.
"use strict";
(function () {
  var rows = document.getElementById("live-rows");
  var state = document.getElementById("live-state");
  if (!rows || !window.EventSource) {
    return;
  }
  var after = rows.getAttribute("data-after") || "0";
  var source = new EventSource("/web/events?after=" + encodeURIComponent(after));
  source.onopen = function () { state.textContent = "connected"; };
  source.onerror = function () { state.textContent = "reconnecting"; };
  source.addEventListener("incident", function (e) {
    var d = JSON.parse(e.data);
    if (rows.querySelector('tr[data-seq="' + Number(d.seq) + '"]')) {
      return;
    }
    var tr = document.createElement("tr");
    tr.className = "new";
    tr.setAttribute("data-seq", String(Number(d.seq)));
    var cells = [d.stored, d.topic, null, d.purpose, d.restriction, d.description];
    var classes = ["when", "", "id", "", "", "desc"];
    cells.forEach(function (text, i) {
      var td = document.createElement("td");
      if (classes[i]) {
        td.className = classes[i];
      }
      if (text === null) {
        var a = document.createElement("a");
        a.className = "incident";
        a.href = String(d.url).indexOf("/web/") === 0 ? d.url : "#";
        a.textContent = d.incident_id;
        td.appendChild(a);
      } else {
        td.textContent = text;
      }
      tr.appendChild(td);
    });
    rows.insertBefore(tr, rows.firstChild);
  });
})();
