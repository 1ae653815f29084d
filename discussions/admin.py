"""The debate's admin lives in forum/admin.py, beside the moderation desk whose services it calls."""
