// cimjob dashboard: live updates and the running log's tail. The pages are server-rendered;
// this only asks them to refresh (htmx) when the service says something changed.
(function () {
  "use strict";
  const DELAY = 100; // ms after a change before the live parts refresh
  const MIN_GAP = 500; // ms between two refreshes, however busy the service is
  let pending = null;
  let last = 0;
  let held = false; // a refresh was held back while the operator typed

  function typingIn(el) {
    const active = document.activeElement;
    return active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)
      && active.type !== "checkbox";
  }

  // every element marked data-live re-reads itself (its hx-get); not while the operator
  // types in it: it catches up when they leave the field
  function refresh() {
    pending = null;
    last = Date.now();
    held = false;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (typingIn(el)) { held = true; } else { htmx.trigger(el, "live"); }
    });
  }
  function soon() {
    if (!pending) { pending = setTimeout(refresh, Math.max(DELAY, last + MIN_GAP - Date.now())); }
  }
  document.addEventListener("focusout", function () { if (held) { soon(); } });

  // one EventSource on the API's change stream (it reconnects by itself after an error),
  // closed when the page is left: a browser holds only six connections to one HTTP/1.1 host,
  // and a stream kept by a page in the back-forward cache would hold one of them
  let source = null;
  function listen() {
    const url = document.body.dataset.events;
    if (!url || !window.EventSource || source) { return; }
    source = new EventSource(url);
    source.onmessage = soon;
    source.onopen = function () {
      document.body.dataset.listening = "true";
      soon(); // what changed between the page's rendering and now
    };
  }

  // a refresh keeps what the operator had ticked (not "select all": new rows come unticked)
  function key(box) { return box.id ? "#" + box.id : box.name + "=" + box.value; }
  document.addEventListener("htmx:beforeSwap", function (e) {
    const ticked = [];
    e.detail.target.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      if (box.id !== "select-all") { ticked.push(key(box)); }
    });
    e.detail.target.dataset.ticked = JSON.stringify(ticked);
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    const ticked = JSON.parse(e.detail.target.dataset.ticked || "[]");
    e.detail.target.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (ticked.indexOf(key(box)) >= 0) { box.checked = true; }
    });
    tail();
  });
  // an action's answer says what happened; the lists refresh at once
  document.addEventListener("cimjob-changed", soon);

  document.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      document.querySelectorAll("#jobs input[name=ids]").forEach(function (box) { box.checked = e.target.checked; });
    }
  });

  // the job page shows the output of its latest run, followed while the run goes on
  let tailing = null;
  let tailer = null;
  function tail() {
    const pre = document.getElementById("tail");
    const summary = document.querySelector("#job-live .summary");
    if (!pre || !summary) { return; }
    const run = summary.dataset.run;
    const running = summary.dataset.running === "true";
    const wanted = run + (running ? "+" : "");
    // a run followed live has all its output once it ends
    if (run === "0" || tailing === wanted || (tailing === run + "+" && !running)) { return; }
    tailing = wanted;
    pre.textContent = "";
    document.getElementById("tail-run").textContent = "run " + run + (running ? " (live)" : "");
    const url = "/api/v1/jobs/" + pre.dataset.job + "/runs/" + run + "/log" + (running ? "?follow=1" : "");
    if (tailer) { tailer.abort(); }
    tailer = new AbortController();
    fetch(url, { signal: tailer.signal }).then(function (response) {
      if (!response.ok) { throw new Error("log: " + response.status); }
      const reader = response.body.getReader();
      const text = new TextDecoder();
      function more() {
        return reader.read().then(function (part) {
          if (tailing !== wanted) { return; }
          if (part.done) { pre.textContent += text.decode(); return; }
          pre.textContent += text.decode(part.value, { stream: true });
          pre.scrollTop = pre.scrollHeight;
          return more();
        });
      }
      return more();
    }).catch(function () {
      // an aborted tail was replaced by a newer one; a failed one is tried again later
      if (tailing === wanted) { tailing = null; }
    });
  }

  window.addEventListener("pagehide", function () {
    if (source) { source.close(); source = null; }
    tailing = null;
    if (tailer) { tailer.abort(); tailer = null; }
  });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { listen(); tail(); } });
  document.addEventListener("DOMContentLoaded", function () { listen(); tail(); });
})();
