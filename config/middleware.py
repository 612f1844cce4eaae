"""HTTP plumbing that knows no app."""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware


class ApiGZipMiddleware(GZipMiddleware):
    """Gzip the API's GET answers (Django's GZipMiddleware, for `GET /api/…` only).

    Why: a list page of 50 schedules is about 45 KB of JSON and gzips to about a tenth of that
    (bench_api.py prints both sizes), which is what a staff browser or a script on a slow link
    waits for.

    Why only GET under /api/ (BREACH: an attacker who can put chosen text into a compressed
    response beside a secret, and see its length, can guess the secret byte by byte):
    - the API's GET answers hold no secret to guess: vault values are write-only, job logs are
      redacted, agent tokens are shown only in POST answers (create, rotate), and the agent
      API's claim (which hands a job its secrets) is a POST too — POSTs stay uncompressed;
    - scripts call the API with a token in a header, which another site cannot make a browser
      send; the staff frontend's session-cookie GETs carry no CSRF token in their JSON;
    - the admin's HTML pages (/app/) carry CSRF tokens and echo what was typed into forms:
      Django masks the token per response, but they are small pages and not worth the doubt,
      so they stay uncompressed. Static files are WhiteNoise's, precompressed at collectstatic.
    """

    def process_response(self, request, response):
        if request.method != "GET" or not request.path.startswith("/api/"):
            return response
        return super().process_response(request, response)
