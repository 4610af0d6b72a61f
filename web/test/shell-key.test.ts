import { test } from "node:test";
import assert from "node:assert/strict";
import { shellKey } from "../src/sw/shell-key.ts";

const get = (url: string, mode = "cors") => ({ method: "GET", url, mode });

test("the page, its script, style and config are the shell; a navigation ignores the query", () => {
  const scope = "http://h:4000/";
  assert.equal(shellKey(scope, get("http://h:4000/", "navigate")), "http://h:4000/");
  assert.equal(shellKey(scope, get("http://h:4000/?x=1", "navigate")), "http://h:4000/");
  assert.equal(shellKey(scope, get("http://h:4000/index.html", "navigate")), "http://h:4000/");
  assert.equal(shellKey(scope, get("http://h:4000/app.js")), "http://h:4000/app.js");
  assert.equal(shellKey(scope, get("http://h:4000/style.css?v=2")), "http://h:4000/style.css");
  assert.equal(shellKey(scope, get("http://h:4000/ferry-web.json")), "http://h:4000/ferry-web.json");
});

test("anything else goes to the network untouched", () => {
  const scope = "http://h:4000/";
  assert.equal(shellKey(scope, get("http://h:4000/ferry-download/abc")), null);
  assert.equal(shellKey(scope, get("http://h:4000/other", "navigate")), null);
  assert.equal(shellKey(scope, get("http://other:4000/app.js")), null);
  assert.equal(shellKey(scope, { method: "POST", url: "http://h:4000/app.js", mode: "cors" }), null);
  assert.equal(shellKey(scope, get("http://h:4000/sw.js")), null, "the browser updates the worker itself");
});

test("under a path prefix the shell is relative to the worker's scope", () => {
  const scope = "https://h/ferry/";
  assert.equal(shellKey(scope, get("https://h/ferry/", "navigate")), "https://h/ferry/");
  assert.equal(shellKey(scope, get("https://h/ferry/app.js")), "https://h/ferry/app.js");
  assert.equal(shellKey(scope, get("https://h/app.js")), null);
});
