"""People who use the console, their API tokens and their signed-in browser sessions."""

from datetime import datetime
from enum import Enum

from sqlalchemy import Index, func, text
from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, enum_type, utcnow


class Role(str, Enum):
    """Each role may do what the one before it may, and more (see engine/identity/access.py)."""

    viewer = "viewer"
    operator = "operator"
    approver = "approver"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    # one name per person whatever its case ("Ann" and "ann" are the same person)
    __table_args__ = (Index("ux_user_account_lower_name", func.lower(text("name")),
                            unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    role: Role = Field(sa_type=enum_type(Role))
    password_hash: str  # argon2id; never shown, never logged
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for the API. Only its SHA-256 is kept: the token is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    label: str
    token_hash: str = Field(unique=True, index=True)
    shown_prefix: str  # the first characters, so a person can tell their tokens apart
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; the table holds its SHA-256,
    so signing out (or an admin disabling the user) ends it on the server."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    source: str | None = None  # the address it signed in from
