// A throwaway certificate authority and a server certificate it signs, made
// with the openssl CLI in a test's own directory, for `ferry serve --tls-cert`.
// The CLI trusts the CA (--ca-file); chromium trusts the server's key by its
// SPKI hash, as it would trust a certificate from a public CA: no blanket
// "ignore certificate errors", so a different key is still refused.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const OPENSSL = process.env.OPENSSL_BIN ?? "/usr/bin/openssl";
const OPENSSL_MS = 30_000;

function openssl(args, input) {
  return execFileSync(OPENSSL, args, { input, timeout: OPENSSL_MS, stdio: ["pipe", "pipe", "pipe"] });
}

/** P-256 keys: quick to make, and what rustls and chromium both take. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"];

/**
 * In `dir`: ca.pem (the CA), server.pem and server.key for 127.0.0.1 (IP SAN) and localhost.
 * Returns {ca, cert, key (paths), spki}: spki is the base64 SHA-256 of the server
 * certificate's SubjectPublicKeyInfo, for chromium's --ignore-certificate-errors-spki-list.
 */
export function makeTestCertificates(dir) {
  const at = (f) => join(dir, f);
  const days = ["-days", "2"];
  const ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
  openssl(["req", "-x509", ...NEW_KEY, ...days, "-subj", "/CN=ferry browser test CA", ...ca, "-keyout", at("ca.key"), "-out", at("ca.pem")]);
  openssl(["req", "-new", ...NEW_KEY, "-subj", "/CN=127.0.0.1", "-keyout", at("server.key"), "-out", at("server.csr")]);
  // `x509 -req` adds only these extensions; `req -x509` would add openssl.cnf's CA ones, and clients refuse a CA as a server.
  const ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
  writeFileSync(at("server.ext"), ext);
  const sign = ["-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-extfile", at("server.ext")];
  openssl(["x509", "-req", "-in", at("server.csr"), ...sign, ...days, "-out", at("server.pem")]);
  const publicKey = openssl(["x509", "-in", at("server.pem"), "-noout", "-pubkey"]);
  const spkiDer = openssl(["pkey", "-pubin", "-outform", "DER"], publicKey);
  const spki = openssl(["dgst", "-sha256", "-binary"], spkiDer).toString("base64");
  return { ca: at("ca.pem"), cert: at("server.pem"), key: at("server.key"), spki };
}
