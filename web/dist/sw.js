// PLACEHOLDER: the real service worker replaces this file (issue 13).
self.addEventListener("install", () => self.skipWaiting());
