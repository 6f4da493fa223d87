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
