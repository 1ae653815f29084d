import os

from django.core.wsgi import get_wsgi_application

# A server that imports this without choosing its settings gets the strict ones (bin/serve chooses
# config.settings.serve); development runs through manage.py, whose default is config.settings.local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
