"""Users, passwords, sign-in sessions and API tokens.

Passwords are hashed with argon2id. Session cookies and API tokens are random strings of
which only a SHA-256 is stored: they have far more entropy than a password, and a
lookup by hash needs no slow hashing. Every change and every sign-in (also a failed one)
goes to the audit log.
"""

import hashlib
import re
import secrets
import threading
from contextlib import suppress
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from engine.errors import Forbidden, InvalidInput, StorageFull
from engine.identity import audit
from engine.identity.access import Actor
from engine.store.db import read_scope, session_scope
from engine.store.disk import storage_guard
from models import ApiToken, LoginSession, Role, User, utcnow

SESSION_LIFETIME = timedelta(hours=12)  # renewed while in use, ended by signing out
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5  # then sign-ins for that name wait out the window
MAX_FAILURES_PER_SOURCE = 20  # the same from one address, whatever names it tries
MIN_PASSWORD = 8
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
FIRST_ADMIN = "admin"
TOKEN_PREFIX = "jd_"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))  # unknown names take as long as known ones
# argon2 takes 64 MiB per hash: a burst of sign-ins must not take the server's memory
_hashing = threading.BoundedSemaphore(4)


class AccountError(InvalidInput):
    """A bad name, role or password, or an unknown user: nothing was changed."""


class SignInRefused(Forbidden):
    """Wrong name or password, a disabled user, or too many failed attempts."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _actor(user: User, source: str | None) -> Actor:
    assert user.id is not None  # users reach here from the database
    return Actor(id=user.id, name=user.name, role=user.role, source=source)


def check_password(password: str, name: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if password.lower() == name.lower():
        raise AccountError("the password must not be the user's name")


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}: use one of "
                           f"{', '.join(r.value for r in Role)}") from None


# --- users -------------------------------------------------------------------------------

def create_user(name: str, role: str | Role, password: str, *, by: str,
                source: str | None = None) -> User:
    if not NAME_RULE.fullmatch(name):
        raise AccountError("a user name has 1 to 64 letters, digits and . _ @ -, "
                           "starting with a letter or digit")
    role = parse_role(role) if isinstance(role, str) else role
    check_password(password, name)
    password_hash = _hash(password)  # slow: not inside the write transaction
    try:  # the unique index on lower(name) refuses a second "Ann"
        with session_scope() as session:
            user = User(name=name, role=role, password_hash=password_hash)
            session.add(user)
            session.flush()
            audit.record(by, "user_created", target=f"user {name}", source=source,
                         after=role.value, session=session)
            session.refresh(user)
            return user
    except IntegrityError:
        raise AccountError(f'there is already a user named "{name}"') from None


def list_users() -> list[User]:
    with read_scope() as session:
        return list(session.exec(select(User).order_by(User.name)))


def _named(name: str):
    """The user called `name`: names are told apart regardless of case ("Ann" is "ann")."""
    return select(User).where(func.lower(User.name) == name.lower())


def get_user(name: str) -> User | None:
    with read_scope() as session:
        return session.exec(_named(name)).first()


def _change_user(name: str, by: str, source: str | None, action: str, change) -> User:
    with session_scope() as session:
        user = session.exec(_named(name)).first()
        if user is None:
            raise AccountError(f'there is no user named "{name}"')
        before, after = change(session, user)
        session.add(user)
        audit.record(by, action, target=f"user {user.name}", source=source, before=before,
                     after=after, session=session)
        session.flush()
        session.refresh(user)
        return user


def _admins_left(session, without: User) -> int:
    """Active admins besides `without`, their rows locked (PostgreSQL) so that two admins
    demoting each other at once cannot leave none."""
    return len(session.exec(select(User.id).where(
        User.role == Role.admin, col(User.disabled).is_(False), col(User.id) != without.id)
        .with_for_update()).all())


def set_role(name: str, role: str | Role, *, by: str, source: str | None = None) -> User:
    role = parse_role(role) if isinstance(role, str) else role

    def change(session, user):
        if user.role == Role.admin and role != Role.admin and not _admins_left(session, user):
            raise AccountError(f"{name} is the last admin: make another admin first")
        before, user.role = user.role.value, role
        return before, role.value

    return _change_user(name, by, source, "user_role_changed", change)


def set_disabled(name: str, disabled: bool, *, by: str, source: str | None = None) -> User:
    """A disabled user cannot sign in; their sessions end and their tokens stop working."""

    def change(session, user):
        if disabled and user.role == Role.admin and not _admins_left(session, user):
            raise AccountError(f"{name} is the last admin: make another admin first")
        user.disabled = disabled
        if disabled:
            session.exec(delete(LoginSession).where(LoginSession.user_id == user.id))
        return None, None

    return _change_user(name, by, source, "user_disabled" if disabled else "user_enabled",
                        change)


def set_password(name: str, password: str, *, by: str, source: str | None = None,
                 keep_session: str | None = None) -> User:
    """A new password ends the user's other sessions (all of them when an admin sets it)."""
    check_password(password, name)
    password_hash = _hash(password)

    def change(session, user):
        user.password_hash, user.password_changed_at = password_hash, utcnow()
        ending = delete(LoginSession).where(LoginSession.user_id == user.id)
        if keep_session:
            ending = ending.where(LoginSession.token_hash != _digest(keep_session))
        session.exec(ending)
        return None, None

    return _change_user(name, by, source, "password_changed", change)


