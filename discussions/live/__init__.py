"""Live updates: the outbox's wake-up across nodes, the per-process hub, and the Server-Sent Events views."""
