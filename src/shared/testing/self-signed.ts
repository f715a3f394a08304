/**
 * A self-signed certificate for 127.0.0.1/localhost and its key, made with openssl in `dir`: for unit tests of
 * TLS set-up (a CA chain for end-to-end tests comes from the lab's PKI, src/lab/pki.ts).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const [cert, key] = [join(dir, `${name}.pem`), join(dir, `${name}-key.pem`)];
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
      .concat(["-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
      .concat(["-keyout", key, "-out", cert]),
    { stdio: "ignore", timeout: 30_000 },
  );
  return { cert, key };
}
