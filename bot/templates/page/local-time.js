// Adds the visitor's own time beside each time shown in the coalition's zone. Without scripts the
// page says the same, in the coalition's zone only; nothing else on the page depends on this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var theirs = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("time[data-zone]").forEach(function (element) {
    if (!theirs || theirs === element.dataset.zone) return;
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment)) return;
    var shown = moment.toLocaleString(document.documentElement.lang || undefined, {
      dateStyle: "medium", timeStyle: "short", timeZone: theirs
    });
    var note = document.createElement("span");
    note.className = "local";
    note.textContent = " (" + element.dataset.yours + ": " + shown + ")";
    element.after(note);
  });
});
