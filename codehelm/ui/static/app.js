// Live steps over server-sent events, and the graph drawn by the vendored Mermaid.
"use strict";

function follow(timeline) {
  const source = new EventSource(timeline.dataset.stream);
  const parse = (html) => {
    const box = document.createElement("template");
    box.innerHTML = html.trim();
    return box.content.firstElementChild;
  };
  source.addEventListener("step", (message) => {
    const step = parse(message.data);
    const old = document.getElementById(step.id);
    if (old) old.replaceWith(step); else timeline.append(step);
  });
  source.addEventListener("head", (message) => {
    const head = document.getElementById("run-head");
    head.innerHTML = message.data;
    const approval = document.getElementById("approval");
    if (approval && head.querySelector("h1").dataset.status !== "paused") approval.remove();
  });
  source.addEventListener("end", () => {
    source.close();
    document.body.dataset.ended = "1";
  });
}

function drawGraph() {
  if (!document.querySelector("pre.mermaid")) return;
  const script = document.createElement("script");
  script.src = "/static/vendor/mermaid.min.js";
  script.onload = () => {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    window.mermaid.run({ querySelector: "pre.mermaid" });
  };
  document.head.append(script);
}

// A model call's prompt and reply are fetched when first opened: they are most of a trace.
document.addEventListener("toggle", async (event) => {
  const call = event.target;
  if (!call.matches || !call.matches("details.call") || !call.open || call.dataset.loaded) return;
  call.dataset.loaded = "1";
  const reply = await fetch(call.dataset.src);
  call.insertAdjacentHTML("beforeend", await reply.text());
}, true);

const timeline = document.querySelector("#timeline[data-stream]");
if (timeline) follow(timeline);
if (document.readyState === "complete") drawGraph();
else window.addEventListener("load", drawGraph);