def change_own_password(actor: Actor, current: str, new: str, keep_session: str | None
                        ) -> None:
    """A user's own change: the current password first (wrong guesses count towards the
    sign-in limit); their other sessions end."""
    user = get_user(actor.name)
    if user is None or _throttled(user, f"user {actor.name}", None):
        raise AccountError("too many wrong passwords: try again in "
                           f"{FAILURE_WINDOW.seconds // 60} minutes")
    if not _verify(user.password_hash, current):
        audit.record(actor.name, "password_change_refused", target=f"user {actor.name}",
                     source=actor.source, comment="wrong current password")
        raise AccountError("the current password is wrong")
    set_password(actor.name, new, by=actor.name, source=actor.source, keep_session=keep_session)


def ensure_first_admin(password: str | None) -> str | None:
    """With no users yet: make the admin, with `password` or a new one, which is returned
    (to be shown once). None when users exist or the password was given."""
    with read_scope() as session:
        if session.exec(select(func.count()).select_from(User)).one():
            return None
    made = password or secrets.token_urlsafe(12)
    try:
        create_user(FIRST_ADMIN, Role.admin, made, by="jobdeck", source="first start")
    except AccountError:
        if get_user(FIRST_ADMIN) is not None:  # another process made it at the same moment
            return None
        raise
    return None if password else made


# --- signing in ----------------------------------------------------------------------------

def sign_in(name: str, password: str, source: str | None) -> tuple[str, Actor]:
    """A new session's token (for the cookie) and who signed in. SignInRefused says why
    not, without telling a wrong name from a wrong password."""
    name = name.strip()[:64]
    user = get_user(name)
    target = f"user {user.name if user else name}"
    if _throttled(user, target, source):
        audit.record(name, "sign_in_throttled", target=target, source=source)  # not counted
        raise SignInRefused(f"too many failed sign-ins: try again in "
                            f"{FAILURE_WINDOW.seconds // 60} minutes, or ask an admin to set "
                            "a new password")
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    if not ok or user is None or user.disabled:  # ok implies a user; says so to mypy
        audit.record(name, "sign_in_failed", target=target, source=source,
                     comment="user disabled" if ok else "wrong name or password")
        raise SignInRefused("this user is disabled: ask an admin" if ok
                            else "wrong name or password")
    assert user.id is not None  # a stored user
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.exec(delete(LoginSession).where(col(LoginSession.expires_at) < utcnow()))
        session.add(LoginSession(user_id=user.id, token_hash=_digest(token), source=source,
                                 expires_at=utcnow() + SESSION_LIFETIME))
        row = session.get(User, user.id)
        row.last_sign_in_at = utcnow()
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hash(password)
        session.add(row)
        audit.record(user.name, "sign_in", target=target, source=source, session=session)
    return token, _actor(user, source)


