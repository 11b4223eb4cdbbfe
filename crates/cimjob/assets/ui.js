// cimjob dashboard: live updates and the running log's tail. The pages are server-rendered;
// this only asks them to refresh (htmx) when the service says something changed.
(function () {
  "use strict";
  let pending = null;

  // every element marked data-live re-reads itself (its hx-get), at most every 150 ms
  function refresh() {
    pending = null;
    document.querySelectorAll("[data-live]").forEach(function (el) { htmx.trigger(el, "live"); });
  }
  function soon() { if (!pending) { pending = setTimeout(refresh, 150); } }

  // one EventSource on the API's change stream (it reconnects by itself after an error)
  function listen() {
    const url = document.body.dataset.events;
    if (!url || !window.EventSource) { return; }
    const source = new EventSource(url);
    source.onmessage = soon;
    source.onopen = soon; // what changed while it was away
  }

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
    fetch(url).then(function (response) {
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
