// The edgeocr page: send an image to POST /ocr, draw each line's box over it, list the lines.
// Plain DOM, no framework and nothing from a CDN: the device is often offline.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  // uncertainBelow: lines whose confidence is under it are marked (the server's /health says it).
  const state = { authRequired: false, previewUrl: null, text: "", uncertainBelow: 0 };

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = !message;
    if (message) {
      // A stale result under a new error would read as the answer to the new image.
      $("result").hidden = true;
      $("error").scrollIntoView({ block: "nearest" });
    }
  }

  function authHeaders() {
    const token = $("token").value.trim();
    return state.authRequired && token ? { Authorization: "Bearer " + token } : {};
  }

  async function loadHealth() {
    try {
      const response = await fetch("/health");
      const health = await response.json();
      state.authRequired = !!health.auth_required;
      state.uncertainBelow = Number(health.uncertain_below) || 0;
      $("token-row").hidden = !state.authRequired;
      $("status").textContent = health.pack.name + " " + health.pack.version + " · v" + health.version;
    } catch (err) {
      $("status").textContent = "server not reachable";
    }
  }

  function highlight(index, on) {
    document.querySelectorAll('[data-line="' + index + '"]').forEach((el) => el.classList.toggle("hot", on));
  }

  function hoverable(el, index) {
    el.dataset.line = String(index);
    el.addEventListener("mouseenter", () => highlight(index, true));
    el.addEventListener("mouseleave", () => highlight(index, false));
  }

  function render(result, seconds) {
    const svg = $("boxes");
    const list = $("lines");
    svg.replaceChildren();
    list.replaceChildren();
    svg.setAttribute("viewBox", "0 0 " + result.image.width + " " + result.image.height);
    result.text_lines.forEach((line, index) => {
      const polygon = document.createElementNS(SVG, "polygon");
      polygon.setAttribute("points", line.polygon.map((p) => p.join(",")).join(" "));
      hoverable(polygon, index);
      svg.appendChild(polygon);

      const item = document.createElement("li");
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = line.text;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = (line.confidence * 100).toFixed(1) + "% · box " + line.box.join(", ");
      if (line.confidence < state.uncertainBelow) {
        item.classList.add("uncertain");
        polygon.classList.add("uncertain");
        meta.textContent += " · uncertain, check it";
        item.title = "confidence under " + (state.uncertainBelow * 100).toFixed(0) + "%: this line may be misread";
      }
      item.append(text, meta);
      hoverable(item, index);
      list.appendChild(item);
    });
    if (!result.text_lines.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No text found.";
      list.appendChild(empty);
    }
    state.text = result.text;
    $("copy").disabled = !result.text_lines.length;
    const count = result.text_lines.length;
    const uncertain = result.text_lines.filter((line) => line.confidence < state.uncertainBelow).length;
    $("timing").textContent = count + (count === 1 ? " line" : " lines") + (uncertain ? " (" + uncertain + " uncertain)" : "") +
      " · engine " + (result.total_time * 1000).toFixed(0) +
      " ms · round trip " + (seconds * 1000).toFixed(0) + " ms" + (result.cached ? " · cached" : "");
    $("result").hidden = false;
  }

  async function read(file) {
    if (!file) return;
    // Every message names the file it is about: after a few tries, "not an image" alone is a riddle.
    const name = file.name || "the pasted image";
    if (file.type && !file.type.startsWith("image/")) {
      showError(name + ": that is not an image (" + file.type + "). Choose a JPEG, PNG, TIFF, WebP or BMP file.");
      return;
    }
    showError("");
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = URL.createObjectURL(file);
    $("preview").src = state.previewUrl;
    $("timing").textContent = "reading…";
    const form = new FormData();
    form.append("image", file, file.name || "pasted.png");
    const started = performance.now();
    try {
      const response = await fetch("/ocr", { method: "POST", body: form, headers: authHeaders() });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body || !body.success) {
        const error = body && body.error ? body.error : { code: "http_" + response.status, message: response.statusText };
        let message = name + ": " + error.message + " (" + error.code + ")";
        if (response.status === 401) message += " Enter the access token above.";
        if (response.status === 503) message += " The server is busy; try again in a moment.";
        showError(message);
        return;
      }
      render(body, (performance.now() - started) / 1000);
    } catch (err) {
      showError(name + ": could not reach the server: " + err.message);
    }
  }

  async function copyAll() {
    try {
      await navigator.clipboard.writeText(state.text);
    } catch (err) {
      // navigator.clipboard needs https or localhost; a device on the LAN is plain http.
      const area = document.createElement("textarea");
      area.value = state.text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    $("copy").textContent = "Copied";
    setTimeout(() => { $("copy").textContent = "Copy all text"; }, 1500);
  }

  function showHints() {
    // A phone or tablet has no keyboard shortcut to paste and nothing to drop from: offer the
    // camera and the picker instead. Touch-only means a coarse pointer and no fine one beside it.
    const touchOnly = matchMedia("(pointer: coarse)").matches && !matchMedia("(any-pointer: fine)").matches;
    $("desktop-hint").hidden = touchOnly;
    $("touch-hint").hidden = !touchOnly;
    if (/Mac|iPhone|iPad/.test(navigator.platform || "")) $("paste-keys").textContent = "⌘V";
  }

  function init() {
    const drop = $("drop");
    showHints();
    $("token").value = localStorage.getItem("edgeocr.token") || "";
    $("token").addEventListener("change", () => localStorage.setItem("edgeocr.token", $("token").value.trim()));
    $("file").addEventListener("change", (event) => { read(event.target.files[0]); event.target.value = ""; });
    ["dragenter", "dragover"].forEach((name) => document.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((name) => document.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.remove("over");
    }));
    document.addEventListener("drop", (event) => read(event.dataTransfer.files[0]));
    document.addEventListener("paste", (event) => {
      const items = event.clipboardData ? Array.from(event.clipboardData.items) : [];
      const item = items.find((entry) => entry.kind === "file" && entry.type.startsWith("image/"));
      if (item) read(item.getAsFile());
    });
    $("copy").addEventListener("click", copyAll);
    loadHealth();
  }

  init();
})();
