"""Queue messages that can say only "run job N", signed with the installation's key.

Huey pickles its messages by default, so whoever can write to the queue (the Redis at
scale) could make a worker run any code. Here a message is JSON holding a job id and an
HMAC-SHA256 over it; anything else is refused before it becomes a task. Even a signed
message can only start a job that is already queued in the database (claims check that).
"""

import hashlib
import hmac
import json
import logging

from huey.registry import Message
from huey.serializer import Serializer

log = logging.getLogger(__name__)


class RefusedMessage(ValueError):
    """A queue message that is not a job id signed with this installation's key."""


class JobMessages(Serializer):
    def __init__(self, key: bytes):
        super().__init__()
        self._key = key
        self.task_name: str | None = None  # the one task a message may name (set once known)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest().encode()

    def _serialize(self, message) -> bytes:
        if not (isinstance(message, Message) and message.name == self.task_name
                and len(message.args) == 1 and isinstance(message.args[0], int)
                and not message.kwargs):
            raise TypeError("the job queue carries only job ids")
        body = json.dumps({"id": message.id, "job_id": message.args[0]}).encode()
        return self._sign(body) + b"." + body

    def _deserialize(self, data: bytes) -> Message:
        signature, _, body = data.partition(b".")
        if not hmac.compare_digest(signature, self._sign(body)):
            log.error("refused a queue message with a wrong signature (%d bytes): someone "
                      "who is not a Jobdeck process of this installation wrote it", len(data))
            raise RefusedMessage("queue message with a wrong signature")
        fields = json.loads(body)
        job_id = fields.get("job_id")
        if not isinstance(job_id, int) or not isinstance(fields.get("id"), str):
            raise RefusedMessage("queue message without a job id")
        return Message(fields["id"], self.task_name, None, 0, 0, None, (job_id,), {})
