from sqlmodel import Field, SQLModel


class InstanceSecret(SQLModel, table=True):
    """A random key made once per installation and shared by its processes through the
    database (e.g. the key that signs queue messages). Never shown, never logged."""

    __tablename__ = "instance_secret"

    name: str = Field(primary_key=True)
    value: str
