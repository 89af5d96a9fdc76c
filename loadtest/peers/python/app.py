"""The session hot path the way Zendesk's public sample code does it (Python/Flask + PyJWT):
sign iat, jti, email and name with the shared secret and answer a page that auto-posts the
token. Benchmark peer only: no authentication, no return_to check."""
import os
import time
import uuid

import jwt
from flask import Flask, request

app = Flask(__name__)
SECRET = os.environ.get("SHARED_SECRET", "a-zendesk-shared-secret-of-realistic-length-48ch")
SUBDOMAIN = os.environ.get("SUBDOMAIN", "acme")


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/login")
def login():
    payload = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "name": "Art Abingdon",
               "email": "artabingdon@imisdemo.com"}
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    return_to = request.args.get("return_to", "")
    return (f'<!doctype html><html><body><form id="deliver" method="post" '
            f'action="https://{SUBDOMAIN}.zendesk.com/access/jwt">'
            f'<input type="hidden" name="jwt" value="{token}">'
            f'<input type="hidden" name="return_to" value="{return_to}">'
            '<button type="submit">Continue</button></form>'
            '<script>document.getElementById("deliver").submit();</script></body></html>')
