/* evalkit report: sortable tables and the image viewer.
 *
 * Plain JavaScript, no dependencies. Data from the run reaches the page only
 * through escaped HTML and attributes; this script reads attributes and writes
 * with textContent, never innerHTML, so no reading or name can become markup.
 */
(function () {
  "use strict";

  document.querySelectorAll("table.sortable").forEach(initSortable);
  document.querySelectorAll(".viewer").forEach(initViewer);

  // ------------------------------------------------------------------ tables

  function initSortable(table) {
    if (!table.tHead || !table.tBodies.length) return;
    const heads = Array.from(table.tHead.rows[table.tHead.rows.length - 1].cells);
    heads.forEach(function (th, column) {
      if (!th.classList.contains("sort")) return;
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(column, th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(column, th); }
      });
    });

    function sortBy(column, th) {
      const current = th.getAttribute("aria-sort");
      const first = th.dataset.first === "desc" ? "descending" : "ascending";
      const order = current === null ? first : (current === "ascending" ? "descending" : "ascending");
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", order);
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const x = key(a.cells[column]);
        const y = key(b.cells[column]);
        if (x === null && y === null) return 0;
        if (x === null) return 1; // missing values last, whichever the direction
        if (y === null) return -1;
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return order === "ascending" ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }

    function key(cell) {
      if (!cell) return null;
      const value = cell.dataset.sort;
      if (value === undefined || value === "") return null;
      if (cell.dataset.type === "text") return value;
      const number = Number(value);
      return Number.isFinite(number) ? number : value;
    }
  }

  // ------------------------------------------------------------------ viewer

  function initViewer(root) {
    const width = Number(root.dataset.width);
    const height = Number(root.dataset.height);
    const fullWidth = Number(root.dataset.fullWidth) || width;
    if (!(width > 0 && height > 0)) return;

    const layers = Array.from(root.querySelectorAll(".layers > li")).map(function (li) {
      const maps = {};
      li.querySelectorAll("[data-map]").forEach(function (span) { maps[span.dataset.map] = span.dataset.src; });
      return { src: li.dataset.src, label: li.dataset.label, kind: li.dataset.kind, denoiser: li.dataset.denoiser, maps: maps };
    });
    const stage = root.querySelector(".stage");
    const before = stage.querySelector(".pane.before");
    const after = stage.querySelector(".pane.after");
    const handle = stage.querySelector(".handle");
    const split = root.querySelector("input.split");
    const grid = root.querySelector(".grid");
    const pickBefore = root.querySelector(".pick-before");
    const pickAfter = root.querySelector(".pick-after");
    const pickMap = root.querySelector(".pick-map");
    const opacity = root.querySelector(".map-opacity");
    const showBoxes = root.querySelector(".show-boxes");
    const zoomLabel = root.querySelector(".zoom-level");
    const tagLeft = stage.querySelector(".tag-left");
    const tagRight = stage.querySelector(".tag-right");

    // The view: zoom (screen px per display-image px, or "fit") and the image
    // point at the centre of every pane; all panes share it, so they stay in step.
    const state = { fit: true, scale: 1, cx: width / 2, cy: height / 2, split: 0.5, mode: "slider" };

    document.querySelectorAll(".canvas").forEach(function (canvas) {
      canvas.style.width = width + "px";
      canvas.style.height = height + "px";
    });

    function panes() {
      return state.mode === "slider" ? [before, after] : Array.from(grid.querySelectorAll(".pane"));
    }

    function fitScale(pane) {
      return Math.min(pane.clientWidth / width, pane.clientHeight / height);
    }

    function scaleOf(pane) {
      return state.fit ? fitScale(pane) : state.scale;
    }

    function sizeStage() {
      const available = Math.max(240, Math.round(window.innerHeight * 0.72));
      stage.style.height = Math.min(available, Math.round(stage.clientWidth * height / width)) + "px";
      grid.querySelectorAll(".cell").forEach(function (cell) {
        cell.style.height = Math.min(available, Math.round(cell.clientWidth * height / width)) + "px";
      });
    }

    function render() {
      panes().forEach(function (pane) {
        const s = scaleOf(pane);
        const cx = state.fit ? width / 2 : state.cx;
        const cy = state.fit ? height / 2 : state.cy;
        const tx = pane.clientWidth / 2 - cx * s;
        const ty = pane.clientHeight / 2 - cy * s;
        const canvas = pane.querySelector(".canvas");
        canvas.style.transform = "translate(" + tx.toFixed(2) + "px, " + ty.toFixed(2) + "px) scale(" + s.toFixed(5) + ")";
        canvas.classList.toggle("pixelated", s >= 2);
      });
      const percent = (state.split * 100).toFixed(3) + "%";
      after.style.clipPath = "inset(0 0 0 " + percent + ")";
      handle.style.left = percent;
      handle.setAttribute("aria-valuenow", String(Math.round(state.split * 100)));
      split.value = String(Math.round(state.split * 1000));
      const shown = state.fit ? fitScale(state.mode === "slider" ? before : panes()[0] || before) : state.scale;
      zoomLabel.textContent = (state.fit ? "fit · " : "") + Math.round(shown * 100) + " %";
      root.querySelectorAll("[data-zoom]").forEach(function (button) {
        const value = button.dataset.zoom;
        button.classList.toggle("on", value === "fit" ? state.fit : !state.fit && Number(value) === state.scale);
      });
    }

    function setHeat(img, layer) {
      const name = pickMap.value;
      const src = name && layer && layer.maps[name];
      if (src) {
        if (img.getAttribute("src") !== src) img.src = src;
        img.hidden = false;
        img.style.opacity = String(Number(opacity.value) / 100);
      } else {
        img.hidden = true;
      }
    }

    function showLayers() {
      const left = layers[Number(pickBefore.value)] || layers[0];
      const right = layers[Number(pickAfter.value)] || layers[0];
      before.querySelector("img.layer").src = left.src;
      after.querySelector("img.layer").src = right.src;
      tagLeft.textContent = left.label;
      tagRight.textContent = right.label;
      setHeat(after.querySelector("img.heat"), right);
      after.querySelectorAll(".box").forEach(function (box) {
        box.hidden = !right.denoiser || box.dataset.denoiser !== right.denoiser;
      });
      grid.querySelectorAll(".cell").forEach(function (cell) {
        setHeat(cell.querySelector("img.heat"), layers[Number(cell.dataset.layer)]);
      });
      root.querySelectorAll(".boxes").forEach(function (boxes) { boxes.classList.toggle("off", !showBoxes.checked); });
    }

    function freeze(pane) {
      // Leave "fit" for an explicit zoom, keeping what is on screen.
      if (state.fit) {
        state.scale = fitScale(pane);
        state.cx = width / 2;
        state.cy = height / 2;
        state.fit = false;
      }
    }

    function zoomTo(scale, pane, px, py) {
      // Keep the image point under (px, py) of the pane where it is.
      freeze(pane);
      const s0 = state.scale;
      const s1 = Math.min(32, Math.max(0.05, scale));
      const x = state.cx + (px - pane.clientWidth / 2) / s0;
      const y = state.cy + (py - pane.clientHeight / 2) / s0;
      state.cx = x - (px - pane.clientWidth / 2) / s1;
      state.cy = y - (py - pane.clientHeight / 2) / s1;
      state.scale = s1;
      render();
    }

    // Split handle: dragging it (or the range input under the stage) moves the split.
    handle.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      event.stopPropagation();
      handle.setPointerCapture(event.pointerId);
      const move = function (e) {
        const box = stage.getBoundingClientRect();
        state.split = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
        render();
      };
      const up = function () {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
        handle.removeEventListener("pointercancel", up);
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
      handle.addEventListener("pointercancel", up);
    });
    handle.addEventListener("keydown", function (event) {
      const step = event.shiftKey ? 0.1 : 0.02;
      if (event.key === "ArrowLeft") state.split = Math.max(0, state.split - step);
      else if (event.key === "ArrowRight") state.split = Math.min(1, state.split + step);
      else return;
      event.preventDefault();
      render();
    });
    split.addEventListener("input", function () {
      state.split = Number(split.value) / 1000;
      render();
    });

    // Pan by dragging any pane; zoom with the wheel around the pointer.
    function attachPan(pane) {
      pane.addEventListener("pointerdown", function (event) {
        if (event.button !== 0 || event.target.closest(".box")) return;
        event.preventDefault();
        pane.setPointerCapture(event.pointerId);
        pane.classList.add("dragging");
        freeze(pane);
        let lastX = event.clientX;
        let lastY = event.clientY;
        const move = function (e) {
          state.cx -= (e.clientX - lastX) / state.scale;
          state.cy -= (e.clientY - lastY) / state.scale;
          lastX = e.clientX;
          lastY = e.clientY;
          render();
        };
        const up = function () {
          pane.classList.remove("dragging");
          pane.removeEventListener("pointermove", move);
          pane.removeEventListener("pointerup", up);
          pane.removeEventListener("pointercancel", up);
        };
        pane.addEventListener("pointermove", move);
        pane.addEventListener("pointerup", up);
        pane.addEventListener("pointercancel", up);
      });
      pane.addEventListener("wheel", function (event) {
        event.preventDefault();
        const box = pane.getBoundingClientRect();
        const factor = Math.pow(1.0015, -event.deltaY);
        zoomTo(scaleOf(pane) * factor, pane, event.clientX - box.left, event.clientY - box.top);
      }, { passive: false });
    }
    // In slider mode the after pane lies on top of the before pane; the stage
    // receives the events so that its whole area pans.
    attachPan(stage);
    grid.querySelectorAll(".pane").forEach(attachPan);
    // attachPan(stage) uses the stage's size, which equals the panes' size.

    root.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        const value = button.dataset.zoom;
        if (value === "fit") {
          state.fit = true;
          render();
          return;
        }
        const pane = panes()[0];
        zoomTo(Number(value), pane, pane.clientWidth / 2, pane.clientHeight / 2);
      });
    });

    root.querySelectorAll("button.mode").forEach(function (button) {
      button.addEventListener("click", function () {
        state.mode = button.dataset.mode;
        root.querySelectorAll("button.mode").forEach(function (b) { b.classList.toggle("on", b === button); });
        const slider = state.mode === "slider";
        stage.hidden = !slider;
        split.hidden = !slider;
        grid.hidden = slider;
        sizeStage();
        render();
      });
    });

    [pickBefore, pickAfter, pickMap, showBoxes].forEach(function (control) {
      control.addEventListener("change", function () { showLayers(); });
    });
    opacity.addEventListener("input", showLayers);

    // "Show in viewer" on a finding: the right image becomes that denoiser's
    // output, zoomed so the box fills about half the stage.
    document.querySelectorAll("button.locate").forEach(function (button) {
      button.addEventListener("click", function () {
        const parts = button.dataset.bbox.split(",").map(Number);
        const k = width / fullWidth; // full-resolution pixels → display pixels
        const index = layers.findIndex(function (l) { return l.denoiser === button.dataset.denoiser; });
        if (index >= 0) pickAfter.value = String(index);
        if (state.mode !== "slider") root.querySelector('button.mode[data-mode="slider"]').click();
        showLayers();
        state.fit = false;
        state.cx = (parts[0] + parts[2] / 2) * k;
        state.cy = (parts[1] + parts[3] / 2) * k;
        const s = 0.5 * Math.min(stage.clientWidth / (parts[2] * k), stage.clientHeight / (parts[3] * k));
        state.scale = Math.min(8, Math.max(fitScale(stage), s));
        render();
        root.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    });

    window.addEventListener("resize", function () { sizeStage(); render(); });
    sizeStage();
    showLayers();
    render();
  }
})();
