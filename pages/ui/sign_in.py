"""`/login`: the sign-in form, plain HTML with no script, so it needs nothing the gate closes."""

from html import escape

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.identity import accounts
from pages.auth_gate import COOKIE, client_address, same_origin, session_cookie

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Jobdeck</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{font-family: system-ui, sans-serif; background: #f3f4f8; margin: 0; color: #1f2430}}
 main {{max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
   border-radius: .6rem; box-shadow: 0 2px 12px #0002}}
 h1 {{margin: 0 0 1.2rem; font-size: 1.4rem; color: #3b5bdb}}
 label {{display: block; margin: .8rem 0 .3rem; font-size: .9rem}}
 input {{width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem;
   border: 1px solid #bbc; border-radius: .3rem}}
 button {{margin-top: 1.4rem; width: 100%; padding: .6rem; font-size: 1rem; border: 0;
   border-radius: .3rem; background: #3b5bdb; color: #fff; cursor: pointer}}
 .message {{padding: .6rem; border-radius: .3rem; background: #fdecec; color: #a61b1b}}
 .note {{padding: .6rem; border-radius: .3rem; background: #eef2ff}}
 @media (prefers-color-scheme: dark) {{ body {{background: #15171c; color: #e6e8ee}}
   main {{background: #1f232b}} input {{background: #15171c; color: #e6e8ee}} }}
</style></head>
<body><main>
<h1>Jobdeck</h1>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" autocapitalize="none" required autofocus
 value="{name}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>"""


def safe_next(target: str | None) -> str:
    """Only a path on this server: never another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/jobs"


def render(next_: str, message: str = "", kind: str = "message", name: str = "",
           status: int = 200) -> HTMLResponse:
    box = f'<p class="{kind}" role="alert">{escape(message)}</p>' if message else ""
    return HTMLResponse(PAGE.format(message=box, next=escape(next_), name=escape(name)),
                        status_code=status, headers={
                            "Cache-Control": "no-store", "X-Frame-Options": "DENY",
                            "Content-Security-Policy": "default-src 'none'; "
                            "style-src 'unsafe-inline'; form-action 'self'; "
                            "frame-ancestors 'none'"})


@router.get("/login")
def sign_in_form(request: Request, next: str | None = None, expired: bool = False,
                 signed_out: bool = False) -> HTMLResponse:
    if expired:
        return render(safe_next(next), "Your session expired: sign in again.", "note")
    if signed_out:
        return render(safe_next(next), "You are signed out.", "note")
    return render(safe_next(next))


@router.post("/login")
async def sign_in(request: Request, name: str = Form(""), password: str = Form(""),
                  next: str = Form("/jobs")) -> Response:  # the form again, or a redirect
    if not same_origin(request.headers):  # no signing a browser in from another site
        return render(safe_next(next), "Sign in from Jobdeck's own sign-in page (behind a "
                      "reverse proxy, it must pass the Host header through).", status=403)
    try:
        token, _ = await run_in_threadpool(accounts.sign_in, name, password,
                                           client_address(request.scope))
    except accounts.SignInRefused as exc:
        status = 429 if "too many" in str(exc) else 401
        return render(safe_next(next), f"Not signed in: {exc}.", name=name, status=status)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def sign_out(request: Request) -> RedirectResponse:
    """Ends the session this browser holds now (the gate let only a same-site request with
    a valid one through) and clears its cookie."""
    await run_in_threadpool(accounts.sign_out, session_cookie(request.headers),
                            request.state.actor)
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response
