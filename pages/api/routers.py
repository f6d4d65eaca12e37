"""The API's routers, listed once: the console includes them in this order (then
`allow.router`, which answers what none of them took), /openapi.json describes them, and
`allow` looks in them for a path's methods."""

from pages.api import (
    control,
    events,
    healing,
    health,
    notifications,
    retention,
    routes,
    runbook_versions,
    schedules,
)

API_ROUTERS = [routes.router, events.router, schedules.router, notifications.router,
               control.router, health.router, healing.router, runbook_versions.router,
               retention.router]
