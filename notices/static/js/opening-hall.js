/* Progressive: with JavaScript the hall follows the ceremony live (server-sent events); without it, the page refreshes. */
(function () {
  var hall = document.getElementById("opening-hall");
  if (!hall || !window.EventSource) return;
  var state = document.getElementById("opening-state").dataset.state;
  if (state === "opened" || state === "failed") return;
  var source = new EventSource(hall.dataset.events);
  source.addEventListener("opening", function (event) {
    var status = JSON.parse(event.data);
    (status.members || []).forEach(function (m) {
      var row = document.querySelector('#committee tr[data-position="' + m.position + '"] .share-state');
      if (row && m.uploaded) row.innerHTML = '<span class="state state-opened">已上传</span>';
    });
    // While the opening job runs, the hall shows how many bids it has opened so far.
    var progress = status.progress || {};
    var opened = document.getElementById("progress-opened");
    var bar = document.getElementById("progress-bar");
    if (opened && progress.opened !== undefined) opened.textContent = progress.opened;
    if (bar && progress.opened !== undefined) bar.value = progress.opened;
    if (status.state !== state) { source.close(); window.location.reload(); }
  });
})();
