// Drag and drop onto the upload area; the plain file picker works without this script.
(() => {
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  if (!drop || !input) return;
  const label = drop.querySelector("span");
  const show = () => { if (input.files.length) label.textContent = `Selected: ${input.files[0].name}`; };
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
  });
})();

// While the upload and the search run: the button is disabled and says so, a spinner shows.
(() => {
  const form = document.getElementById("upload-form");
  const button = document.getElementById("upload-button");
  const busy = document.getElementById("upload-busy");
  if (!form || !button || !busy) return;
  form.addEventListener("submit", () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    busy.hidden = false;
  });
  // coming back to the page (browser history) must not leave it stuck busy
  window.addEventListener("pageshow", () => { button.disabled = false; button.removeAttribute("aria-busy"); busy.hidden = true; });
})();
