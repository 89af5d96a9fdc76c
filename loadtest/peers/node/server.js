// The session hot path the way Zendesk's public sample code does it (zendesk_jwt_sso_examples,
// Node/express): sign iat, jti, email and name with the shared secret and answer a page that
// auto-posts the token. Benchmark peer only: no authentication, no return_to check.
const express = require("express");
const jwt = require("jsonwebtoken");
const crypto = require("crypto");

const app = express();
const secret = process.env.SHARED_SECRET || "a-zendesk-shared-secret-of-realistic-length-48ch";
const subdomain = process.env.SUBDOMAIN || "acme";

app.get("/healthz", (req, res) => res.send("ok"));
app.get("/login", (req, res) => {
  const payload = {
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    name: "Art Abingdon",
    email: "artabingdon@imisdemo.com",
  };
  const token = jwt.sign(payload, secret, { algorithm: "HS256" });
  const returnTo = req.query.return_to || "";
  res.send(`<!doctype html><html><body><form id="deliver" method="post" action="https://${subdomain}.zendesk.com/access/jwt">` +
    `<input type="hidden" name="jwt" value="${token}"><input type="hidden" name="return_to" value="${returnTo}">` +
    `<button type="submit">Continue</button></form><script>document.getElementById("deliver").submit();</script></body></html>`);
});

app.listen(Number(process.env.PORT || 19300), "127.0.0.1");
