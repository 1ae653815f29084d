#!/usr/bin/env python3
"""Every command README.md shows, run as written on the clone `make run` set up, or named where CI runs it.

Usage: python3 .ci/readme_commands.py PORT   (PORT: the `make run` server .ci/run started)

The commands are read from README.md itself: its ```sh blocks and its inline `make ...`,
`.venv/bin/...` and `.ci/...` spans. A command this script neither runs nor assigns to another step of
.ci/run fails the run, so a command added to the README is one CI has to account for.

Each command runs without the variables the settings read (DJANGO_SETTINGS_MODULE, DEBUG, SECRET_KEY,
DATABASE_URL...), as on a fresh clone. Three adaptations, each said when it happens: the curl walk talks to
the CI server's port instead of 8000 (another server may hold 8000 on a CI machine), the interactive
`createsuperuser` gets its answers through a pseudo-terminal, as a person would type them, and
`make bench-summary` seeds 20,000 votes instead of a million.
"""

import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PY = ".venv/bin/python"
APP_VARIABLES = {
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "CORS_ALLOWED_ORIGINS",
}
ENV = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES and not k.startswith("THROTTLE_")}
CURL_WALK = "## A walk through the API with curl"

# Commands another step of .ci/run runs (on this same clone): the README command, then that step.
ELSEWHERE = {
    "make run": 'the "contract smoke test against make run" step: the server this step talks to',
    "make test": 'the "tests on SQLite" step',
    "createdb -h 127.0.0.1 -U postgres forum": 'the "PostgreSQL" step (CREATE DATABASE of a name of its own)',
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/forum make test": 'the "tests on PostgreSQL" step',
    "make lint": 'the "lint" step',
    "make browser-deps": 'the "browser for the admin test" step',
    "make serve": "tests/test_serving.py (in make test) and the make bench step",
    "make bench": 'the "make bench runs from a clean clone" step',
    "make fuzz": 'the "fuzzing the OpenAPI schema" step',
    ".ci/run": "this very run",
}


def readme_commands() -> list[str]:
    """The README's commands in order: each line of a ```sh block (the curl walk as one script), then
    each inline span that starts like a command."""
    text = README.read_text()
    commands = []
    for match in re.finditer(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        block = match.group(1)
        heading = text.rfind("\n## ", 0, match.start())
        if text[heading + 1 :].startswith(CURL_WALK):
            commands.append(CURL_WALK)
            continue
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.append(" ".join(line.split()))
    for span in re.findall(r"`([^`\n]+)`", text):
        if span.startswith(("make ", ".venv/bin/", ".ci/")) and span not in commands:
            commands.append(span)
    return commands


def run(command: str) -> None:
    print(f"$ {command}", flush=True)
    subprocess.run(command, shell=True, cwd=ROOT, env=ENV, check=True, executable="/bin/bash")


def curl_walk(port: int) -> None:
    text = README.read_text()
    start = text.index(CURL_WALK)
    block = re.search(r"^```sh\n(.*?)^```", text[start:], flags=re.S | re.M).group(1)
    if "127.0.0.1:8000" not in block:
        sys.exit("readme: the curl walk no longer talks to 127.0.0.1:8000; update .ci/readme_commands.py")
    print(f"(the curl walk as written, its 127.0.0.1:8000 replaced by the CI server's 127.0.0.1:{port})")
    script = block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    # Each curl fails on an HTTP error (curl -s alone would print the error and go on); set -e stops there.
    prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; echo; }\nset -x\n'
    subprocess.run(["bash", "-c", prelude + script], cwd=ROOT, env=ENV, check=True)


