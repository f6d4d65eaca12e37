"""Connections to Redis (REDIS_URL), shared by the queue and the event bus.

Timeouts are short and every command reconnects on its own: a Redis restart costs the
console and the workers a few seconds of waiting, never a stuck thread.
"""

from redis import ConnectionPool, Redis


def redis_pool(url: str, prefix: str) -> ConnectionPool:
    # socket_timeout must outlast the queue's 1 s blocking pop; health checks find a
    # connection that a restart cut before it is used. The name shows in CLIENT LIST.
    return ConnectionPool.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                   health_check_interval=10, retry_on_timeout=True,
                                   client_name=f"jobdeck-{prefix}")


def redis_client(url: str, prefix: str) -> Redis:
    return Redis(connection_pool=redis_pool(url, prefix))
