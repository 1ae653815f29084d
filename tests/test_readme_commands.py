"""Every command the README shows is one CI runs as written (.ci/readme_commands.py) or names the step that
does: a command added to the README without a place in CI fails here, long before CI's last steps."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("readme_commands", ROOT / ".ci" / "readme_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_readme_command_has_a_place_in_ci():
    script = load_script()

    commands = script.readme_commands()

    assert script.unaccounted(commands) == []
    # The ones the issue named, and the walk, really are among them and run by the CI step itself.
    for command in ("make run", "make test", ".venv/bin/python manage.py createsuperuser", script.CURL_WALK):
        assert command in commands
    assert {".venv/bin/python manage.py createsuperuser", script.CURL_WALK, "make seed"} <= set(script.HERE)


def test_the_ci_step_runs_the_script_against_the_make_run_server():
    ci = (ROOT / ".ci" / "run").read_text()

    assert 'python3 .ci/readme_commands.py "$port"' in ci
    assert ci.index("PORT=$port make run") < ci.index(".ci/readme_commands.py")