def createsuperuser(command: str) -> None:
    """Run it in a pseudo-terminal and answer its prompts; check the superuser exists afterwards."""
    username, password = "readme-admin", "correct-Horse-battery-42"
    answers = [
        (re.compile(rb"Username[^:]*: ?$"), username),
        (re.compile(rb"Email address: ?$"), "admin@example.org"),
        (re.compile(rb"Password \(again\): ?$"), password),
        (re.compile(rb"Password: ?$"), password),
    ]
    print(f"$ {command}   (answering its prompts through a pseudo-terminal)", flush=True)
    argv = shlex.split(command)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command itself, on the terminal
        os.chdir(ROOT)
        os.execve(argv[0], argv, ENV)
    seen, pending = b"", b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal: it has exited
            break
        if not chunk:
            break
        sys.stdout.write(chunk.decode(errors="replace"))
        sys.stdout.flush()
        seen += chunk
        pending += chunk
        for prompt, answer in answers:
            if prompt.search(pending.rstrip(b"\n")) and not pending.endswith(b"\n"):
                os.write(fd, answer.encode() + b"\n")
                pending = b""
                break
    else:
        os.kill(pid, 9)
        sys.exit("readme: createsuperuser did not finish in 120 s")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or b"Superuser created successfully" not in seen:
        sys.exit(f"readme: {command} failed")
    check = (
        "from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={username!r}); assert u.is_superuser and u.is_staff"
    )
    run(f'{PY} manage.py shell --verbosity 0 -c "{check}"')


def oversized_body(port: int) -> None:
    """Issue #11: under `make run` (DEBUG on) a 1 MB body used to answer Django's HTML debug page."""
    print("$ a 1 MB body to make run's server: a JSON 413 naming the limit", flush=True)
    result = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code} %{content_type}", "-H", "Content-Type: application/json"]
        + ["--data-binary", "@-", f"http://127.0.0.1:{port}/api/threads/"],
        input=b"{" + b" " * (1024 * 1024) + b"}",
        capture_output=True,
        check=True,
    )
    body, _, status = result.stdout.decode().rpartition("\n")
    print(status, body)
    if status != "413 application/json" or "limit is" not in body:
        sys.exit("readme: an oversized body under make run is not a JSON 413")


# Commands this step runs itself: the README command, then how (given it and the server's port).
HERE = {
    "make install": lambda command, port: run(command),
    "make seed": lambda command, port: run(command),
    # Formats nothing here: the lint step already found the tree formatted.
    "make format": lambda command, port: run(command),
    # As written it seeds a million votes (about 90 s); the same run at 20,000 keeps CI fast.
    "make bench-summary": lambda command, port: run(command + ' BENCH_ARGS="--large-votes 20000 --requests 10"'),
    CURL_WALK: lambda command, port: curl_walk(port),
    f"{PY} manage.py createsuperuser": lambda command, port: createsuperuser(command),
}
# Not in the README but named by docs/operations.md and by the issue behind this step: they must run on
# a fresh clone with no variable set too.
ALSO = [
    f"{PY} manage.py verify_tallies",
    f"{PY} manage.py seed_demo --topic readme-demo --users 10 --threads 3 --replies 40 --votes 200 --no-progress",
    f"{PY} manage.py verify_tallies",
]


def unaccounted(commands: list[str]) -> list[str]:
    return [c for c in commands if c not in HERE and c not in ELSEWHERE]


def main() -> None:
    port = int(sys.argv[1])
    commands = readme_commands()
    if unknown := unaccounted(commands):
        sys.exit(
            "readme: README.md shows "
            + ", ".join(f"`{c}`" for c in unknown)
            + ", which .ci/readme_commands.py neither runs nor assigns to another step of .ci/run"
        )
    summary = []
    for command in commands + ALSO:
        if command in ELSEWHERE:
            summary.append(f"covered  {command}: {ELSEWHERE[command]}")
            continue
        try:
            if command in HERE:
                HERE[command](command, port)
            else:
                run(command)
        except subprocess.CalledProcessError as failed:
            sys.exit(f"readme: `{command}` failed (exit status {failed.returncode})")
        summary.append(f"ran      {command}")
    oversized_body(port)
    print("\nREADME commands:\n  " + "\n  ".join(summary))


if __name__ == "__main__":
    main()
