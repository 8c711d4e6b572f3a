"""The organisers' console: server-rendered pages under /admin, admin role only.

One module per area (home, events, registrations, door, staff, outbox, ...), each
exporting `ROUTES`; `router.console_router()` mounts them behind one guard. Pages
call the same services as the API, never a second copy of their rules."""
