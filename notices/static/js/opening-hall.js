/* Progressive: with JavaScript the hall follows the ceremony live (server-sent events, docs/live.md) and shows each
   step in place — the openers' uploads, the new state, the results — without reloading the page: a thousand
   viewers reloading at the moment the bids open would each cost the server a page. Without it, the page refreshes.
   What is drawn here is what notices/templates/opening.html draws. */
(function () {
  var hall = document.getElementById("opening-hall");
  if (!hall || !window.EventSource) return;
  var stateLabel = document.getElementById("opening-state");
  var LABELS = {
    not_started: "尚未开标",
    waiting: "等待开标人上传密钥分片",
    opening: "正在解密",
    opened: "已开标",
    failed: "流标（投标人少于3个）"
  };
  // Nothing more will change: the opening is over, and no disputed bid awaits the supervisors' ruling.
  if (stateLabel.dataset.live === "no") return;

  function element(tag, text, className) {
    var el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }
  function yuan(fen) {  // notices/formatting.py yuan()
    if (fen === null || fen === undefined) return "—";
    var whole = Math.floor(Math.abs(fen) / 100), cents = Math.abs(fen) % 100;
    return (fen < 0 ? "-" : "") + "¥" + whole.toLocaleString("en-US") + "." + (cents < 10 ? "0" : "") + cents + " 元";
  }
  function outcome(r) {  // notices/templates/opening.html
    if (r.outcome === "opened") return "已解密";
    if (r.outcome === "disputed") {
      return "开标人提出分片异议，未能解密；" + (r.ruling
        ? "监督人员已裁定：" + (r.ruling.treated_as === "revoked" ? "视为撤销投标" : "视为撤回投标")
        : "待监督人员裁定");
    }
    return "解密失败：" + r.reason + "（责任方：" + r.fault + "）";
  }
  function row(cells, className, id) {
    var tr = element("tr", undefined, className);
    if (id) tr.id = id;
    cells.forEach(function (cell) { tr.appendChild(element("td", cell[0], cell[1])); });
    return tr;
  }
  // The ruling forms the server drew for a supervisor of the centre, by bid: kept (with what was typed in them)
  // when the results are drawn again, for the bids still awaiting a ruling.
  function rulingForms(results) {
    var forms = {};
    results.querySelectorAll("form.ruling-form").forEach(function (form) {
      var id = (form.getAttribute("action") || "").split("/").pop();
      forms[id] = form;
    });
    return forms;
  }
  function showResults(status) {
    var results = document.getElementById("results");
    var forms = rulingForms(results);
    while (results.children.length > 1) results.removeChild(results.lastChild);  // keep the heading
    if (status.state === "failed") {
      results.appendChild(element("p", "投标截止时递交投标文件的投标人少于3个，依法不予开标（《招标投标法》第二十八条），已发布流标公告。"));
      return;
    }
    var table = element("table", undefined, "grid");
    var head = table.appendChild(element("thead")).appendChild(element("tr"));
    [["投标人"], ["投标报价", "num"], ["工期"], ["质量"], ["结果"]].forEach(function (h) {
      var th = head.appendChild(element("th", h[0], h[1]));
      th.scope = "col";
    });
    var body = table.appendChild(element("tbody"));
    var reserve = status.reserve;
    if (reserve) {
      body.appendChild(row([
        [reserve.kind_zh + "（交易中心密封）"], [reserve.form ? yuan(reserve.form.total_price_fen) : "—", "num"],
        ["—"], ["—"], [outcome(reserve)]
      ], "reserve"));
    }
    (status.results || []).forEach(function (r) {
      var tr = body.appendChild(row([
        [r.bidder || "投标 #" + r.bid_id], [r.form ? yuan(r.form.total_price_fen) : "—", "num"],
        [r.form ? r.form.duration_days + " 日历天" : "—"], [r.form ? r.form.quality : "—"], [outcome(r)]
      ], undefined, "bid-" + r.bid_id));
      var cell = tr.lastChild;
      if (r.outcome === "disputed" && r.ruling) {
        var notice = element("a", "裁定公告");
        notice.href = "/notices/" + r.ruling.notice_id;
        cell.appendChild(document.createTextNode("（"));
        cell.appendChild(notice);
        cell.appendChild(document.createTextNode("）"));
      } else if (r.outcome === "disputed" && forms[r.bid_id]) {
        cell.appendChild(forms[r.bid_id]);
      }
    });
    results.appendChild(table);
    if (status.record_notice_id) {
      var link = element("a", "查看开标记录（含各投标人名称、报价及解密密钥，任何人可复核）»");
      link.href = "/notices/" + status.record_notice_id;
      results.appendChild(element("p")).appendChild(link);
    }
  }

  function showProgress(progress) {
    // Drawn here when the page was loaded before the bids began to open (the template draws it for a page loaded
    // while they are); then only its figures change.
    var bar = document.getElementById("progress-bar");
    if (!bar) {
      var results = document.getElementById("results");
      var waiting = document.getElementById("results-waiting");
      if (waiting) waiting.remove();
      var text = element("p", undefined);
      text.id = "opening-progress";
      text.appendChild(document.createTextNode("开标人已齐，平台正在重建密钥、解密报价：已解密 "));
      text.appendChild(element("span")).id = "progress-opened";
      text.appendChild(document.createTextNode(" / "));
      text.appendChild(element("span")).id = "progress-total";
      text.appendChild(document.createTextNode(" 份。完成后即公布开标记录。"));
      results.appendChild(text);
      bar = results.appendChild(element("progress"));
      bar.id = "progress-bar";
      bar.setAttribute("aria-labelledby", "opening-progress");
    }
    bar.max = progress.total || 1;
    bar.value = progress.opened || 0;
    document.getElementById("progress-opened").textContent = progress.opened || 0;
    document.getElementById("progress-total").textContent = progress.total || 0;
  }

  var source = new EventSource(hall.dataset.events);
  source.addEventListener("opening", function (event) {
    var status = JSON.parse(event.data);
    (status.members || []).forEach(function (m) {
      var cell = document.querySelector('#committee tr[data-position="' + m.position + '"] .share-state');
      if (cell && m.uploaded) cell.innerHTML = '<span class="state state-opened">已上传</span>';
    });
    // While the opening job runs, the hall shows how many bids it has opened so far.
    if (status.state === "opening" && status.progress) showProgress(status.progress);
    if (status.state !== stateLabel.dataset.state) {
      stateLabel.dataset.state = status.state;
      stateLabel.textContent = LABELS[status.state] || status.state;
      var start = document.getElementById("start-opening");  // staff's button: the ceremony has begun
      if (start) start.remove();
    }
    if (status.state === "opened" || status.state === "failed") {
      showResults(status);  // again when a disputed bid is ruled on
      var awaiting = (status.results || []).some(function (r) { return r.outcome === "disputed" && !r.ruling; });
      if (!awaiting) source.close();
    }
  });
})();
