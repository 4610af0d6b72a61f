// PLACEHOLDER: the real bundle (esbuild output of web/src) replaces this file (issue 13).
// It only proves the server's wiring: it reads /ferry-web.json and shows it.
fetch("/ferry-web.json")
  .then((r) => r.json())
  .then((cfg) => {
    document.getElementById("status").textContent =
      "Placeholder page. Server: " + cfg.mailbox;
  });
