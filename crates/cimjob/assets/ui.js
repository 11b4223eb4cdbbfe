// cimjob dashboard: live updates and the running log's tail. The pages are server-rendered;
// this only asks them to refresh (htmx) when the service says something changed.
(function () {
  "use strict";
  let pending = null;

  // every element marked data-live re-reads itself (its hx-get): soon after a change, and at
  // most once a second; not while the operator types in it (it catches up after)
  let last = 0;
  function typingIn(el) {
    const active = document.activeElement;
    return active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)
      && active.type !== "checkbox";
  }
  function refresh() {
    pending = null;
    last = Date.now();
    let deferred = false;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (typingIn(el)) { deferred = true; } else { htmx.trigger(el, "live"); }
    });
    if (deferred) { soon(); }
  }
  function soon() {
    if (!pending) { pending = setTimeout(refresh, Math.max(150, last + 1000 - Date.now())); }
  }
  document.addEventListener("focusout", function () { if (pending === null) { soon(); } });

  // one EventSource on the API's change stream (it reconnects by itself after an error),
  // closed when the page is left: a browser holds only six connections to one HTTP/1.1 host,
  // and a stream kept by a page in the back-forward cache would hold one of them
  let source = null;
  function listen() {
    const url = document.body.dataset.events;
    if (!url || !window.EventSource || source) { return; }
    source = new EventSource(url);
    source.onmessage = soon;
    source.onopen = soon; // what changed while it was away
  }
  window.addEventListener("pagehide", function () {
    if (source) { source.close(); source = null; }
    tailing = null;
    if (tailer) { tailer.abort(); tailer = null; }
  });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { listen(); tail(); } });

  // a refresh keeps what the operator had ticked
  document.addEventListener("htmx:beforeSwap", function (e) {
    const ticked = [];
    e.detail.target.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      ticked.push(box.id ? "#" + box.id : box.name + "=" + box.value);
    });
    e.detail.target.dataset.ticked = JSON.stringify(ticked);
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    const ticked = JSON.parse(e.detail.target.dataset.ticked || "[]");
    e.detail.target.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      const key = box.id ? "#" + box.id : box.name + "=" + box.value;
      if (ticked.indexOf(key) >= 0) { box.checked = true; }
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
    const key = run + (running ? "+" : "");
    if (run === "0" || tailing === key || (tailing === run + "+" && !running)) { return; }
    tailing = key;
    pre.textContent = "";
    document.getElementById("tail-run").textContent = "run " + run + (running ? " (live)" : "");
    const url = "/api/v1/jobs/" + pre.dataset.job + "/runs/" + run + "/log" + (running ? "?follow=1" : "");
    if (tailer) { tailer.abort(); }
    tailer = new AbortController();
    fetch(url, { signal: tailer.signal }).then(function (response) {
      const reader = response.body.getReader();
      const text = new TextDecoder();
      function more() {
        return reader.read().then(function (part) {
          if (part.done || tailing !== key) { return; }
          pre.textContent += text.decode(part.value, { stream: true });
          pre.scrollTop = pre.scrollHeight;
          return more();
        });
      }
      return more();
    }).catch(function () { tailing = null; });
  }

  document.addEventListener("DOMContentLoaded", function () { listen(); tail(); });
})();
