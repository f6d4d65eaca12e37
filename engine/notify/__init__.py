"""Notifications: channel URLs (channels), what a message says (messages), Jobdeck's signed
webhook (webhook), sending with retries (sending) and what happened (detect). The public
API is engine/service/notifications.py; the thread is engine/background/notifier.py."""
