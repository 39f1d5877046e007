/* interview-eval review desk: small progressive enhancements; every form also works without this file. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /* ---- guide -> stage choices ---- */
  document.querySelectorAll("select[data-stage-select]").forEach(function (guide) {
    var stage = document.getElementById(guide.dataset.stageSelect);
    guide.addEventListener("change", function () {
      var opt = guide.options[guide.selectedIndex];
      var stages = JSON.parse(opt.dataset.stages || "[]");
      while (stage.options.length > 1) stage.remove(1);
      stages.forEach(function (st) { stage.add(new Option(st.name, st.id)); });
    });
  });

  /* ---- background jobs: poll their progress ---- */
  document.querySelectorAll("[data-job]").forEach(function (el) {
    var status = el.dataset.status || "running";
    if (status !== "queued" && status !== "running") return;
    var tick = function () {
      fetch("/api/jobs/" + el.dataset.job, {headers: {"Accept": "application/json"}}).then(function (r) {
        return r.json();
      }).then(function (j) {
        var bar = el.querySelector("progress"), msg = el.querySelector(".msg"), st = el.querySelector(".status");
        if (bar) bar.value = j.progress;
        if (msg) msg.textContent = j.message;
        if (st) st.textContent = j.status;
        if (j.status === "done" || j.status === "failed") { window.location.reload(); return; }
        setTimeout(tick, 700);
      }).catch(function () { setTimeout(tick, 2000); });
    };
    setTimeout(tick, 300);
  });

  /* ---- the review page ---- */
  var cols = document.querySelector(".cols[data-draft]");
  if (!cols) return;
  var draftId = cols.dataset.draft;
  var version = parseInt(cols.dataset.version, 10);
  var audio = document.getElementById("audio");
  var current = null;  // the criterion section being worked on

  function segment(id) { return id ? document.getElementById("seg-" + id) : null; }

  function showSegment(ids) {
    document.querySelectorAll(".seg.hit").forEach(function (s) { s.classList.remove("hit"); });
    var first = null;
    ids.forEach(function (id) { var s = segment(id); if (s) { s.classList.add("hit"); first = first || s; } });
    if (first) {
      first.scrollIntoView({block: "center"});
      first.focus({preventScroll: true});
    }
  }

  function play(btn) {
    var ids = (btn.dataset.segs || btn.dataset.seg || "").split(" ").filter(Boolean);
    var start = parseFloat(btn.dataset.start);
    if (audio && !isNaN(start)) {
      audio.currentTime = start;
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
    }
    showSegment(ids);
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button.play");
    if (btn) {
      var sec = btn.closest(".criterion");
      if (sec) current = sec;
      play(btn);
      return;
    }
    var use = ev.target.closest("button.use-selection");
    if (use) { useSelection(use.closest(".criterion")); }
  });

  /* highlight the segment being heard */
  if (audio) {
    var segs = Array.prototype.slice.call(document.querySelectorAll(".seg .time.play")).map(function (b) {
      return {start: parseFloat(b.dataset.start), el: b.closest(".seg")};
    });
    var now = null;
    audio.addEventListener("timeupdate", function () {
      var t = audio.currentTime, lo = 0, hi = segs.length - 1, at = -1;
      while (lo <= hi) { var mid = (lo + hi) >> 1; if (segs[mid].start <= t + 0.05) { at = mid; lo = mid + 1; } else { hi = mid - 1; } }
      var el = at >= 0 ? segs[at].el : null;
      if (el !== now) { if (now) now.classList.remove("now"); if (el) el.classList.add("now"); now = el; }
    });
  }

  function selectedTranscriptText() {
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed) return "";
    var tr = document.getElementById("transcript");
    if (!tr.contains(sel.anchorNode) || !tr.contains(sel.focusNode)) return "";
    /* only the words, not the times and speaker names of the segments it spans */
    var range = sel.getRangeAt(0), parts = [];
    tr.querySelectorAll(".seg .text").forEach(function (t) {
      if (!range.intersectsNode(t)) return;
      var r = document.createRange();
      r.selectNodeContents(t);
      if (t.contains(range.startContainer)) r.setStart(range.startContainer, range.startOffset);
      if (t.contains(range.endContainer)) r.setEnd(range.endContainer, range.endOffset);
      parts.push(r.toString());
    });
    return parts.join(" ").replace(/\s+/g, " ").trim();
  }

  function reveal(el) {
    for (var p = el && el.parentElement; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
    return el;
  }

  function useSelection(sec) {
    if (!sec) return false;
    var text = selectedTranscriptText();
    var box = reveal(sec.querySelector(".quote-text"));
    if (!text) {
      box.focus();
      return false;
    }
    box.value = text;
    box.focus();
    return true;
  }

  var lastSelection = "";
  document.addEventListener("selectionchange", function () {
    var t = selectedTranscriptText();
    if (t) lastSelection = t;
  });

  function setProgress(decided, total) {
    var d = document.getElementById("decided"), t = document.getElementById("total");
    if (d && decided !== null) d.textContent = decided;
    if (t && total !== null) t.textContent = total;
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("decide")) return;
    ev.preventDefault();
    var sec = form.closest(".criterion");
    var action = form.querySelector('input[name="action"]').value;
    var data = new FormData(form);
    var buttons = form.querySelectorAll("button");
    var before = version;
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute("action"), {method: "POST", body: data, credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch", "X-CSRF-Token": csrf}})
      .then(function (r) {
        var v = r.headers.get("X-Draft-Version");
        if (v) {
          v = parseInt(v, 10);
          if (v > before + 1) document.getElementById("changed").hidden = false;  /* someone else saved too */
          version = Math.max(version, v);
        }
        setProgress(r.headers.get("X-Decided"), r.headers.get("X-Total"));
        return r.text().then(function (body) { return {ok: r.ok, status: r.status, body: body, type: r.headers.get("content-type") || ""}; });
      })
      .then(function (res) {
        if (res.type.indexOf("text/html") !== 0) {
          var msg = "not saved";
          try { msg = JSON.parse(res.body).error || msg; } catch (e) { msg = res.body || msg; }
          buttons.forEach(function (b) { b.disabled = false; });
          var err = sec.querySelector(".decision");
          var p = document.createElement("p"); p.className = "error"; p.setAttribute("role", "alert"); p.textContent = msg;
          err.appendChild(p);
          return;
        }
        var tmp = document.createElement("div");
        tmp.innerHTML = res.body;
        var fresh = tmp.firstElementChild;
        sec.replaceWith(fresh);
        current = fresh;
        if (!res.ok) {
          var e = fresh.querySelector(".error");
          /* keep what the person typed */
          restore(form, fresh);
          if (e) { e.setAttribute("tabindex", "-1"); e.focus(); }
        } else if (action === "confirm" || action === "override") {
          var next = nextCriterion(fresh, true);
          focusCriterion(next || fresh);
        } else {
          fresh.querySelector("h3").focus();
        }
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        alert("The decision could not be sent: is the review desk still running?");
      });
  });

  function restore(oldForm, fresh) {
    var same = fresh.querySelector("form.decide." + oldForm.className.split(" ").filter(function (c) { return c !== "decide"; })[0]);
    if (!same) return;
    oldForm.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (f) {
      if (f.type === "hidden") return;
      var g = same.querySelector('[name="' + f.name + '"]');
      if (g) g.value = f.value;
    });
  }

  function criteria() { return Array.prototype.slice.call(document.querySelectorAll(".criterion")); }

  function nextCriterion(from, undecided) {
    var all = criteria(), i = all.indexOf(from);
    for (var k = 1; k <= all.length; k++) {
      var c = all[(i + k) % all.length];
      if (!undecided || !c.classList.contains("decided")) return c === from ? null : c;
    }
    return null;
  }

  function focusCriterion(sec) {
    if (!sec) return;
    current = sec;
    criteria().forEach(function (c) { c.classList.toggle("current", c === sec); });
    var h = sec.querySelector("h3");
    h.focus({preventScroll: true});
    sec.scrollIntoView({block: "start"});
  }

  document.addEventListener("focusin", function (ev) {
    var sec = ev.target.closest && ev.target.closest(".criterion");
    if (sec) {
      current = sec;
      criteria().forEach(function (c) { c.classList.toggle("current", c === sec); });
    }
  });

  var help = document.getElementById("help");
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    var all = criteria();
    var sec = current || all[0];
    switch (ev.key) {
      case "j": focusCriterion(current ? all[Math.min(all.indexOf(sec) + 1, all.length - 1)] : all[0]); break;
      case "k": focusCriterion(current ? all[Math.max(all.indexOf(sec) - 1, 0)] : all[0]); break;
      case "c": { var b = sec && sec.querySelector(".confirm-btn"); if (b) b.click(); else if (sec) reveal(sec.querySelector(".score-select")).focus(); break; }
      case "o": if (sec) reveal(sec.querySelector(".score-select")).focus(); break;
      case "p": { var q = sec && sec.querySelector("button.play"); if (q) play(q); break; }
      case "q": if (sec) {
        var box = reveal(sec.querySelector(".quote-text"));
        if (!useSelection(sec) && lastSelection) { box.value = lastSelection; box.focus(); }
      } break;
      case "s": { var s = document.getElementById("to-summary"); if (s) s.click(); break; }
      case "?": help.hidden = !help.hidden; if (!help.hidden) help.setAttribute("tabindex", "-1"), help.focus(); break;
      case "Escape": help.hidden = true; break;
      default: return;
    }
    ev.preventDefault();
  });

  /* another window (or reviewer) changed this draft: offer a reload */
  setInterval(function () {
    fetch("/api/drafts/" + draftId + "/version").then(function (r) { return r.json(); }).then(function (j) {
      if (j.version > version) document.getElementById("changed").hidden = false;
    }).catch(function () {});
  }, 4000);
})();