def _throttled(user: User | None, target: str, source: str | None) -> bool:
    """Too many failures in the window: for this name (since its last sign-in or new
    password, so an admin's reset lifts it), or from this address."""
    since = utcnow() - FAILURE_WINDOW
    if user is not None:
        since = max(since, user.last_sign_in_at or since, user.password_changed_at or since)
    failures = sum(audit.failures_since(action, since, target=target)
                   for action in ("sign_in_failed", "password_change_refused"))
    if failures >= MAX_FAILURES_PER_NAME:
        return True
    return bool(source) and audit.failures_since(
        "sign_in_failed", utcnow() - FAILURE_WINDOW, source=source) >= MAX_FAILURES_PER_SOURCE


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_actor(token: str | None, source: str | None = None) -> tuple[Actor | None, bool]:
    """Who holds this session cookie, and whether it had expired (for the message)."""
    if not token:
        return None, False
    now = utcnow()
    with read_scope() as session:
        found = session.exec(select(LoginSession, User).join(User).where(
            LoginSession.token_hash == _digest(token))).first()
    if found is None:
        return None, False
    login, user = found
    if user.disabled:
        return None, False
    if login.expires_at <= now:  # ended: recorded once, then the row goes
        with session_scope() as session:
            session.exec(delete(LoginSession).where(LoginSession.id == login.id))
            audit.record(user.name, "session_expired", target=f"user {user.name}",
                         source=source, session=session)
        return None, True
    if login.expires_at - now < SESSION_LIFETIME - timedelta(minutes=10):
        with session_scope() as session:  # in use: renew, at most every ten minutes
            row = session.get(LoginSession, login.id)
            if row is not None:
                row.expires_at = now + SESSION_LIFETIME
                session.add(row)
    return _actor(user, source), False


def sign_out(token: str | None, actor: Actor) -> None:
    if token:
        with session_scope() as session:
            session.exec(delete(LoginSession).where(col(LoginSession.token_hash) == _digest(token)))
            audit.record(actor.name, "sign_out", target=f"user {actor.name}",
                         source=actor.source, session=session)


# --- API tokens -------------------------------------------------------------------------

def create_token(user_name: str, label: str, *, by: str, source: str | None = None
                 ) -> tuple[str, ApiToken]:
    """The token itself (shown once, never stored) and its record."""
    label = label.strip()[:80] or "token"
    user = get_user(user_name)
    if user is None:
        raise AccountError(f'there is no user named "{user_name}"')
    if user.disabled:
        raise AccountError(f"{user_name} is disabled: enable them first")
    assert user.id is not None  # a stored user
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        row = ApiToken(user_id=user.id, label=label, token_hash=_digest(token),
                       shown_prefix=token[:8])
        session.add(row)
        audit.record(by, "token_created", target=f"user {user_name}", source=source,
                     comment=f"{label} ({row.shown_prefix}…)", session=session)
        session.flush()
        session.refresh(row)
        return token, row


def token_actor(token: str | None) -> Actor | None:
    """The owner of a valid (not revoked) API token, seen as coming from that token."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    with read_scope() as session:
        found = session.exec(select(ApiToken, User).join(User).where(
            ApiToken.token_hash == _digest(token))).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.revoked_at is not None or user.disabled:
        _refused_token(row, user, now)
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        # a full disk must not lock anyone out: "last used" is only a hint
        with suppress(StorageFull), storage_guard(), session_scope() as session:
            stored = session.get(ApiToken, row.id)
            stored.last_used_at = now
            session.add(stored)
    return _actor(user, f"token {row.label}")


_token_refusals: dict[str, object] = {}  # token hash -> when last recorded (not each request)


def _refused_token(row: ApiToken, user: User, now) -> None:
    """A revoked token (or one of a disabled user) still in use goes to the audit log,
    at most every ten minutes per token, so a forgotten script cannot flood it."""
    last = _token_refusals.get(row.token_hash)
    if last is not None and now - last < timedelta(minutes=10):
        return
    _token_refusals[row.token_hash] = now
    audit.record(user.name, "token_refused", target=f"user {user.name}",
                 source=f"token {row.label}", comment="revoked" if row.revoked_at
                 else "the user is disabled")


def list_tokens(user_id: int) -> list[ApiToken]:
    with read_scope() as session:
        return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                                 .order_by(col(ApiToken.id).desc())))


def revoke_token(token_id: int, actor: Actor) -> ApiToken:
    """Its owner or an admin revokes a token; it stops working at once."""
    with session_scope() as session:
        row = session.get(ApiToken, token_id)
        if row is None or (row.user_id != actor.id and actor.role != Role.admin):
            raise AccountError(f"there is no token {token_id} of yours")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            owner = session.get(User, row.user_id)
            audit.record(actor.name, "token_revoked", target=f"user {owner.name}",
                         source=actor.source, comment=f"{row.label} ({row.shown_prefix}…)",
                         session=session)
        session.flush()
        session.refresh(row)
        return row
