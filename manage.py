#!/usr/bin/env python
import os
import sys


def main():
    # Development by default (DEBUG on, a development key, SQLite under var/); a deployment sets
    # DJANGO_SETTINGS_MODULE=config.settings.production, `make serve` config.settings.serve.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
