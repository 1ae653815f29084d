"""Running test code in threads that start together, on connections of their own."""

import threading

from django.db import connections


def run_in_threads(target, args_list) -> None:
    """Call `target(*args)` for each args in its own thread, all released at once; fail with their exceptions."""
    errors = []
    barrier = threading.Barrier(len(args_list))

    def worker(*args):
        try:
            barrier.wait()
            target(*args)
        except Exception as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
