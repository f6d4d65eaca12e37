"""Random keys made once per installation and shared by all its processes through the
database, so that no process needs one configured (and none ships a default)."""

import secrets

from sqlalchemy.exc import IntegrityError

from engine.store.db import read_scope, session_scope
from models import InstanceSecret


def instance_secret(name: str) -> str:
    """The installation's secret `name`, made on first use; every process gets the same."""
    with read_scope() as session:
        row = session.get(InstanceSecret, name)
    if row is not None:
        return row.value
    try:
        with session_scope() as session:
            session.add(InstanceSecret(name=name, value=secrets.token_hex(32)))
    except IntegrityError:  # another process made it a moment ago: use theirs
        pass
    with read_scope() as session:
        return session.get(InstanceSecret, name).value
