// SAMP Web Profile client (IVOA SAMP 1.3, section 5): sends a VOTable URL to TOPCAT, Aladin or any
// other SAMP tool through the hub they run on the user's machine (http://localhost:21012).
// Register, declare who we are, broadcast table.load.votable, unregister. The hub asks the user
// to accept the registration; the tools then fetch the table from this service themselves.
(() => {
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function encode(v) {
    if (Array.isArray(v)) return `<array><data>${v.map((x) => `<value>${encode(x)}</value>`).join("")}</data></array>`;
    if (v !== null && typeof v === "object") {
      return `<struct>${Object.entries(v)
        .map(([k, x]) => `<member><name>${esc(k)}</name><value>${encode(x)}</value></member>`)
        .join("")}</struct>`;
    }
    return `<string>${esc(v)}</string>`; // SAMP passes every scalar as a string
  }

  function decode(node) {
    const el = [...node.children][0];
    if (!el) return node.textContent; // <value>text</value> is a string
    switch (el.tagName) {
      case "struct": {
        const out = {};
        for (const m of el.children) {
          out[m.querySelector("name").textContent] = decode(m.querySelector("value"));
        }
        return out;
      }
      case "array":
        return [...el.querySelector("data").children].map(decode);
      case "int":
      case "i4":
        return parseInt(el.textContent, 10);
      case "boolean":
        return el.textContent.trim() === "1";
      default:
        return el.textContent;
    }
  }

  async function call(hub, method, params) {
    const body = `<?xml version="1.0"?><methodCall><methodName>samp.webhub.${method}</methodName><params>${params
      .map((p) => `<param><value>${encode(p)}</value></param>`)
      .join("")}</params></methodCall>`;
    const response = await fetch(hub, { method: "POST", headers: { "Content-Type": "text/xml" }, body });
    if (!response.ok) throw new Error(`hub answered HTTP ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), "text/xml");
    const fault = doc.querySelector("fault > value");
    if (fault) throw new Error(decode(fault).faultString || "hub refused the call");
    const value = doc.querySelector("params > param > value");
    return value ? decode(value) : null;
  }

  async function sendTable(hub, url, name) {
    let registration;
    try {
      registration = await call(hub, "register", [{ "samp.name": "PAPERCLIP" }]);
    } catch (e) {
      if (e instanceof TypeError) throw new Error("no SAMP hub answered: start TOPCAT or Aladin, or use the VOTable link");
      throw e;
    }
    const key = registration["samp.private-key"];
    try {
      await call(hub, "declareMetadata", [key, {
        "samp.name": "PAPERCLIP",
        "samp.description.text": "Hubble archive search in plain language",
        "samp.documentation.url": new URL("/docs", location.href).href,
      }]);
      const message = { "samp.mtype": "table.load.votable", "samp.params": { url, "table-id": url, name } };
      const recipients = await call(hub, "notifyAll", [key, message]);
      return Array.isArray(recipients) ? recipients.length : 0;
    } finally {
      await call(hub, "unregister", [key]).catch(() => {});
    }
  }

  for (const button of document.querySelectorAll("button[data-samp-votable]")) {
    const status = document.getElementById(button.getAttribute("aria-describedby")) || button.nextElementSibling;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const url = new URL(button.dataset.sampVotable, location.href).href;
      const hub = button.dataset.sampHub || "http://localhost:21012/";
      button.disabled = true;
      status.textContent = "Waiting for the SAMP hub (accept PAPERCLIP there if it asks)…";
      try {
        const n = await sendTable(hub, url, button.dataset.sampName || "PAPERCLIP results");
        status.textContent = n
          ? `Sent to ${n} SAMP application${n === 1 ? "" : "s"}.`
          : "The hub is running but no application listens for tables: open TOPCAT or Aladin.";
      } catch (e) {
        status.textContent = `Not sent: ${e.message}.`;
      } finally {
        button.disabled = false;
      }
    });
  }
})();
